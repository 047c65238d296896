"""The first screen of a findings document: the answer a tumour board or a prescriber acts on.

:func:`first_screen` reads the rest of the document and writes nothing new: the QC verdict, what
was and was not assessed, the tumour's options after reconciliation (tier I/II therapies, each
with its alteration, evidence and the read support behind it), the resistance flags, the PGx
alerts for the patient's current medications and then the other actionable PGx results, and the
predicted benefit in one sentence with its interval. Every consumer (the HTML report, the FHIR
bundle, the CDS service) shows this same summary, so they cannot disagree.

It also attaches the support behind each number where the document is assembled: reads for an
allele fraction (:func:`vaf_support`) and the interval of a tumour mutational burden
(:func:`tmb_support`).
"""

from __future__ import annotations

from seq2rx.actionability import alteration_label
from seq2rx.core.stats import poisson_interval, wilson_interval

RESEARCH_USE = (
    "Research use only: produced by an automated research workflow, not a clinical test result; "
    "confirm in an accredited laboratory before any diagnosis or treatment decision."
)
_VERDICT_ORDER = ("fail", "warn", "pass")


def vaf_support(alt_reads: int | None, depth: int | None) -> dict | None:
    """Alt reads, depth, allele fraction and its 95% Wilson interval; None without counts."""
    if alt_reads is None or not depth or not 0 <= alt_reads <= depth:
        return None
    lo, hi = wilson_interval(alt_reads, depth)
    return {"alt_reads": alt_reads, "depth": depth, "vaf": round(alt_reads / depth, 4),
            "ci95": [round(lo, 4), round(hi, 4)]}  # fmt: skip


def tmb_support(tmb: dict) -> dict:
    """``tmb`` (coding variants over callable megabases) with the exact Poisson 95% interval of the rate."""
    k, mb = tmb.get("coding_variants"), tmb.get("callable_mb")
    if k is None or not mb:
        return {**tmb, "ci95": None}
    lo, hi = poisson_interval(int(k))
    return {**tmb, "ci95": [round(lo / mb, 2), round(hi / mb, 2)]}


def _qc(doc: dict) -> dict:
    samples = []
    for s in doc["samples"]:
        q = s.get("qc") or {"status": "not run", "reason": "no QC"}
        verdict = q.get("verdict") if q.get("status") != "not run" else "not run"
        reasons = list(q.get("reasons", [])) if verdict != "not run" else [q.get("reason", "")]
        samples.append({"sample": s["sample"], "type": s["type"], "verdict": verdict, "reasons": reasons})
    judged = [s["verdict"] for s in samples if s["verdict"] in _VERDICT_ORDER]
    worst = min(judged, key=_VERDICT_ORDER.index) if judged else "not run"
    return {"verdict": worst, "samples": samples}


def _assessed(doc: dict) -> list[dict]:
    """Per tumour sample, each modality assessed or not (with the reason); PGx for the patient."""
    out = []
    section = doc.get("actionability") or {}
    for s in (section.get("samples") or []) if section.get("status") == "done" else []:
        rows = [{"modality": m["modality"], "status": m["status"], "why": m["reason"]} for m in s.get("modalities", [])]
        out.append({"sample": s["sample"], "modalities": rows})
    return out


def _tumour(doc: dict) -> dict:
    """Options, overridden therapies, resistance flags and the negative statement, over every tumour
    sample of the patient: the actionability step's reconciled ``options`` and ``resistance_flags``
    (:func:`seq2rx.actionability.therapy_options`), each alteration with the reads behind it."""
    section = doc.get("actionability") or {"status": "not run", "reason": "not run"}
    if section.get("status") != "done":
        return {"status": "not run", "reason": section.get("reason", "not run"), "options": [], "overridden": [],
                "resistance": [], "negative": None}  # fmt: skip
    options, overridden, resistance = [], [], []
    for s in section["samples"]:
        support: dict[str, dict] = {}
        for r in s["rows"]:
            if r.get("support"):
                support.setdefault(alteration_label(r), r["support"])
        for o in s.get("options", []):
            options.append({**o, "sample": s["sample"],
                            "support": {a: support[a] for a in o["alterations"] if a in support}})  # fmt: skip
        for f in s.get("resistance_flags", []):
            resistance.append({**f, "sample": s["sample"], "support": support.get(f["alteration"])})
            overridden.extend({**o, "by": f["alteration"], "sample": s["sample"]} for o in f["overrides"])
    negative = None
    if not any(o["tier"].startswith("I-") for o in options):
        modalities = [m for s in section["samples"] for m in s.get("modalities", [])]
        done = sorted({m["modality"] for m in modalities if m["status"] == "assessed"} or {"small variants"})
        missing = sorted({m["modality"] for m in modalities if m["status"] != "assessed"})
        negative = f"No tier I therapy option in the modalities assessed ({', '.join(done)})"
        negative += f"; not assessed: {', '.join(missing)}." if missing else "."
    return {"status": "done", "options": options, "overridden": overridden, "resistance": resistance,
            "negative": negative}  # fmt: skip


