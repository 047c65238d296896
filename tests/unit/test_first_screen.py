"""The first screen: the answer (options, resistance, PGx alerts for current medications, the
predicted benefit) comes from the findings document, and every number carries its support."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest, chi2

from seq2rx.core.stats import poisson_interval, wilson_interval
from seq2rx.findings.summary import first_screen, prediction_sentence, tmb_support, vaf_support
from seq2rx.pgx.guidance import Guidance, Term, recommend
from seq2rx.report.patient import render


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 48), (9, 36), (48, 48), (1, 1)])
def test_wilson_interval_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


@pytest.mark.parametrize("k", [0, 1, 2, 5, 30, 200])
def test_poisson_interval_is_the_exact_garwood_interval(k):
    lo = chi2.ppf(0.025, 2 * k) / 2 if k else 0.0
    hi = chi2.ppf(0.975, 2 * k + 2) / 2
    assert poisson_interval(k) == pytest.approx((lo, hi), rel=1e-7, abs=1e-9)


def test_vaf_and_tmb_carry_their_support():
    s = vaf_support(5, 48)
    assert s == {"alt_reads": 5, "depth": 48, "vaf": 0.1042, "ci95": [0.0453, 0.2217]}
    assert vaf_support(None, 48) is None and vaf_support(3, 0) is None
    # 2 coding variants over 0.13 Mb: 15.4/Mb, but the interval runs from about 1.9 to 56
    t = tmb_support({"coding_variants": 2, "callable_mb": 0.13, "tmb_per_mb": 15.38})
    assert t["ci95"] == [1.86, 55.57]
    assert tmb_support({"coding_variants": None, "callable_mb": None})["ci95"] is None


def _rec(drug, gene, phenotype, actionable, strength="Strong"):
    return {"drug": drug, "genes": [gene], "phenotype": f"{gene} {phenotype}", "recommendation": f"advice for {drug}",
            "strength": strength, "source": "CPIC", "caveats": [], "actionable": actionable}  # fmt: skip


def _row(gene, alteration, therapy, response, tier="I-A", rule="R", **extra):
    return {"gene": gene, "alteration": alteration, "therapies": therapy, "response": response, "tier": tier,
            "evidence": "FDA-approved", "tumor_type_match": "exact", "source": "s", "rule": rule, "vaf": 0.25,
            "depth": 36, "alt_reads": 9, "rule_tumor_type": "NSCLC", "overridden": False, "overridden_by": [],
            "role": "resistance" if response == "resistant" else "therapy", **extra}  # fmt: skip


def _doc(medications=("clopidogrel", "atorvastatin", "lisinopril"), rows=(), modalities=None, predictions=None):
    recs = [
        _rec("clopidogrel", "CYP2C19", "Poor Metabolizer", True),
        _rec("atorvastatin", "SLCO1B1", "Normal Function", False),
        _rec("citalopram", "CYP2C19", "Poor Metabolizer", True, "Moderate"),
        _rec("voriconazole", "CYP2C19", "Poor Metabolizer", True),
    ]
    tumour = {"status": "not run", "reason": "no tumour sample"}
    if rows:
        from seq2rx.actionability import resistance_flags, therapy_options
        from seq2rx.findings.document import _row_support

        rows = [{**r, "support": _row_support(r)} for r in rows]
        sample = {"sample": "T", "rows": rows, "modalities": modalities or [], "options": therapy_options(rows),
                  "resistance_flags": resistance_flags(rows),
                  "tumor_type": "LUAD", "tumor_type_name": "Lung Adenocarcinoma", "lineage": ["LUAD", "NSCLC"],
                  "mode": "tumour-normal", "somatic_variants": len(rows), "build": "GRCh38", "tiers": {},
                  "knowledge_base": {}, "tmb": {"coding_variants": 2, "callable_mb": 0.13, "tmb_per_mb": 15.38,
                                                "reliable": False, "note": "too small", "ci95": [1.86, 55.57]}}  # fmt: skip
        tumour = {"status": "done", "samples": [sample]}
    return {
        "patient": "P1",
        "sex": "male",
        "tumor_type": "LUAD" if rows else "NA",
        "genome_build": "GRCh38",
        "samples": [{"sample": "P1", "type": "germline", "variants": [],
                     "qc": {"verdict": "pass", "reasons": [], "reads": 1, "mapped_fraction": 1.0,
                            "duplicate_fraction": 0.0, "mean_target_coverage": 40.0, "target_fraction_20x": 1.0}}],
        "provenance": {"seq2rx_version": "x", "config_sha256": "0" * 64, "tools": {}, "analysis_date": "2026-01-02"},
        "pgx": {"status": "done", "sample": "P1", "sample_type": "germline", "genes": [], "recommendations": recs,
                "drugs_without_guidance": [], "warnings": [], "knowledge_base": {}},
        "clinical": {"status": "done", "source": "clinical.tsv", "medications": list(medications)},
        "actionability": tumour,
        "predictions": predictions or {"status": "not run", "reason": "no model"},
        "similar_patients": {"status": "not run", "reason": "no model"},
    }  # fmt: skip


def test_pgx_alerts_are_for_the_current_medications_first():
    pgx = first_screen(_doc())["pgx"]
    assert [(a["medication"], a["phenotype"]) for a in pgx["alerts"]] == [("clopidogrel", "CYP2C19 Poor Metabolizer")]
    assert pgx["current_usual"] == ["atorvastatin"]  # a normal phenotype: usual prescribing
    assert pgx["current_without_guidance"] == ["lisinopril"]  # no PGx guidance for it
    assert pgx["other"] == [{"genes": ["CYP2C19"], "phenotype": "CYP2C19 Poor Metabolizer",
                             "drugs": ["citalopram", "voriconazole"]}]  # fmt: skip
    # names are matched whatever their case and spacing
    assert first_screen(_doc(medications=["  Clopidogrel "]))["pgx"]["alerts"][0]["drug"] == "clopidogrel"


def test_the_first_screen_shows_the_clopidogrel_alert_before_any_detail():
    html = render(_doc())
    assert "clopidogrel × CYP2C19 Poor Metabolizer" in html
    assert html.index('id="summary"') < html.index("clopidogrel × CYP2C19") < html.index('id="contents"')
    assert html.index('id="contents"') < html.index('id="pgx"') < html.index('id="qc"')
    assert html.index("Research use only") < html.index('id="contents"')
    assert "Usual prescribing by genotype: atorvastatin." in html
    assert "No PGx guidance in the knowledge base for: lisinopril." in html


def test_a_medication_whose_gene_was_not_called_is_not_assessed_not_without_guidance():
    d = _doc(medications=["codeine", "clopidogrel"])
    d["pgx"]["drugs_without_guidance"] = [{"drug": "codeine", "genes": ["CYP2D6"],
                                           "reason": "CYP2D6 not called (needs an outside call)"}]  # fmt: skip
    pgx = first_screen(d)["pgx"]
    assert pgx["current_not_tested"] == [{"medication": "codeine", "genes": ["CYP2D6"],
                                          "reason": "CYP2D6 not called (needs an outside call)"}]  # fmt: skip
    assert pgx["current_without_guidance"] == []
    assert "codeine: not assessed</strong> — CYP2D6 not called (needs an outside call)." in render(d)


def test_options_of_two_tumour_samples_name_their_sample():
    rows = [_row("EGFR", "L858R", "erlotinib", "sensitive", rule="A020")]
    d = _doc(rows=rows)
    second = {**d["actionability"]["samples"][0], "sample": "T2"}
    d["actionability"]["samples"].append(second)
    html = render(d)
    assert "T: EGFR L858R" in html and "T2: EGFR L858R" in html


def test_without_a_clinical_table_the_screen_says_medications_were_not_checked():
    d = _doc()
    d["clinical"] = {"status": "not run", "reason": "no clinical table is configured (clinical)"}
    assert first_screen(d)["pgx"]["alerts"] == []
    assert "Current medications not checked: no clinical table is configured (clinical)." in render(d)


def test_options_leave_out_overridden_therapies_and_resistance_is_apart():
    by = [{"rule": "A029", "gene": "EGFR", "alteration": "T790M", "tier": "I-A", "evidence": "FDA-approved",
           "source": "s", "reason": "T790M confers resistance"}]  # fmt: skip
    rows = [
        _row("EGFR", "L858R", "erlotinib", "sensitive", rule="A020", overridden=True, overridden_by=by),
        _row("EGFR", "L858R", "osimertinib", "sensitive", rule="A024"),
        _row("EGFR", "T790M", "osimertinib", "sensitive", rule="A028", alt_reads=5, depth=48),
        _row("EGFR", "T790M", "erlotinib", "resistant", rule="A029", alt_reads=5, depth=48),
        _row("EGFR", "T790M", "gefitinib", "resistant", rule="A030", alt_reads=5, depth=48),
    ]
    t = first_screen(_doc(rows=rows))["tumour"]
    assert [(o["therapy"], o["alterations"]) for o in t["options"]] == [("osimertinib", ["EGFR L858R", "EGFR T790M"])]
    assert t["options"][0]["support"]["EGFR T790M"] == {"alt_reads": 5, "depth": 48, "vaf": 0.1042,
                                                        "ci95": [0.0453, 0.2217]}  # fmt: skip
    assert [(o["therapy"], o["by"]) for o in t["overridden"]] == [("erlotinib", "EGFR T790M")]
    assert [(f["alteration"], f["therapies"]) for f in t["resistance"]] == [("EGFR T790M", ["erlotinib", "gefitinib"])]
    assert t["resistance"][0]["support"]["alt_reads"] == 5
    assert t["negative"] is None
    html = render(_doc(rows=rows))
    first = html[html.index('id="summary"') : html.index('id="contents"')]
    assert "Resistance: EGFR T790M" in first and "not erlotinib or gefitinib" in first
    assert "overrides erlotinib for EGFR L858R" in first
    assert "0.10 (5/48 reads; 95% CI 0.05–0.22)" in first  # the same text as the tables below
    options = first[first.index("Options after reconciliation") : first.index("Resistance: EGFR T790M")]
    assert "osimertinib" in options and "erlotinib" not in options


def test_no_tier_i_names_what_was_and_was_not_assessed():
    mods = [{"modality": "small variants", "status": "assessed", "reason": None, "source": "x"},
            {"modality": "fusions", "status": "not assessed", "reason": "the sample started from a VCF", "source": None}]  # fmt: skip
    rows = [_row("KRAS", "G12D", "cetuximab", "resistant", tier="I-A")]
    t = first_screen(_doc(rows=rows, modalities=mods))["tumour"]
    assert t["options"] == []
    assert (
        t["negative"] == "No tier I therapy option in the modalities assessed (small variants); not assessed: fusions."
    )
    html = render(_doc(rows=rows, modalities=mods))
    assert "fusions not assessed (the sample started from a VCF)" in html


def test_the_prediction_is_one_sentence_with_its_interval():
    pred = {"status": "ok", "favours": "targeted", "benefit_interval_excludes_zero": False,
            "model_summary": {"task": {"treated": "targeted", "reference": "chemotherapy", "interval": 0.9,
                                       "horizon_months": 12}},
            "values": {"response_treated": {"estimate": 0.62, "lower": 0.48, "upper": 0.75},
                       "response_reference": {"estimate": 0.35, "lower": 0.2, "upper": 0.5},
                       "benefit": {"estimate": 0.27, "lower": -0.02, "upper": 0.5},
                       "pfs_treated": {"estimate": 0.5, "lower": 0.4, "upper": 0.6},
                       "pfs_reference": {"estimate": 0.3, "lower": 0.2, "upper": 0.4}}}  # fmt: skip
    text = prediction_sentence(pred)
    assert text.startswith("Predicted response (90% intervals): 62% (48%–75%) on targeted vs 35% (20%–50%)")
    assert "+27 points (-2 to +50), an interval that includes no difference" in text
    assert text.endswith("Progression-free at 12 months: 50% (40%–60%) vs 30% (20%–40%).")
    assert prediction_sentence({"status": "not run", "reason": "no model"}) == "No prediction: no model."


def test_pgx_recommendations_say_whether_they_change_the_usual_prescription():
    def g(condition):
        return Guidance("clopidogrel", ("CYP2C19",), (Term("CYP2C19", "phenotype", condition),), "x", "Strong",
                        "CPIC", "s", "2022-02")  # fmt: skip

    kb = [g("Poor Metabolizer"), g("Normal Metabolizer")]
    for phenotype, actionable in (("Poor Metabolizer", True), ("Normal Metabolizer", False)):
        recs, _ = recommend(kb, {"CYP2C19": {"status": "called", "phenotype": phenotype, "diplotypes": ["*1/*1"]}})
        assert [r["actionable"] for r in recs] == [actionable]


def test_medications_not_recorded_are_not_taken_for_none(tmp_path):
    from seq2rx.findings.document import clinical_section

    table = tmp_path / "clinical.tsv"
    header = (
        "patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent\tnotes"
    )
    table.write_text(f"{header}\nP1\t60\t0\tNA\t80\t2024-01-01\tNA\tNA\tNA\tNA\tNA\tNA\n"
                     "P2\t60\t0\tNA\t80\t2024-01-01\tnone\tNA\tNA\tNA\tNA\tNA\n")  # fmt: skip
    assert clinical_section("P1", table) == {
        "status": "not run",
        "reason": "clinical.tsv records no medications for P1 (NA)",
    }
    assert clinical_section("P2", table) == {"status": "done", "source": "clinical.tsv", "medications": []}
