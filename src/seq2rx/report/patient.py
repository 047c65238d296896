"""Per-patient HTML report, rendered from the findings document alone.

Self-contained (inline CSS, no scripts or requests leaving the file) and every value that came
from a user or a file is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from pathlib import Path

from seq2rx.core.io import atomic_output

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;
color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #c8c8c8;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f8}
.pass{color:#fff;background:#009E73;padding:.1rem .45rem;border-radius:.3rem}
.warn{color:#000;background:#E69F00;padding:.1rem .45rem;border-radius:.3rem}
.fail{color:#fff;background:#D55E00;padding:.1rem .45rem;border-radius:.3rem}
th{cursor:pointer}.note{border-left:4px solid #E69F00;padding:.2rem .6rem}.muted{color:#555}.disclaimer{border:1px solid #999;background:#f7f7f7;padding:.6rem 1rem;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(headers: list[str], rows: list[list[object]], caption: str | None = None) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption class='muted'>{_e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(v: str) -> str:
    cls = v if v in ("pass", "warn", "fail") else "muted"
    return f'<span class="{cls}">{_e(v)}</span>'


def _effects(variant: dict) -> str:
    """``GENE p.Xxx123Yyy (missense)`` per transcript; "no gene model" where annotation found none.

    Empty when the variant was not annotated at all (no GFF3 configured).
    """
    if "consequences" not in variant:
        return ""
    out = []
    for c in variant["consequences"]:
        protein = f" {c['hgvs_p']}" if c.get("hgvs_p") else ""
        out.append(f"{c['gene']}{protein} ({c['consequence']})")
    return "; ".join(out) or "no gene model"


_ALTERING = (
    "missense",
    "stop_gained",
    "stop_lost",
    "start_lost",
    "frameshift",
    "inframe",
    "splice_donor",
    "splice_acceptor",
)


def _protein_altering(variant: dict) -> bool:
    return any(any(k in c["consequence"] for k in _ALTERING) for c in variant.get("consequences") or ())


def _variant_row(v: dict) -> list:
    vaf = "" if v["vaf"] is None else f"{v['vaf']:.2f}"
    return [
        v["region"],
        v["chrom"],
        v["pos"],
        v["ref"],
        v["alt"],
        _effects(v),
        v["genotype"],
        v["depth"],
        vaf,
        v["qual"],
    ]


#: click a column header to sort the table by it (numbers numerically); allowed by its hash in
#: the page's Content-Security-Policy, so no other script can run
SORT_JS = (
    "document.querySelectorAll('table').forEach(function(t){t.querySelectorAll('th').forEach(function(th,i){"
    "th.addEventListener('click',function(){var b=t.tBodies[0];if(!b)return;var rows=Array.from(b.rows);"
    "var asc=th.getAttribute('aria-sort')!=='ascending';rows.sort(function(x,y){"
    "var a=x.cells[i]?x.cells[i].textContent:'',c=y.cells[i]?y.cells[i].textContent:'';"
    "var num=/^\\s*-?\\d+(\\.\\d+)?(e[-+]?\\d+)?\\s*$/i;"
    "var r=(num.test(a)&&num.test(c))?Number(a)-Number(c):(num.test(a)?-1:(num.test(c)?1:a.localeCompare(c)));"
    "return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});"
    "t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');});});});"
)
SORT_JS_HASH = base64.b64encode(hashlib.sha256(SORT_JS.encode()).digest()).decode()

#: Okabe-Ito colour-blind-safe palette
BLUE, ORANGE, VERMILLION, GREY = "#0072B2", "#E69F00", "#D55E00", "#555555"


def coverage_svg(genes: list[dict], fail_below: float, warn_below: float) -> str:
    """Inline SVG: mean depth per target gene as horizontal bars, with the QC thresholds marked.

    Deterministic text (no timestamps, fixed number formatting), so the report's bytes are too.
    """
    if not genes:
        return ""
    width, left, bar, gap = 640, 90, 14, 4
    top = max([g["mean_depth"] for g in genes] + [warn_below * 1.25, 1.0])
    height = 24 + len(genes) * (bar + gap)
    scale = (width - left - 20) / top

    def x(depth: float) -> float:
        return round(left + depth * scale, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="Mean depth per target gene">'
    ]
    for i, g in enumerate(genes):
        y = 4 + i * (bar + gap)
        colour = VERMILLION if g["mean_depth"] < fail_below else ORANGE if g["mean_depth"] < warn_below else BLUE
        parts.append(
            f'<text x="{left - 6}" y="{y + bar - 3}" text-anchor="end" font-size="11">{_e(g["gene"])}</text>'
            f'<rect x="{left}" y="{y}" width="{x(g["mean_depth"]) - left}" height="{bar}" fill="{colour}">'
            f"<title>{_e(g['gene'])}: {g['mean_depth']:.1f}x mean, {100 * g['pct_20x']:.0f}% of bases at 20x"
            f"</title></rect>"
        )
    base = 4 + len(genes) * (bar + gap)
    for value, label, colour in ((fail_below, "fail", VERMILLION), (warn_below, "warn", ORANGE)):
        parts.append(
            f'<line x1="{x(value)}" y1="0" x2="{x(value)}" y2="{base}" stroke="{colour}" stroke-dasharray="4 3"/>'
            f'<text x="{x(value) + 3}" y="{base + 14}" font-size="10" fill="{GREY}">{label} &lt; {value:g}x</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


TIER_TEXT = {
    "I-A": "Tier I-A: approved or guideline therapy in this tumour type",
    "I-B": "Tier I-B: well-powered studies in this tumour type",
    "II-C": "Tier II-C: approved in another tumour type, or investigational in this one",
    "II-D": "Tier II-D: preclinical or case-report evidence",
    "III": "Tier III: variants of unknown significance in cancer genes",
}


def _actionability_html(section: dict) -> str:
    """Per tumour sample: TMB, then the biomarkers by AMP/ASCO/CAP tier with therapies and evidence."""
    out = ['<section id="actionability"><h2>Actionable tumour findings</h2>']
    if section.get("status") != "done":
        out.append(f"<p class='muted'>Not available: {_e(section.get('reason', 'not run'))}.</p></section>")
        return "\n".join(out)
    for s in section["samples"]:
        tmb = s["tmb"]
        burden = (
            f"{tmb['tmb_per_mb']:g} mutations per callable megabase ({tmb['coding_variants']} coding variants "
            f"over {tmb['callable_mb']:g} Mb)"
            if tmb.get("tmb_per_mb") is not None
            else "not computed"
        )
        if tmb.get("note"):
            burden += f"; {tmb['note']}"
        out.append(f"<h3>{_e(s['sample'])}: {_e(s['tumor_type_name'])} ({_e(s['tumor_type'])})</h3>")
        out.append(
            f"<p>Somatic calls: {_e(s['mode'])}; {_e(s['somatic_variants'])} passing variants. Tumour mutational "
            f"burden: {_e(burden)}. OncoTree lineage: {_e(' > '.join(reversed(s['lineage'])))}.</p>"
        )
        if "tumour-only" in s["mode"]:
            out.append("<p class='note'>Tumour-only calling: germline variants are filtered by allele fraction, "
                       "not by a matched normal; some calls may be germline.</p>")  # fmt: skip
        for tier_, text in TIER_TEXT.items():
            rows = [r for r in s["rows"] if r["tier"] == tier_]
            if not rows:
                continue
            out.append(f"<h4>{_e(text)} ({len(rows)})</h4>")
            out.append(_table(["Gene", "Alteration", "VAF", "Therapy", "Response", "Evidence", "Tumour type",
                               "Source", "Note"],
                              [[r["gene"], r["alteration"], r["vaf"], r["therapies"], r["response"], r["evidence"],
                                f"{r['rule_tumor_type']} ({r['tumor_type_match']})", r["source"],
                                "" if r.get("note", ".") == "." else r["note"]] for r in rows]))  # fmt: skip
        if not s["rows"]:
            out.append("<p>No variant in a knowledge-base gene.</p>")
    out.append("</section>")
    return "\n".join(out)


def _pgx_html(section: dict) -> str:
    """Gene table (diplotype, phenotype, missing positions), then guidance grouped by drug."""
    out = ['<section id="pgx"><h2>Pharmacogenomics</h2>']
    if section.get("status") != "done":
        out.append(f"<p class='muted'>Not available: {_e(section.get('reason', 'not run'))}.</p></section>")
        return "\n".join(out)
    out.append(
        f"<p>From sample {_e(section['sample'])} ({_e(section['sample_type'])} DNA). Diplotypes use the allele "
        "names of the CPIC definitions; a position without enough reads is <em>missing</em>, never taken as "
        "reference. Ambiguous calls list every diplotype that fits equally well.</p>"
    )
    for w in section.get("warnings", []):
        out.append(f"<p class='note'>{_e(w)}</p>")
    rows = []
    for g in section["genes"]:
        score = "" if g["activity_score"] is None else f"{g['activity_score']:g}"
        notes = [*g.get("caveats", []), *g["warnings"][:3]]
        rows.append([g["gene"], " or ".join(g["diplotypes"]) or "not called", g["phenotype"] or "",
                     score, g["status"], len(g["missing_positions"]), "; ".join(notes)])  # fmt: skip
    out.append(_table(["Gene", "Diplotype", "Phenotype", "Activity score", "Call", "Missing positions", "Notes"], rows))
    out.append("<h3>Drug guidance</h3>")
    by_drug: dict[str, list[dict]] = {}
    for r in section["recommendations"]:
        by_drug.setdefault(r["drug"], []).append(r)
    if not by_drug:
        out.append("<p>No guideline recommendation applies to the called phenotypes.</p>")
    for drug, recs in sorted(by_drug.items()):
        out.append(f"<h4>{_e(drug)}</h4>")
        out.append(_table(["Genes", "Because", "Recommendation", "Strength", "Caveats", "Source"],
                          [[", ".join(r["genes"]), r["phenotype"], r["recommendation"], r["strength"],
                            "; ".join(r.get("caveats", [])), r["source"]] for r in recs]))  # fmt: skip
    missing = section.get("drugs_without_guidance", [])
    if missing:
        out.append("<h4>Drugs without an answer</h4>")
        out.append(_table(["Drug", "Genes", "Why"], [[m["drug"], ", ".join(m["genes"]), m["reason"]] for m in missing]))
    kb = section.get("knowledge_base", {})
    out.append(
        f"<p class='muted'>Knowledge base: {_e('; '.join(kb.get('definitions', [])))}; guidance rows: "
        f"{_e(kb.get('guidance_rows'))} (latest guideline {_e(kb.get('guidance_latest_date'))}).</p>"
    )
    out.append("</section>")
    return "\n".join(out)


def _not_available(key: str, title: str, section: dict) -> str | None:
    if section.get("status") == "ok":
        return None
    reason = section.get("reason", "no data")
    return f'<section id="{key}"><h2>{_e(title)}</h2><p class="muted">Not available: {_e(reason)}.</p></section>'


def _pct(x: float | None) -> str:
    return "NA" if x is None else f"{100 * x:.0f}%"


def _predictions_html(section: dict) -> str:
    """Predicted response and progression under each treatment, with intervals and the reasons."""
    title = "Predicted treatment response"
    absent = _not_available("predictions", title, section)
    if absent:
        return absent
    from seq2rx.ml.outputs import contributions_svg

    m = section["model_summary"]
    task, v = m["task"], section["values"]
    treated, reference = task["treated"], task["reference"]
    level = round(100 * task["interval"])
    rows = []
    for arm, r_key, p_key in (
        (treated, "response_treated", "pfs_treated"),
        (reference, "response_reference", "pfs_reference"),
    ):
        r, p = v[r_key], v[p_key]
        rows.append([arm, f"{_pct(r['estimate'])} ({_pct(r['lower'])}–{_pct(r['upper'])})",
                     f"{_pct(p['estimate'])} ({_pct(p['lower'])}–{_pct(p['upper'])})"])  # fmt: skip
    b = v["benefit"]
    verdict = (
        f"favours {section['favours']}"
        if section.get("benefit_interval_excludes_zero")
        else f"leans to {section['favours']}, but the {level}% interval includes no difference"
    )
    out = [
        f'<section id="predictions"><h2>{_e(title)}</h2>',
        f"<p>Estimated from {_e(m['history_patients'])} past patients with a {_e(m['model'])} model "
        f"(cross-validated ROC-AUC {m['roc_auc']['estimate']:.2f}, 95% CI {m['roc_auc']['ci95'][0]:.2f}–"
        f"{m['roc_auc']['ci95'][1]:.2f}; progression C-index {m['c_index']['estimate']:.2f}). "
        f"Intervals are {level}% bootstrap intervals.</p>",
        _table(["Treatment", "P(response)", f"Progression-free at {task['horizon_months']:g} months"], rows),
        "<p class='muted'>The progression model treats the treatment as an average effect for everyone; "
        "the difference between patients comes from the response model.</p>",
        f"<p><strong>Predicted benefit of {_e(treated)} over {_e(reference)}:</strong> "
        f"{100 * b['estimate']:+.0f} percentage points ({100 * b['lower']:+.0f} to {100 * b['upper']:+.0f}); "
        f"{_e(verdict)}.</p>",
    ]
    if section.get("extrapolation"):
        out.append("<p class='note'>This patient lies outside the past patients on: "
                   + _e("; ".join(section["extrapolation"])) + ". The prediction extrapolates there.</p>")  # fmt: skip
    contributions = section.get("contributions")
    if contributions:
        arm = "treated" if section["favours"] == treated else "reference"
        label = f"P(response to {section['favours']})"
        out.append(f"<figure><figcaption>What moves {_e(label)} for this patient, compared with the average "
                   "past patient (exact contributions of the penalised model, log-odds)</figcaption>")  # fmt: skip
        out.append(contributions_svg(section, arm, label))
        out.append("</figure>")
    else:
        out.append("<p class='muted'>Per-feature contributions are computed for the penalised model only.</p>")
    out.append("<p class='muted'>Research use only: a statistical estimate from past patients of one centre, "
               "not a treatment recommendation. See results/ml/model_card.md.</p></section>")  # fmt: skip
    return "\n".join(out)


def _similar_html(section: dict) -> str:
    """The nearest past patients, their treatments and outcomes, and the neighbour-based estimates."""
    from seq2rx.core.figures import safe_svg

    title = "Similar past patients"
    absent = _not_available("similar_patients", title, section)
    if absent:
        return absent
    out = [f'<section id="similar_patients"><h2>{_e(title)}</h2>']
    for r in section.get("response", []):
        if r.get("text"):
            out.append(f"<p>{_e(r['text'])}.</p>")
    rows = [
        [
            n["rank"],
            n["patient"],
            f"{n['similarity']:.3g}",
            n["cluster"],
            n.get("treatment"),
            {1: "yes", 0: "no"}.get(n.get("response"), "NA"),
            n.get("time_months"),
            {1: "progressed", 0: "censored"}.get(n.get("event"), "NA"),
        ]  # fmt: skip
        for n in section["neighbours"]
    ]
    out.append(
        _table(["Rank", "Past patient", "Similarity", "Cluster", "Treatment", "Responded", "Months", "Outcome"], rows)
    )
    out.append(f"<figure><figcaption>Fused similarity network of past patients and this patient (ringed), "
               f"coloured by cluster; this patient is in cluster {_e(section['cluster'])}</figcaption>")  # fmt: skip
    out.append(safe_svg(section["network_svg"]))  # from the findings file: checked, not trusted
    out.append("</figure></section>")
    return "\n".join(out)


def _knowledge_rows(doc: dict) -> list[list[str]]:
    """The knowledge bases this patient's findings used, with their versions and dates."""
    rows = []
    kb = doc.get("pgx", {}).get("knowledge_base") or {}
    for d in kb.get("definitions", []):
        rows.append(["PGx allele definitions", d])
    for d in kb.get("phenotypes", []):
        rows.append(["PGx phenotypes", d])
    if kb.get("guidance_rows"):
        rows.append(
            [
                "PGx drug guidance (resources/kb/pgx)",
                f"{kb['guidance_rows']} rows, latest guideline {kb.get('guidance_latest_date')}",
            ]
        )
    for sample in doc.get("actionability", {}).get("samples", []) or []:
        a = sample.get("knowledge_base") or {}
        if a:
            rows.append(
                [
                    "Actionable biomarkers (resources/kb/actionability)",
                    f"{a.get('rows')} rows, latest {a.get('latest_date')}",
                ]
            )
            break
    return rows or [["none", "no knowledge base was used"]]