def _norm(drug: str) -> str:
    return " ".join(drug.lower().split())


def _pgx(doc: dict) -> dict:
    """PGx alerts for the current medications, then the other actionable results."""
    pgx = doc.get("pgx") or {"status": "not run", "reason": "not run"}
    clinical = doc.get("clinical") or {"status": "not run", "reason": "no clinical table was read"}
    meds = clinical.get("medications", []) if clinical.get("status") == "done" else []
    if pgx.get("status") != "done":
        return {"status": "not run", "reason": pgx.get("reason", "not run"), "alerts": [], "current_usual": [],
                "current_not_tested": [], "current_without_guidance": [], "other": [], "medications": clinical}  # fmt: skip
    by_drug: dict[str, list[dict]] = {}
    for r in pgx["recommendations"]:
        by_drug.setdefault(_norm(r["drug"]), []).append(r)
    untested = {_norm(d["drug"]): d for d in pgx.get("drugs_without_guidance", [])}
    alerts, usual, without, not_tested = [], [], [], []
    for med in meds:
        recs = by_drug.get(_norm(med), [])
        hits = [r for r in recs if r["actionable"]]
        if hits:
            alerts.extend({"medication": med, **_rec(r)} for r in hits)
        elif recs:
            usual.append(med)
        elif _norm(med) in untested:  # the knowledge base has guidance, but its gene was not called
            not_tested.append({"medication": med, "genes": untested[_norm(med)]["genes"],
                               "reason": untested[_norm(med)]["reason"]})  # fmt: skip
        else:
            without.append(med)
    current = {_norm(m) for m in meds}
    other: dict[tuple[str, ...], dict] = {}
    for r in pgx["recommendations"]:
        if r["actionable"] and _norm(r["drug"]) not in current:
            key = (", ".join(r["genes"]), r["phenotype"])
            other.setdefault(key, {"genes": r["genes"], "phenotype": r["phenotype"], "drugs": []})["drugs"].append(
                r["drug"]
            )
    return {
        "status": "done",
        "medications": clinical,
        "alerts": alerts,
        "current_usual": usual,
        "current_not_tested": not_tested,
        "current_without_guidance": without,
        "other": [other[k] for k in sorted(other)],
    }


def _rec(r: dict) -> dict:
    out = {k: r.get(k, []) for k in ("drug", "genes", "phenotype", "recommendation", "strength", "source", "caveats")}
    # the card indicator, RxNorm code and guideline URL, where the PGx step set them
    out.update({k: r[k] for k in ("indicator", "rxnorm", "url") if k in r})
    return out


def _pct(x: float | None) -> str:
    return "NA" if x is None else f"{100 * x:.0f}%"


def percent_span(v: dict) -> str:
    """``62% (48%–75%)``: an estimate with its interval, as every rendering writes a probability."""
    return f"{_pct(v['estimate'])} ({_pct(v['lower'])}–{_pct(v['upper'])})"


def prediction_sentence(section: dict) -> str:
    """The predicted benefit in one sentence with its interval, or why there is none."""
    if section.get("status") != "ok":
        return f"No prediction: {section.get('reason', 'not run')}."
    if section.get("summary"):
        return section["summary"]
    task, v = section["model_summary"]["task"], section["values"]
    level = round(100 * task["interval"])
    b = v["benefit"]
    verdict = (
        f"an interval that excludes no difference, favouring {section['favours']}"
        if section.get("benefit_interval_excludes_zero")
        else "an interval that includes no difference"
    )
    return (
        f"Predicted response ({level}% intervals): {percent_span(v['response_treated'])} on {task['treated']} vs "
        f"{percent_span(v['response_reference'])} on {task['reference']}, a difference of {100 * b['estimate']:+.0f} "
        f"points ({100 * b['lower']:+.0f} to {100 * b['upper']:+.0f}), {verdict}. Progression-free at "
        f"{task['horizon_months']:g} months: {percent_span(v['pfs_treated'])} vs {percent_span(v['pfs_reference'])}."
    )


def first_screen(doc: dict) -> dict:
    """The summary that heads every rendering of ``doc`` (see the module docstring)."""
    identity = [
        {"sample": s["sample"], "reasons": s["qc"]["identity"]["reasons"]}
        for s in doc["samples"]
        if (s.get("qc", {}).get("identity") or {}).get("verdict") == "fail"
    ]
    return {
        "qc": _qc(doc),
        "identity_failures": identity,
        "assessed": _assessed(doc),
        "tumour": _tumour(doc),
        "pgx": _pgx(doc),
        "prediction": prediction_sentence(doc.get("predictions") or {"reason": "not run"}),
        "research_use": RESEARCH_USE,
    }
