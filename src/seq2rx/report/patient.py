"""Per-patient HTML report, rendered from the findings document alone (and the ML step's
contribution plot of the patient, when it has predictions).

Self-contained (inline CSS, no scripts or requests leaving the file); the page is the Jinja2
template ``templates/patient.html``, which escapes every value (:mod:`seq2rx.report.html`). This
module only arranges the document's values into the rows and texts the template lays out.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from seq2rx.core.io import atomic_output
from seq2rx.findings.summary import first_screen, percent_span
from seq2rx.report import html


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


def vaf_text(support: dict | None, vaf: object = None) -> str:
    """An allele fraction as every section shows it: ``0.10 (5/48 reads; 95% CI 0.05–0.22)``;
    the bare fraction when the input gave no read counts (e.g. a VCF with only a VAF field)."""
    if support:
        lo, hi = support["ci95"]
        return f"{support['vaf']:.2f} ({support['alt_reads']}/{support['depth']} reads; 95% CI {lo:.2f}–{hi:.2f})"
    if isinstance(vaf, int | float):
        return f"{vaf:.2f} (no read counts)"
    return ""


def _variant_row(v: dict) -> list:
    vaf = vaf_text(v.get("support"), v["vaf"])
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


#: Okabe-Ito colour-blind-safe palette
BLUE, ORANGE, VERMILLION, GREY = "#0072B2", "#E69F00", "#D55E00", "#555555"


def coverage_plot(genes: list[dict], fail_below: float, warn_below: float) -> dict:
    """Geometry of the coverage figure (mean depth per target gene as horizontal bars, the QC
    thresholds marked) that ``templates/coverage.html`` draws as inline SVG.

    Deterministic numbers (no timestamps, fixed formatting), so the report's bytes are too.
    """
    width, left, bar, gap = 640, 90, 14, 4
    top = max([g["mean_depth"] for g in genes] + [warn_below * 1.25, 1.0])
    height = 24 + len(genes) * (bar + gap)
    scale = (width - left - 20) / top

    def x(depth: float) -> float:
        return round(left + depth * scale, 1)

    bars = []
    for i, g in enumerate(genes):
        y = 4 + i * (bar + gap)
        colour = VERMILLION if g["mean_depth"] < fail_below else ORANGE if g["mean_depth"] < warn_below else BLUE
        bars.append({"gene": g["gene"], "text_x": left - 6, "text_y": y + bar - 3, "x": left, "y": y,
                     "width": x(g["mean_depth"]) - left, "height": bar, "colour": colour,
                     "mean_depth": g["mean_depth"], "pct_20x": g["pct_20x"]})  # fmt: skip
    base = 4 + len(genes) * (bar + gap)
    thresholds = [
        {
            "x": x(value),
            "bottom": base,
            "colour": colour,
            "text_x": x(value) + 3,
            "text_y": base + 14,
            "text_colour": GREY,
            "label": label,
            "value": value,
        }  # fmt: skip
        for value, label, colour in ((fail_below, "fail", VERMILLION), (warn_below, "warn", ORANGE))
    ]
    return {"width": width, "height": height, "bars": bars, "thresholds": thresholds}


TIER_TEXT = {
    "I-A": "Tier I-A: approved or guideline therapy in this tumour type",
    "I-B": "Tier I-B: well-powered studies in this tumour type",
    "II-C": "Tier II-C: approved in another tumour type, or investigational in this one",
    "II-D": "Tier II-D: preclinical or case-report evidence",
    "III": "Tier III: variants of unknown significance in cancer genes",
}


def tmb_text(tmb: dict) -> str:
    """TMB with its support: ``15.07 per Mb (95% CI 1.83–54.4; 2 coding variants over 0.13 callable Mb)``."""
    if tmb.get("tmb_per_mb") is None:
        return "not computed"
    ci = tmb.get("ci95")
    interval = f"95% CI {ci[0]:g}–{ci[1]:g}; " if ci else ""
    return (
        f"{tmb['tmb_per_mb']:g} mutations per callable megabase ({interval}{tmb['coding_variants']} coding "
        f"variants over {tmb['callable_mb']:g} callable Mb)"
    )


def _actionability(section: dict) -> dict:
    """Per tumour sample: TMB, then the biomarkers by AMP/ASCO/CAP tier with therapies and evidence."""
    if section.get("status") != "done":
        return {"done": False, "reason": section.get("reason", "not run")}
    samples = []
    for s in section["samples"]:
        tmb = s["tmb"]
        burden = tmb_text(tmb)
        if tmb.get("note"):
            burden += f"; {tmb['note']}"
        tiers = []
        for tier_, text in TIER_TEXT.items():  # the therapies that stand (and tier III); resistance apart
            rows = [r for r in s["rows"] if r["tier"] == tier_ and r["role"] != "resistance" and not r["overridden"]]
            if rows:
                tiers.append({"text": text, "rows": [
                    [r["gene"], r["alteration"], vaf_text(r.get("support"), r["vaf"]), r["therapies"], r["response"],
                     r["evidence"],
                     f"{r['rule_tumor_type']} ({r['tumor_type_match']})", r["source"],
                     "" if r.get("note", ".") == "." else r["note"]] for r in rows]})  # fmt: skip
        samples.append({"sample": s["sample"], "tumor_type_name": s["tumor_type_name"], "tumor_type": s["tumor_type"],
                        "mode": s["mode"], "somatic_variants": s["somatic_variants"], "burden": burden,
                        "lineage": " > ".join(reversed(s["lineage"])), "tumour_only": "tumour-only" in s["mode"],
                        "tiers": tiers, "any_rows": bool(s["rows"]), **_reconciled(s),
                        **_assessed(s, burden)})  # fmt: skip
    return {"done": True, "samples": samples}


def _label(r: dict) -> str:
    """``EGFR T790M``; a fusion, MSI-H or TMB names itself (as the options list does)."""
    gene, alteration = r["gene"], r["alteration"]
    return alteration if gene in alteration or gene in ("MSI", "TMB") else f"{gene} {alteration}"


def _reconciled(s: dict) -> dict:
    """One tumour's options after reconciliation, its resistance rows and the therapy rows they
    override, as table rows: a resistance marker is never listed as a therapy."""
    options = [[o["therapy"], o["tier"], o["evidence"], ", ".join(o["alterations"]), ", ".join(o["rules"])]
               for o in s["options"]]  # fmt: skip
    resistance = [[_label(r), r["vaf"], r["therapies"], r["tier"], r["evidence"],
                   f"{r['rule_tumor_type']} ({r['tumor_type_match']})", r["source"]]
                  for r in s["rows"] if r["role"] == "resistance"]  # fmt: skip
    overridden = [[r["therapies"], _label(r), r["tier"],
                   "; ".join(f"{o['gene']} {o['alteration']} ({o['rule']}, {o['evidence']})" for o in r["overridden_by"]),
                   " ".join(dict.fromkeys(o["reason"] for o in r["overridden_by"])),
                   "; ".join(dict.fromkeys(o["source"] for o in r["overridden_by"]))]
                  for r in s["rows"] if r["overridden"]]  # fmt: skip
    return {"option_rows": options, "resistance_rows": resistance, "overridden_rows": overridden}


def _assessed(s: dict, burden: str) -> dict:
    """What was assessed in one tumour (a row per modality, with how or why not), its copy-number
    and fusion calls, and the negative statement naming what it covers."""
    modalities = s.get("modalities")
    if not modalities:
        return {"assessed_rows": [], "cn_rows": [], "fusion_rows": [], "negative": None, "cn_assessed": False,
                "fusions_assessed": False}  # fmt: skip
    msi = s.get("msi") or {}
    detail = {"small variants": s["mode"], "TMB": burden}
    if msi.get("status") in ("MSI-H", "MSS"):
        score = f"score {msi['score']:g}" if msi.get("score") is not None else "no score"
        detail["MSI"] = f"{msi['status']}, {score}; {msi.get('criterion') or msi['method']}"
    rows = []
    for m in modalities:
        if m["status"] == "assessed":
            extra = detail.get(m["modality"])
            how = extra if m["modality"] == "MSI" and extra else "; ".join(x for x in (m["source"], extra) if x)
        elif m["modality"] == "MSI" and m["source"]:
            how = f"{m['reason']} ({m['source']})"  # the method tried: paired, baseline or VCF profile
        else:
            how = m["reason"]
        rows.append([m["modality"], m["status"], how])
    cn = s.get("copy_number") or {}
    cn_rows = [[c["gene"], c["call"], c["total_cn"], f"{c['chrom']}:{c['start']}-{c['end']}", c["source"]]
               for c in cn.get("calls", []) if c["call"] != "neutral"]  # fmt: skip
    fu = s.get("fusions") or {}
    fusion_rows = [[f["fusion"], f["five_prime_breakpoint"], f["three_prime_breakpoint"], f["split_reads"]]
                   for f in fu.get("calls", [])]  # fmt: skip
    done = [m["modality"] for m in modalities if m["status"] == "assessed"]
    missing = [m["modality"] for m in modalities if m["status"] != "assessed"]
    negative = None
    if not any(r["tier"].startswith("I-") for r in s["rows"]):
        negative = f"No tier I alteration in the modalities assessed ({', '.join(done) or 'none'})"
        negative += f"; not assessed: {', '.join(missing)}." if missing else "."
    return {"assessed_rows": rows, "cn_rows": cn_rows, "fusion_rows": fusion_rows, "negative": negative,
            "cn_assessed": bool(cn), "fusions_assessed": bool(fu)}  # fmt: skip


def _pgx(section: dict) -> dict:
    """Gene table (diplotype, phenotype, missing positions), then guidance grouped by drug."""
    if section.get("status") != "done":
        return {"done": False, "reason": section.get("reason", "not run")}
    rows = []
    for g in section["genes"]:
        score = "" if g["activity_score"] is None else f"{g['activity_score']:g}"
        notes = [*g.get("caveats", []), *g["warnings"][:3]]
        rows.append([g["gene"], " or ".join(g["diplotypes"]) or "not called", g["phenotype"] or "",
                     score, g["status"], len(g["missing_positions"]), "; ".join(notes)])  # fmt: skip
    by_drug: dict[str, list[dict]] = {}
    for r in section["recommendations"]:
        by_drug.setdefault(r["drug"], []).append(r)
    drugs = [
        (
            drug,
            [
                [
                    ", ".join(r["genes"]),
                    r["phenotype"],
                    r["recommendation"],
                    r["strength"],
                    "; ".join(r.get("caveats", [])),
                    r["source"],
                ]
                for r in recs
            ],
        )  # fmt: skip
        for drug, recs in sorted(by_drug.items())
    ]
    missing = [[m["drug"], ", ".join(m["genes"]), m["reason"]] for m in section.get("drugs_without_guidance", [])]
    kb = section.get("knowledge_base", {})
    return {
        "done": True,
        "sample": section["sample"],
        "sample_type": section["sample_type"],
        "warnings": section.get("warnings", []),
        "gene_rows": rows,
        "drugs": drugs,
        "without_guidance": missing,
        "actionable_drugs": ", ".join(sorted({r["drug"] for r in section["recommendations"] if r.get("actionable")})),
        "definitions": "; ".join(kb.get("definitions", [])),
        "guidance_rows": kb.get("guidance_rows"),
        "guidance_latest_date": kb.get("guidance_latest_date"),
    }


def _predictions(section: dict, contributions_svg: str | None) -> dict:
    """Predicted response and progression under each treatment, with intervals and the reasons.

    ``contributions_svg`` is the ML step's plot of the patient's contributions
    (``results/ml/contributions/{patient}.svg``), inlined as written once checked.
    """
    if section.get("status") != "ok":
        return {"ok": False, "reason": section.get("reason", "no data")}
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
        rows.append([arm, percent_span(r), percent_span(p)])
    verdict = (
        f"favours {section['favours']}"
        if section.get("benefit_interval_excludes_zero")
        else f"leans to {section['favours']}, but the {level}% interval includes no difference"
    )
    # labels and values as the ML step wrote them (the one label table is in the ML layer)
    labels = section.get("feature_labels") or {}
    arm = "treated" if section["favours"] == treated else "reference"
    parts = (section.get("contributions") or {}).get(arm, {}).get("contributions", {})
    top = sorted(parts.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:8]
    return {
        "summary": section.get("summary", ""),
        "method": m.get("method", ""),
        "agreement": section.get("agreement", ""),
        "contribution_rows": [[labels.get(k, {}).get("shown", k), f"{v:+.2f}"] for k, v in top],
        "feature_rows": [[v["shown"]] for _, v in sorted(labels.items(), key=lambda kv: kv[1]["label"])],
        "ok": True,
        "history_patients": m["history_patients"],
        "model": m["model"],
        "roc_auc": m["roc_auc"]["estimate"],
        "roc_auc_lower": m["roc_auc"]["ci95"][0],
        "roc_auc_upper": m["roc_auc"]["ci95"][1],
        "c_index": m["c_index"]["estimate"],
        "level": level,
        "horizon_months": task["horizon_months"],
        "rows": rows,
        "treated": treated,
        "reference": reference,
        "benefit": v["benefit"],
        "verdict": verdict,
        "extrapolation": "; ".join(section.get("extrapolation") or []),
        "contributions": bool(section.get("contributions")),
        "label": f"P(response to {section['favours']})",
        # from a results file: checked, not trusted; inlined as the ML step wrote it
        "contributions_svg": html.svg(contributions_svg, as_written=True),
    }


def _similar(section: dict) -> dict:
    """The nearest past patients (rank, similarity percentile, tumour type, main driver, treatment
    and outcome) and the sentences about exactly those patients; the raw fused similarity stays in
    the findings file, where it is comparable only within one network."""
    if section.get("status") != "ok":
        return {"ok": False, "reason": section.get("reason", "no data")}

    def driver(n: dict) -> str:
        genes = n.get("drivers") or []
        main = n.get("main_driver") or "none known"
        others = [g for g in genes if g != main]
        return f"{main} (also {', '.join(others)})" if others else main

    def months(n: dict) -> str:
        t = n.get("time_months")
        return "NA" if t is None else f"{t:.1f}"

    rows = [
        [
            n["rank"],
            n["patient"],
            "NA" if n.get("percentile") is None else f"{n['percentile']:.1f}",
            n.get("tumor_type") or "NA",
            driver(n),
            n.get("treatment") or "none recorded",
            {1: "yes", 0: "no"}.get(n.get("response"), "not recorded"),
            months(n),
            {1: "progressed", 0: "no progression at last follow-up (censored)"}.get(n.get("event"), "NA"),
        ]  # fmt: skip
        for n in section["neighbours"]
    ]
    return {
        "ok": True,
        "texts": (section.get("statements") or {}).get("texts", []),
        "rows": rows,
        "n": len(rows),
        "history_patients": section.get("history_patients"),
        "cluster": section["cluster"],
        "network_svg": html.svg(section["network_svg"]),  # from the findings file: checked, not trusted
    }


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


def _qc_row(s: dict) -> list:
    q = s["qc"]
    if q.get("status") == "not run":
        return [s["sample"], {"verdict": "not run"}, "", "", "", "", "", "", "", q.get("reason", "")]
    return [
        s["sample"],
        {"verdict": str(q["verdict"])},
        q["reads"],
        f"{q['mapped_fraction']:.3f}",
        f"{q['duplicate_fraction']:.3f}",
        f"{q['mean_target_coverage']:.1f}",
        f"{q['target_fraction_20x']:.3f}",
        # exomes and panels; empty without a targets BED, or a summary written before them
        "" if q.get("on_target_fraction") is None else f"{q['on_target_fraction']:.3f}",
        "" if q.get("fold_80_base_penalty") is None else f"{q['fold_80_base_penalty']:.2f}",
        # what reading the FASTQ files had to assume or change (a plain file named .gz, Phred+64 converted)
        "; ".join([*q["reasons"], *(f"reads: {n}" for n in (q.get("input_reads") or {}).get("notes", []))]),
    ]


def _identity_failures(doc: dict) -> list[dict]:
    """Samples whose identity check failed (a sex mismatch, a tumour and normal from two people),
    with the reasons: the report shows them first."""
    out = []
    for s in doc["samples"]:
        identity = s["qc"].get("identity") or {}
        if identity.get("verdict") == "fail":
            out.append({"sample": s["sample"], "reasons": identity["reasons"]})
    return out


def _option_rows(options: list[dict], support) -> list[dict]:
    """The options grouped by alteration (best tier first): tier I and tier II therapies, each
    with its level and evidence; a therapy backed by several alterations is listed under each."""
    rows: dict[str, dict] = {}
    for o in options:
        for alteration in o["alterations"]:
            # several tumour samples are reconciled each on its own: name the sample
            label = f"{o['sample']}: {alteration}" if len({x["sample"] for x in options}) > 1 else alteration
            row = rows.setdefault(label, {"alteration": label, "support": support(o["support"].get(alteration)),
                                          "tier1": [], "tier2": [], "best": o["tier"]})  # fmt: skip
            item = {"therapy": o["therapy"], "level": f"{o['tier']}, {o['evidence']}"}
            row["tier1" if o["tier"].startswith("I-") else "tier2"].append(item)
            row["best"] = min(row["best"], o["tier"])
    return sorted(rows.values(), key=lambda r: (r["best"], r["alteration"]))


def _or(items: list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1] if items else ""


def _overrides_text(overrides: list[dict]) -> str:
    """``afatinib, erlotinib or gefitinib for EGFR L858R``: what a resistance flag takes off the options."""
    if not overrides:
        return ""
    alterations = sorted({a for o in overrides for a in o["alterations"]})
    return f"{_or([o['therapy'] for o in overrides])} for {', '.join(alterations)}"


def _summary(doc: dict) -> dict:
    """The first screen (``templates/patient_summary.html``) from the document's summary."""
    sm = doc.get("summary") or first_screen(doc)  # a document written before the summary existed
    qc = sm["qc"]
    reasons = "; ".join(f"{s['sample']}: {', '.join(s['reasons'])}" for s in qc["samples"] if s["reasons"])
    tumour, pgx = sm["tumour"], sm["pgx"]

    def support(x: dict | None) -> str:
        return f"VAF {vaf_text(x)}" if x else ""  # the same text as every table below

    multi = len({x["sample"] for x in tumour["options"] + tumour["resistance"]}) > 1
    assessed = []
    for a in sm["assessed"]:
        parts = [m["modality"] if m["status"] == "assessed" else f"{m['modality']} not assessed ({m['why']})"
                 for m in a["modalities"]]  # fmt: skip
        assessed.append(f"{a['sample']}: {', '.join(parts)}")
    meds = pgx.get("medications") or {}
    if meds.get("status") == "done":
        medications_text = (
            f"Current medications ({meds['source']}): {', '.join(meds['medications'])}."
            if meds["medications"]
            else f"No current medications in {meds['source']}."
        )
    else:
        medications_text = f"Current medications not checked: {meds.get('reason', 'no clinical table')}."
    return {
        "samples_text": ", ".join(f"{s['sample']} ({s['type']})" for s in doc["samples"]),
        "tumour_type": "" if doc["tumor_type"] in ("", "NA") else doc["tumor_type"],
        "analysis_date": doc["provenance"].get("analysis_date") or "date not recorded",
        "qc_verdict": qc["verdict"],
        "qc_reasons": reasons,
        "research_use": sm["research_use"],
        "identity_failures": sm["identity_failures"],
        "tumour_done": tumour["status"] == "done",
        "tumour_reason": tumour.get("reason"),
        "options": _option_rows(tumour["options"], support),
        "resistance": [
            {
                **r,
                "support": support(r["support"]),
                "therapies": _or(r["therapies"]),
                "alteration": f"{r['sample']}: {r['alteration']}" if multi else r["alteration"],
                "overrides": _overrides_text(r["overrides"]),
            }
            for r in tumour["resistance"]
        ],  # fmt: skip
        "negative": tumour["negative"],
        "assessed": "; ".join(assessed) or "small variants only (no tumour modalities were run)",
        "prediction": sm["prediction"],
        "pgx_done": pgx["status"] == "done",
        "pgx_reason": pgx.get("reason"),
        "medications_text": medications_text,
        "alerts": pgx["alerts"],
        "current_usual": ", ".join(pgx["current_usual"]),
        "current_not_tested": pgx.get("current_not_tested", []),
        "current_without_guidance": ", ".join(pgx["current_without_guidance"]),
        "other": [{"phenotype": o["phenotype"], "drugs": ", ".join(o["drugs"])} for o in pgx["other"]],
    }