def render(doc: dict) -> str:
    """HTML text of one patient's report."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        f"img-src data:; script-src 'sha256-{SORT_JS_HASH}'\">",
        f"<title>seq2rx report: {_e(doc['patient'])}</title><style>{CSS}</style></head><body>",
        f"<header><h1>seq2rx report: patient {_e(doc['patient'])}</h1>",
        "<dl>",
        f"<dt>Samples</dt><dd>{_e(', '.join(s['sample'] + ' (' + s['type'] + ')' for s in doc['samples']))}</dd>",
        f"<dt>Sex</dt><dd>{_e(doc['sex'])}</dd>",
        f"<dt>Tumour type</dt><dd>{_e(doc['tumor_type'])}</dd>",
        f"<dt>Genome build</dt><dd>{_e(doc['genome_build'])}</dd>",
        f"<dt>Date of analysis</dt><dd>{_e(doc['provenance'].get('analysis_date') or 'not recorded (report.date)')}</dd>",
        "</dl></header>",
        '<section id="qc"><h2>Quality control</h2>',
    ]
    qc_rows = []
    for s in doc["samples"]:
        q = s["qc"]
        if q.get("status") == "not run":
            qc_rows.append([s["sample"], "not run", "", "", "", "", "", q.get("reason", "")])
            continue
        qc_rows.append(
            [
                s["sample"],
                q["verdict"],
                q["reads"],
                f"{q['mapped_fraction']:.3f}",
                f"{q['duplicate_fraction']:.3f}",
                f"{q['mean_target_coverage']:.1f}",
                f"{q['target_fraction_20x']:.3f}",
                "; ".join(q["reasons"]),
            ]
        )
    html_rows = []
    for row in qc_rows:
        cells = [f"<td>{_e(row[0])}</td>", f"<td>{_verdict(str(row[1]))}</td>"]
        cells += [f"<td>{_e(c)}</td>" for c in row[2:]]
        html_rows.append("<tr>" + "".join(cells) + "</tr>")
    headers = ["Sample", "Verdict", "Reads", "Mapped", "Duplicates", "Mean target depth", "Target >= 20x", "Reasons"]
    parts.append(
        "<table><thead><tr>"
        + "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
        + "</tr></thead><tbody>"
        + "".join(html_rows)
        + "</tbody></table>"
    )
    thresholds = doc["provenance"].get("thresholds", {})
    for s in doc["samples"]:
        if s.get("coverage_by_gene"):
            parts.append(f"<figure><figcaption>{_e(s['sample'])}: mean depth over each target gene</figcaption>")
            parts.append(
                coverage_svg(
                    s["coverage_by_gene"],
                    float(thresholds.get("min_mean_coverage", 20)),
                    float(thresholds.get("warn_mean_coverage", 30)),
                )
            )
            parts.append("</figure>")
    parts.append("</section>")
    parts.append('<section id="variants"><h2>Variant calls</h2>')
    headers = ["Region", "Contig", "Position", "Ref", "Alt", "Consequence", "Genotype", "Depth", "VAF", "QUAL"]
    for s in doc["samples"]:
        passing = [v for v in s["variants"] if v["filter"] == "PASS"]
        altering = [v for v in passing if _protein_altering(v)]
        parts.append(f"<h3>{_e(s['sample'])}: {len(passing)} passing of {len(s['variants'])} calls</h3>")
        if s["type"] == "tumor":
            parts.append(
                "<p class='muted'>Tumour sample called with bcftools' germline model: sub-clonal variants "
                "(below about 20% allele fraction at 40x) may be missing here; the somatic caller's calls "
                "are in the actionability section.</p>"
            )
        if "consequences" in (passing[0] if passing else {}):
            parts.append(f"<h4>Protein-altering and splice-site variants ({len(altering)})</h4>")
            parts.append(_table(headers, [_variant_row(v) for v in altering]) if altering else "<p>None.</p>")
            parts.append(f"<h4>All passing calls ({len(passing)})</h4>")
        parts.append(_table(headers, [_variant_row(v) for v in passing]))
    parts.append("</section>")
    parts.append(_pgx_html(doc.get("pgx", {})))
    parts.append(_actionability_html(doc.get("actionability", {})))
    parts.append(_predictions_html(doc.get("predictions", {})))
    parts.append(_similar_html(doc.get("similar_patients", {})))
    prov = doc["provenance"]
    tool_rows = [
        [step, tool, ver]
        for step, tools in sorted(prov.get("tools", {}).items())
        for tool, ver in sorted(tools.items())
    ]
    parts.append('<section id="provenance"><h2>Methods and provenance</h2>')
    parts.append(
        f"<p>seq2rx {_e(prov.get('seq2rx_version'))}; configuration SHA-256 {_e(prov.get('config_sha256'))}.</p>"
    )
    parts.append(_table(["Step", "Tool", "Version"], tool_rows))
    parts.append(_table(["Knowledge base", "Version and date"], _knowledge_rows(doc), caption="Knowledge bases"))
    parts.append("</section>")
    parts.append(
        '<section id="disclaimer" class="disclaimer"><strong>For research use only.</strong> '
        "This report was produced by an automated research workflow. It is not a clinical test result "
        "and must not be used for diagnosis or treatment decisions without confirmation in an accredited laboratory.</section>"
    )
    parts.append(f"<script>{SORT_JS}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write(doc: dict, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(render(doc), encoding="utf-8")
