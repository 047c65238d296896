"""The cohort HTML report: every patient of the run side by side, the models and the networks.

Read from the per-patient findings documents and the run-level outputs (model metrics and plots,
the similarity network, the SQL cohorts). Self-contained like the patient reports: inline CSS and
SVG, no requests leaving the file, every value escaped.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from seq2rx.core.figures import safe_svg
from seq2rx.core.io import atomic_output
from seq2rx.report.patient import CSS, SORT_JS, SORT_JS_HASH, _e, _table, _verdict


def _svg(text: str | None) -> str:
    """Inline one of the run's SVG files, checked first (:func:`seq2rx.core.figures.safe_svg`)."""
    return safe_svg(text) if text else ""


def _ci(m: dict) -> str:
    lo, hi = m["ci95"]
    return f"{m['estimate']:.3f} ({lo:.3f}–{hi:.3f})"


def qc_section(docs: list[dict]) -> str:
    rows = []
    for doc in docs:
        for s in doc["samples"]:
            q = s["qc"]
            if q.get("status") == "not run":
                rows.append([doc["patient"], s["sample"], s["type"], "not run", "", "", "", ""])
                continue
            rows.append([doc["patient"], s["sample"], s["type"], q["verdict"], q["reads"], f"{q['mapped_fraction']:.3f}",
                         f"{q['duplicate_fraction']:.3f}", f"{q['mean_target_coverage']:.1f}"])  # fmt: skip
    counts = Counter(r[3] for r in rows)
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    html = _table(["Patient", "Sample", "Type", "Verdict", "Reads", "Mapped", "Duplicates", "Mean target depth"], rows)
    # the verdict cell gets its colour badge (the value was escaped by _table)
    for v in ("pass", "warn", "fail"):
        html = html.replace(f"<td>{v}</td>", f"<td>{_verdict(v)}</td>")
    return f'<section id="qc"><h2>Quality control across samples</h2><p>{_e(summary)}.</p>{html}</section>'


def prevalence_section(docs: list[dict]) -> str:
    pheno: Counter = Counter()
    for doc in docs:
        genes = doc.get("pgx", {}).get("genes", []) if doc.get("pgx", {}).get("status") != "not run" else []
        for g in genes:
            if g.get("phenotype"):
                pheno[(g["gene"], g["phenotype"])] += 1
    found: dict[tuple[str, str, str], set[str]] = {}
    for doc in docs:
        act = doc.get("actionability", {})
        for sample in act.get("samples", []) if act.get("status") != "not run" else []:
            for row in sample.get("rows", []):
                tier = row["tier"].split("-")[0]
                found.setdefault((row["gene"], row["alteration"], tier), set()).add(doc["patient"])
    n = len(docs)
    pgx_rows = [[g, p, c, f"{100 * c / n:.0f}%"] for (g, p), c in sorted(pheno.items())]
    act_rows = [[g, a, t, len(ps), ", ".join(sorted(ps))] for (g, a, t), ps in sorted(found.items())]
    return (
        '<section id="prevalence"><h2>Prevalence of findings</h2>'
        f"<p>{n} patients. Counts are for this run's own use: shared cohort outputs suppress small counts "
        "(results/cohorts/).</p><h3>Actionable tumour findings</h3>"
        + (_table(["Gene", "Alteration", "Tier", "Patients", "Who"], act_rows) if act_rows else "<p>None.</p>")
        + "<h3>Pharmacogenomic phenotypes</h3>"
        + _table(["Gene", "Phenotype", "Patients", "Share"], pgx_rows)
        + "</section>"
    )