#: the report's sections, in order, for the table of contents
SECTIONS = (
    ("actionability", "Tumour findings"),
    ("pgx", "Pharmacogenomics"),
    ("predictions", "Predicted response"),
    ("similar_patients", "Similar past patients"),
    ("qc", "Quality control"),
    ("variants", "Variant calls"),
    ("provenance", "Methods and provenance"),
    ("disclaimer", "Research use"),
)

VARIANT_COLUMNS = ("sample", "calls", "chrom", "pos", "ref", "alt", "filter", "genotype", "depth", "alt_reads", "vaf",
                   "vaf_ci95_low", "vaf_ci95_high", "region", "consequence")  # fmt: skip


def variants_tsv(doc: dict) -> str:
    """Every variant record of the document, one per line: each sample's calls (germline model)
    and, for a tumour called from reads, its passing somatic calls; protein-altering first."""
    lines = ["\t".join(VARIANT_COLUMNS)]
    for s in doc["samples"]:
        for calls, variants in (("germline model", s["variants"]), ("somatic", s.get("somatic_calls") or [])):
            for v in sorted(variants, key=lambda v: not _protein_altering(v)):
                sup = v.get("support") or {}
                ci = sup.get("ci95") or ("", "")
                row = [s["sample"], calls, v["chrom"], v["pos"], v["ref"], v["alt"], v["filter"], v["genotype"],
                       v["depth"], sup.get("alt_reads", ""), v["vaf"], ci[0], ci[1], v.get("region", ""), _effects(v)]  # fmt: skip
                lines.append("\t".join("" if x is None else str(x).replace("\t", " ") for x in row))
    return "\n".join(lines) + "\n"


