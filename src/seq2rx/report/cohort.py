"""The cohort HTML report: every patient of the run side by side, the models and the networks.

Rendered from the cohort summary document alone (``results/cohort/summary.json``, built by
:mod:`seq2rx.findings.cohort`) and the SVG files it names. Self-contained like the patient
reports: inline CSS and SVG, no requests leaving the file; the page is the Jinja2 template
``templates/cohort.html``, which escapes every value (:mod:`seq2rx.report.html`).
"""

from __future__ import annotations

from pathlib import Path

from seq2rx.core.io import atomic_output
from seq2rx.report import html

#: the plots each section shows, in order, with their captions
MODEL_FIGURES = (("roc", "ROC curve"), ("calibration", "Calibration"), ("importance", "Permutation importance"),
                 ("km_risk", "Kaplan–Meier by predicted risk"))  # fmt: skip
SIMILARITY_FIGURES = (("network", "The fused network, coloured by cluster"),
                      ("heatmap", "Fused similarity, ordered by cluster"),
                      ("km_clusters", "Past patients' progression by cluster"))  # fmt: skip
#: the rows of a SQL cohort's summary the report shows
COHORT_ROWS = 12


def _ci(m: dict) -> str:
    lo, hi = m["ci95"]
    return f"{m['estimate']:.3f} ({lo:.3f}–{hi:.3f})"


def _figures(names: tuple, files: dict[str, str], svgs: dict[str, str]) -> list[tuple[str, object]]:
    """(caption, checked SVG) of each plot the summary names and whose file is not empty."""
    out = []
    for name, caption in names:
        if files.get(name) and svgs[files[name]]:
            out.append((caption, html.svg(svgs[files[name]])))
    return out


def _qc(qc: dict) -> dict:
    rows = []
    for r in qc["samples"]:
        if r["verdict"] == "not run":
            rows.append([r["patient"], r["sample"], r["type"], "not run", "", "", "", ""])
            continue
        verdict = {"verdict": r["verdict"]} if r["verdict"] in html.VERDICTS else r["verdict"]
        rows.append([r["patient"], r["sample"], r["type"], verdict, r["reads"], f"{r['mapped_fraction']:.3f}",
                     f"{r['duplicate_fraction']:.3f}", f"{r['mean_target_coverage']:.1f}"])  # fmt: skip
    summary = ", ".join(f"{n} {v}" for v, n in sorted(qc["verdicts"].items()))
    return {"summary": summary, "rows": rows}


def _prevalence(p: dict) -> dict:
    n = p["patients"]
    return {
        "patients": n,
        "actionable": [
            [a["gene"], a["alteration"], a["tier"], len(a["patients"]), ", ".join(a["patients"])]
            for a in p["actionable"]
        ],  # fmt: skip
        "pgx": [
            [g["gene"], g["phenotype"], g["patients"], f"{100 * g['patients'] / n:.0f}%"] for g in p["pgx_phenotypes"]
        ],  # fmt: skip
    }


def _model(m: dict | None, svgs: dict[str, str]) -> dict | None:
    if not m:
        return None
    effect = m["treatment_effect"]
    return {
        "model": m["model"],
        "patients": m["history"]["patients"],
        "treated_patients": m["history"]["treated"],
        "reference_patients": m["history"]["patients"] - m["history"]["treated"],
        "treated": m["task"]["treated"],
        "reference": m["task"]["reference"],
        "folds": m["folds"],
        "seed": m["seed"],
        "rows": [[r["outcome"], r["metric"], _ci(r)] for r in m["metrics"]],
        "effect": f"{effect['estimate']:.2f} (95% CI {effect['ci95'][0]:.2f}–{effect['ci95'][1]:.2f})",
        "figures": _figures(MODEL_FIGURES, m["figures"], svgs),
    }


def _similarity(s: dict | None, svgs: dict[str, str]) -> dict | None:
    if not s:
        return None
    c = s["clusters"]
    return {
        "patients": s["patients"],
        "history_patients": s["history_patients"],
        "modalities": ", ".join(f"{k} (weight {v:g})" for k, v in sorted(s["modalities"].items())),
        "n": c["n"],
        "method": c["method"],
        "sizes": ", ".join(f"cluster {k}: {v}" for k, v in sorted(c["sizes"].items(), key=lambda kv: int(kv[0]))),
        "validation": s["validation"],
        "figures": _figures(SIMILARITY_FIGURES, s["figures"], svgs),
    }


def context(summary: dict, svgs: dict[str, str]) -> dict:
    """What ``templates/cohort.html`` lays out, from the cohort summary; ``svgs`` holds the text
    of each SVG file the summary names, by the path it names it with."""
    return {
        "patients": summary["patients"],
        "samples": summary["samples"],
        "builds": ", ".join(summary["genome_builds"]),
        "analysis_date": summary["analysis_date"] or "not recorded (report.date)",
        "config_sha256": summary["config_sha256"],
        "qc": _qc(summary["qc"]),
        "prevalence": _prevalence(summary["prevalence"]),
        "model": _model(summary["model"], svgs),
        "similarity": _similarity(summary["similarity"], svgs),
        "cohorts": [
            {
                "name": c["name"],
                "rows": c["summary"][:COHORT_ROWS],
                "km": html.svg(svgs[c["km"]]) if c.get("km") else None,
            }  # fmt: skip
            for c in summary["cohorts"]
        ],
    }


def render(summary: dict, svgs: dict[str, str] | None = None) -> str:
    """HTML text of the cohort report (see :func:`context`)."""
    return html.render("cohort.html", **context(summary, svgs or {}))


def write(html_text: str, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(html_text, encoding="utf-8")