def model_section(metrics: dict | None, plots: dict[str, str]) -> str:
    title = '<section id="model"><h2>Prediction model performance</h2>'
    if not metrics:
        return title + "<p class='muted'>Not available: no prediction model is configured (ml.history).</p></section>"
    cv, h, t = metrics["cross_validation"], metrics["history"], metrics["task"]
    rows = [
        ["response", "ROC-AUC", _ci(cv["response"]["roc_auc"])],
        ["response", "PR-AUC", _ci(cv["response"]["pr_auc"])],
        ["response", "Brier score", _ci(cv["response"]["brier"])],
        ["progression", "C-index", _ci(cv["survival"]["c_index"])],
        ["progression", "mean time-dependent AUC", _ci(cv["survival"]["mean_time_auc"])],
    ]
    effect = metrics["treatment_effect"]["effect"]
    parts = [
        title,
        f"<p>{_e(metrics['model'])} model trained on {h['patients']} past patients ({h['treated']} "
        f"{_e(t['treated'])}, {h['patients'] - h['treated']} {_e(t['reference'])}); nested {metrics['folds']}-fold "
        f"cross-validation, seed {metrics['seed']}; 95% bootstrap intervals.</p>",
        _table(["Outcome", "Metric", "Out-of-fold value (95% CI)"], rows),
        f"<p>Adjusted odds ratio of response, {_e(t['treated'])} vs {_e(t['reference'])}: {effect['estimate']:.2f} "
        f"(95% CI {effect['ci95'][0]:.2f}–{effect['ci95'][1]:.2f}). See results/ml/model_card.md.</p>",
    ]
    for name, caption in (("roc", "ROC curve"), ("calibration", "Calibration"), ("importance", "Permutation importance"),
                          ("km_risk", "Kaplan–Meier by predicted risk")):  # fmt: skip
        if plots.get(name):
            parts.append(f"<figure><figcaption>{_e(caption)}</figcaption>{_svg(plots[name])}</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def similarity_section(network: dict | None, plots: dict[str, str]) -> str:
    title = '<section id="similarity"><h2>Patient similarity network</h2>'
    if not network:
        return title + "<p class='muted'>Not available: no history of past patients is configured.</p></section>"
    c = network["clusters"]
    sizes = ", ".join(f"cluster {k}: {v}" for k, v in sorted(c["sizes"].items(), key=lambda kv: int(kv[0])))
    mods = ", ".join(f"{k} (weight {v:g})" for k, v in sorted(network["modalities"].items()))
    parts = [
        title,
        f"<p>{network['patients']} patients ({network['history_patients']} past); networks fused: {_e(mods)}; "
        f"{c['n']} clusters by {_e(c['method'])} ({_e(sizes)}).</p>",
    ]
    from seq2rx.similarity.validate import shipped_validation

    parts.append(
        "<p>How far to trust neighbour-based estimates, measured on real cohorts "
        "(5-fold cross-validated C-index, 95% CI; benchmarks/bench_similarity.py):</p>"
        + _table(["Data set", "Estimate", "C-index", "Lower", "Upper", "Note"], shipped_validation())
    )
    for name, caption in (("network", "The fused network, coloured by cluster"),
                          ("heatmap", "Fused similarity, ordered by cluster"),
                          ("km_clusters", "Past patients' progression by cluster")):  # fmt: skip
        if plots.get(name):
            parts.append(f"<figure><figcaption>{_e(caption)}</figcaption>{_svg(plots[name])}</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def cohorts_section(cohorts: list[dict]) -> str:
    parts = ['<section id="cohorts"><h2>Cohorts defined in SQL</h2>']
    if not cohorts:
        parts.append("<p class='muted'>No cohort definitions (config/cohorts/*.sql).</p>")
    for c in cohorts:
        parts.append(f"<h3>{_e(c['name'])}</h3>")
        parts.append(_table(["Section", "Item", "Patients", "Percent"], c["summary"][:12]))
        if c.get("km"):
            parts.append(
                f"<figure><figcaption>Kaplan–Meier, cohort vs other patients</figcaption>{_svg(c['km'])}</figure>"
            )
    parts.append("</section>")
    return "\n".join(parts)


def render(docs: list[dict], metrics: dict | None, ml_plots: dict, network: dict | None, sim_plots: dict,
           cohorts: list[dict]) -> str:  # fmt: skip
    docs = sorted(docs, key=lambda d: d["patient"])
    build = sorted({d["genome_build"] for d in docs})
    prov = docs[0]["provenance"] if docs else {}
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        f"img-src data:; script-src 'sha256-{SORT_JS_HASH}'\">",
        f"<title>seq2rx cohort report</title><style>{CSS}</style></head><body>",
        "<header><h1>seq2rx cohort report</h1><dl>",
        f"<dt>Patients</dt><dd>{len(docs)}</dd>",
        f"<dt>Samples</dt><dd>{sum(len(d['samples']) for d in docs)}</dd>",
        f"<dt>Genome build</dt><dd>{_e(', '.join(build))}</dd>",
        f"<dt>Date of analysis</dt><dd>{_e(prov.get('analysis_date') or 'not recorded (report.date)')}</dd>",
        f"<dt>Configuration SHA-256</dt><dd>{_e(prov.get('config_sha256'))}</dd>",
        "</dl></header>",
    ]
    body = [
        qc_section(docs),
        prevalence_section(docs),
        model_section(metrics, ml_plots),
        similarity_section(network, sim_plots),
        cohorts_section(cohorts),
        '<section id="disclaimer" class="disclaimer"><strong>For research use only.</strong> Produced by an '
        "automated research workflow; not a clinical test result.</section>",
        f"<script>{SORT_JS}</script></body></html>",
    ]
    return "\n".join(head + body) + "\n"


def read_cohort(folder: str | Path) -> dict:
    folder = Path(folder)
    with open(folder / "summary.tsv", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    km = folder / "km.svg"
    return {"name": folder.name, "summary": rows, "km": km.read_text() if km.exists() else None}


def write(html: str, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