def context(doc: dict, contributions_svg: str | None = None) -> dict:
    """What ``templates/patient.html`` lays out, from the findings document."""
    thresholds = doc["provenance"].get("thresholds", {})
    coverage = [
        {
            "sample": s["sample"],
            **coverage_plot(
                s["coverage_by_gene"],
                float(thresholds.get("min_mean_coverage", 20)),
                float(thresholds.get("warn_mean_coverage", 30)),
            ),
        }  # fmt: skip
        for s in doc["samples"]
        if s.get("coverage_by_gene")
    ]
    variants = []
    for s in doc["samples"]:
        somatic = s.get("somatic_calls")
        shown = somatic if somatic is not None else s["variants"]
        passing = [v for v in shown if v["filter"] == "PASS"]
        calls = s.get("calls") or {}
        variants.append(
            {
                "sample": s["sample"],
                "calls": len(shown),
                "kind": "somatic" if somatic is not None else "",
                "method": calls.get("somatic_text") if somatic is not None else calls.get("text"),
                "tumour_germline_model": s["type"] == "tumor" and somatic is None and calls.get("source") == "seq2rx",
                "germline_model_calls": sum(v["filter"] == "PASS" for v in s["variants"])
                if somatic is not None
                else None,
                "annotated": "consequences" in (passing[0] if passing else {}),
                "altering": [_variant_row(v) for v in passing if _protein_altering(v)],
                "passing": [_variant_row(v) for v in sorted(passing, key=lambda v: not _protein_altering(v))],
            }
        )
    prov = doc["provenance"]
    return {
        "doc": doc,
        "summary": _summary(doc),
        "toc": SECTIONS,
        "variants_tsv": f"{doc['patient']}.variants.tsv",
        # the FHIR bundle of the same findings (rule fhir_bundle: results/fhir/{patient}.json)
        "fhir_bundle": f"../fhir/{quote(doc['patient'], safe='')}.json",
        "samples_text": ", ".join(s["sample"] + " (" + s["type"] + ")" for s in doc["samples"]),
        "analysis_date": prov.get("analysis_date") or "not recorded (report.date)",
        "qc_rows": [_qc_row(s) for s in doc["samples"]],
        "identity_failures": _identity_failures(doc),
        "coverage": coverage,
        "variants": variants,
        "variant_headers": [
            "Region",
            "Contig",
            "Position",
            "Ref",
            "Alt",
            "Consequence",
            "Genotype",
            "Depth",
            "VAF",
            "QUAL",
        ],  # fmt: skip
        "pgx": _pgx(doc.get("pgx", {})),
        "actionability": _actionability(doc.get("actionability", {})),
        "predictions": _predictions(doc.get("predictions", {}), contributions_svg),
        "similar": _similar(doc.get("similar_patients", {})),
        "tool_rows": [
            [step, tool, ver]
            for step, tools in sorted(prov.get("tools", {}).items())
            for tool, ver in sorted(tools.items())
        ],
        "knowledge_rows": _knowledge_rows(doc),
        "seq2rx_version": prov.get("seq2rx_version"),
        "config_sha256": prov.get("config_sha256"),
    }


def render(doc: dict, contributions_svg: str | None = None) -> str:
    """HTML text of one patient's report; ``contributions_svg`` is the ML step's contribution plot
    of the patient (``results/ml/contributions/{patient}.svg``) when it has predictions."""
    return html.render("patient.html", **context(doc, contributions_svg))


def write(doc: dict, path: str | Path, contributions_svg: str | None = None, tsv: str | Path | None = None) -> None:
    """The report at ``path`` and, at ``tsv`` (``{patient}.variants.tsv`` beside it, which the
    report links to), every variant record."""
    if tsv is not None:
        with atomic_output(tsv) as tmp:
            Path(tmp).write_text(variants_tsv(doc), encoding="utf-8")
    with atomic_output(path) as tmp:
        Path(tmp).write_text(render(doc, contributions_svg), encoding="utf-8")
