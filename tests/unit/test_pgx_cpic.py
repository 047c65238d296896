"""The CPIC recommendation importer, the drug codes and the alert levels of the PGx knowledge base."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from seq2rx.cli import main
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.pgx.cpic import DRAFT_MARK, compare, draft_rows, read_records, release_month, summary_line, write_outputs
from seq2rx.pgx.guidance import (
    parse_condition,
    read_alert_levels,
    read_drug_codes,
    read_guidance,
    read_uncoded,
    recommend,
)
from seq2rx.pgx.pipeline import PgxKnowledge

KB = Path(data_path("kb", "pgx"))


@pytest.fixture(scope="module")
def kb() -> PgxKnowledge:
    return PgxKnowledge.load(KB)


def rec(drug, lookup, strength, text="Do this.", phenotypes=None, population="general"):
    """One record as CPIC's API gives it (drug and guideline embedded)."""
    return {"drug": {"name": drug}, "guideline": {"name": f"{drug} guideline", "url": f"https://cpic/{drug}"},
            "lookupkey": lookup, "phenotypes": phenotypes or {}, "activityscore": {}, "classification": strength,
            "drugrecommendation": text, "population": population, "version": 7}  # fmt: skip


# a small CPIC release: one row we have, one we have at another strength, a condition we lack, a drug
# we lack, a gene we do not cover, an HLA status, a score-keyed DPYD row and an untested second gene
CPIC = [
    rec("clopidogrel", {"CYP2C19": "Poor Metabolizer"}, "Strong"),
    rec("omeprazole", {"CYP2C19": "Poor Metabolizer"}, "Strong"),  # ours: Moderate
    rec("abacavir", {"HLA-B": "*57:01 positive"}, "Strong"),
    rec("abacavir", {"HLA-B": "*57:01 negative"}, "Strong"),
    rec("fluorouracil", {"DPYD": "0.0"}, "Strong", phenotypes={"DPYD": "Poor Metabolizer"}),
    rec("amitriptyline", {"CYP2C19": "Poor Metabolizer", "CYP2D6": "No Result"}, "Moderate"),
    rec("clopidogrel", {"CYP2C19": "Extremely Rapid Metabolizer"}, "Optional", text="Use the usual dose."),
    rec("aripiprazole", {"CYP2D6": "0.0"}, "Optional", text="Lower dose.", phenotypes={"CYP2D6": "Poor Metabolizer"}),
    *(
        rec("aripiprazole", {"CYP2D6": score}, "Optional", text=text, phenotypes={"CYP2D6": "Intermediate Metabolizer"})
        for score, text in (("0.25", "Lower dose."), ("1.0", "Usual dose."))
    ),
    rec("rasburicase", {"G6PD": "Deficient"}, "Strong"),
]


def test_cpic_records_map_to_our_conditions(kb, tmp_path):
    path = tmp_path / "cpic.json"
    path.write_text(json.dumps(CPIC))
    kind, records = read_records(path)
    assert kind == "cpic" and len(records) == len(CPIC)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    rows = {(r["drug"], r["cpic_key"]): r for r in result["records"]}
    clop = rows[("clopidogrel", "CYP2C19=Poor Metabolizer")]
    assert clop["status"] == "matched" and clop["our_conditions"] == ["CYP2C19=Poor Metabolizer"]
    assert clop["strength_agrees"] is True
    assert rows[("omeprazole", "CYP2C19=Poor Metabolizer")]["strength_agrees"] is False
    # our conditions are written as drug_guidance.tsv writes them (GENE=value)
    assert rows[("abacavir", "HLA-B=*57:01 positive")]["our_conditions"] == ["HLA-B=carrier:*57:01"]
    assert rows[("abacavir", "HLA-B=*57:01 negative")]["our_conditions"] == ["HLA-B=noncarrier:*57:01"]
    assert rows[("fluorouracil", "DPYD=0.0")]["our_conditions"] == ["DPYD=score:0"]
    # an untested gene ("No Result") is left out: our CYP2C19 row answers alone
    assert rows[("amitriptyline", "CYP2C19=Poor Metabolizer; CYP2D6=No Result")]["status"] == "matched"
    assert rows[("clopidogrel", "CYP2C19=Extremely Rapid Metabolizer")]["status"] == "condition missing"
    assert rows[("aripiprazole", "CYP2D6=0.0")]["status"] == "drug missing"
    assert rows[("rasburicase", "G6PD=Deficient")]["status"] == "gene not covered"
    s = result["summary"]
    assert (s["records"], s["matched"], s["drug missing"], s["condition missing"], s["gene not covered"]) == (
        11, 6, 3, 1, 1)  # fmt: skip
    assert (s["strength_agrees"], s["strength_differs"]) == (5, 1)
    # a whole release: our clopidogrel rows no record reaches are listed; drugs it lacks too
    stale = {r["condition"] for r in result["kb_rows_not_in_cpic"] if r["drug"] == "clopidogrel"}
    assert "CYP2C19=Normal Metabolizer" in stale and "CYP2C19=Poor Metabolizer" not in stale
    assert "warfarin" in result["kb_drugs_not_in_cpic"]


def test_needs_review_marks_what_is_missing_and_strengths_no_population_shares(kb, tmp_path):
    # clopidogrel's poor metabolizer in another population at Moderate: ours (Strong) agrees with the
    # ACS/PCI record, so neither needs review; omeprazole (CPIC Strong, ours Moderate) does
    extra = rec("clopidogrel", {"CYP2C19": "Poor Metabolizer"}, "Moderate", population="CVI non-ACS non-PCI")
    path = tmp_path / "cpic.json"
    path.write_text(json.dumps([*CPIC, extra]))
    kind, records = read_records(path)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    review = {(r["drug"], r["cpic_key"], r["population"]): r["needs_review"] for r in result["records"]}
    assert review[("clopidogrel", "CYP2C19=Poor Metabolizer", "CVI non-ACS non-PCI")] is False
    assert review[("clopidogrel", "CYP2C19=Poor Metabolizer", "general")] is False
    assert review[("omeprazole", "CYP2C19=Poor Metabolizer", "general")] is True
    assert review[("clopidogrel", "CYP2C19=Extremely Rapid Metabolizer", "general")] is True  # condition missing
    assert review[("aripiprazole", "CYP2D6=0.0", "general")] is True  # drug missing
    assert review[("rasburicase", "G6PD=Deficient", "general")] is False  # a gene we do not cover
    assert review[("abacavir", "HLA-B=*57:01 positive", "general")] is False  # matched, strengths agree
    s = result["summary"]
    # omeprazole, clopidogrel's extremely rapid metabolizer, aripiprazole's three records
    assert s["needs_review"] == 5 and s["strength_differs"] == 2
    assert s["genes_not_covered"] == ["G6PD"]


def test_the_summary_line_says_what_zero_drafts_means(kb, tmp_path):
    covered_only = [r for r in CPIC if r["drug"]["name"] in ("clopidogrel", "abacavir") and "Extremely" not in str(r)]
    uncovered = [rec("rasburicase", {"G6PD": "Deficient"}, "Strong"), rec("dantrolene", {"RYR1": "MHS"}, "Strong")]
    path = tmp_path / "cpic.json"
    path.write_text(json.dumps(covered_only + uncovered))
    kind, records = read_records(path)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    line = summary_line(kind, result, draft_rows(records, result, date=""), tmp_path / "draft_guidance.tsv")
    assert line == ("cpic input: 5 records; 3 of the 3 records of a covered gene map to a knowledge-base row; "
                    "2 are for genes seq2rx does not cover (G6PD, RYR1); strengths: 3 agree, 0 differ; "
                    "0 records need review (the needs_review column); "
                    "no draft rows: every record of a covered gene maps to a knowledge-base row")  # fmt: skip
    path.write_text(json.dumps(CPIC))
    kind, records = read_records(path)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    drafts = draft_rows(records, result, date="")
    line = summary_line(kind, result, drafts, "out/draft_guidance.tsv")
    assert "6 of the 10 records of a covered gene map to a knowledge-base row, 4 do not" in line
    assert "4 draft rows for what is missing, in out/draft_guidance.tsv" in line and len(drafts) == 4
    path.write_text(json.dumps(uncovered))
    kind, records = read_records(path)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    line = summary_line(kind, result, [], "d.tsv")
    assert "of a covered gene map" not in line and line.endswith("no draft rows: no record names a gene seq2rx covers")


@pytest.mark.parametrize("date", ["2026-13", "2026-00", "2026-1", "2026-01-15", "Jan 2026", "", "0000-01"])
def test_date_must_be_a_real_month(tmp_path, capsys, date):
    path = tmp_path / "cpic.json"
    path.write_text(json.dumps(CPIC))
    out = tmp_path / "o"
    assert main(["pgx", "import-recommendations", "--from", str(path), "--outdir", str(out), "--date", date]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seq2rx: error: --date: ") and "YYYY-MM" in err and "Traceback" not in err
    assert not out.exists()
    assert release_month("2026-12") == "2026-12"


def test_draft_rows_are_marked_and_parse_as_guidance(kb, tmp_path):
    path = tmp_path / "cpic.json"
    path.write_text(json.dumps(CPIC))
    kind, records = read_records(path)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    drafts = draft_rows(records, result, date="2026-01")
    conditions = {(d["drug"], d["condition"]) for d in drafts}
    # aripiprazole's two (a made-up CPIC record: CPIC has no aripiprazole guideline) Intermediate Metabolizer scores get different advice: written as scores;
    # its Poor Metabolizer row has one score and stays a phenotype
    assert conditions == {("clopidogrel", "CYP2C19=Extremely Rapid Metabolizer"),
                          ("aripiprazole", "CYP2D6=Poor Metabolizer"), ("aripiprazole", "CYP2D6=score:0.25"),
                          ("aripiprazole", "CYP2D6=score:1")}  # fmt: skip
    assert all(d["recommendation"].startswith(DRAFT_MARK) and d["date"] == "2026-01" for d in drafts)
    out = tmp_path / "out"
    assert main(["pgx", "import-recommendations", "--from", str(path), "--outdir", str(out), "--date", "2026-01"]) == 0
    parsed = read_guidance(out / "draft_guidance.tsv")  # the drafts are valid drug_guidance.tsv rows
    assert len(parsed) == 4
    table = list(csv.DictReader((out / "comparison.tsv").open(), delimiter="\t"))
    assert len(table) == len(CPIC) and json.loads((out / "comparison.json").read_text())["input"] == "cpic"
    review = {(r["drug"], r["cpic_key"]): r["needs_review"] for r in table}
    assert review[("omeprazole", "CYP2C19=Poor Metabolizer")] == "True"  # CPIC Strong, ours Moderate
    assert review[("clopidogrel", "CYP2C19=Poor Metabolizer")] == "False"
    # one condition's terms are joined by "; ", several conditions by " | "
    row = {
        **result["records"][0],
        "our_conditions": ["SLCO1B1=Normal Function; CYP2C9=score:2", "TPMT=Normal Metabolizer"],
    }
    write_outputs({"records": [row]}, [], tmp_path / "sep")
    (written,) = csv.DictReader((tmp_path / "sep" / "comparison.tsv").open(), delimiter="\t")
    assert written["our_conditions"] == "SLCO1B1=Normal Function; CYP2C9=score:2 | TPMT=Normal Metabolizer"
    first = (out / "comparison.json").read_bytes()
    main(["pgx", "import-recommendations", "--from", str(path), "--outdir", str(out), "--date", "2026-01"])
    assert (out / "comparison.json").read_bytes() == first


def test_per_drug_export_shape(kb, tmp_path):
    """CPIC's per-drug export: drugs, each with its recommendations."""
    path = tmp_path / "drugs.json"
    path.write_text(json.dumps([{"drugname": "abacavir", "guidelinename": "HLA-B and Abacavir", "url": "https://x",
                                 "recommendations": [{k: v for k, v in CPIC[2].items() if k not in ("drug",
                                                                                                 "guideline")}]}]))  # fmt: skip
    kind, records = read_records(path)
    assert kind == "cpic" and records[0].drug == "abacavir" and records[0].lookup == (("HLA-B", "*57:01 positive"),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"cpic\.json: is not JSON"),
        ('{"a": 1}', "must be a JSON list of CPIC recommendation records"),
        (
            '[{"drug": {"name": "x"}, "guideline": {"name": "g", "url": "u"}, "lookupkey": ["CYP2C19"],'
            ' "drugrecommendation": "t"}]',
            r"field '\[0\]\.lookupkey': must be an object",
        ),
        (
            '[{"drug": {"name": "x"}, "guideline": {"name": "g", "url": "u"}, "lookupkey": {"CYP2C19": "x"}}]',
            r"field '\[0\]\.drugrecommendation': must be a non-empty string",
        ),
        (
            '[{"guideline": {"name": "g", "url": "u"}, "lookupkey": {}, "drugrecommendation": "t"}]',
            r"field '\[0\]\.drug\.name'",
        ),
        (
            '{"drugs": {"CPIC Guideline Annotation": {"x": {"guidelines": [{"name": "g", "url": "u", '
            '"annotations": [{"lookupKey": [{"CYP2C19": 3}], "drugRecommendation": "t"}]}]}}}}',
            r"annotations\[0\]\.lookupkey': gene 'CYP2C19': value must be text",
        ),
    ],
)
def test_bad_files_name_file_and_field(tmp_path, content, message):
    path = tmp_path / "cpic.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_records(path)


def test_cli_bad_file_is_a_message_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "cpic.json"
    path.write_text("[]")
    assert main(["pgx", "import-recommendations", "--from", str(path), "--outdir", str(tmp_path / "o")]) != 0
    assert "seq2rx:" in capsys.readouterr().err and not (tmp_path / "o").exists()


# -- drug codes -------------------------------------------------------------------------------------
def test_every_guidance_drug_is_coded_or_listed_as_not_coded():
    codes = read_drug_codes(KB / "drug_codes.tsv")
    uncoded = read_uncoded(KB / "drug_codes_missing.tsv")
    assert all(c.isdigit() for c in codes.values())
    assert not set(codes) & set(uncoded)
    guidance_drugs = {g.drug for g in read_guidance(KB / "drug_guidance.tsv")}
    assert guidance_drugs <= set(codes) | set(uncoded), guidance_drugs - set(codes) - set(uncoded)
    with (KB / "drug_codes.tsv").open() as fh:
        drugs = [row["drug"] for row in csv.DictReader(fh, delimiter="\t")]
    assert len(drugs) == len(set(drugs))
    # two well-known ingredient codes, as CPIC's drug table gives them
    assert (codes["clopidogrel"], codes["abacavir"]) == ("32968", "190521")


def test_drug_code_table_checks(tmp_path):
    bad = tmp_path / "codes.tsv"
    bad.write_text("drug\trxnorm\tsource\tdate\nx\tRxNorm:1\ts\t2026\n")
    with pytest.raises(InputError, match=r"line 2, field 'rxnorm': RxCUI 'RxNorm:1' is not a number"):
        read_drug_codes(bad)
    bad.write_text("drug\trxnorm\tsource\tdate\nx\t1\ts\t2026\nx\t2\ts\t2026\n")
    with pytest.raises(InputError, match="line 3, field 'drug': x is listed twice"):
        read_drug_codes(bad)


# -- alert levels -----------------------------------------------------------------------------------
def test_alert_levels_name_guidance_rows():
    alerts = read_alert_levels(KB / "alert_levels.tsv")
    guidance = read_guidance(KB / "drug_guidance.tsv")
    rows = {(g.drug, frozenset(g.terms)) for g in guidance}
    drugs = {g.drug for g in guidance}
    assert drugs
    for a in alerts:
        assert a.source.startswith("https://cpicpgx.org/") and a.reason.startswith("CPIC")
        assert (a.drug, frozenset(a.terms)) in rows, (a.drug, a.terms)
    critical = {(a.drug, t.gene, t.kind, t.value) for a in alerts for t in a.terms if a.indicator == "critical"}
    usual = {(a.drug, t.gene, t.value) for a in alerts for t in a.terms if a.indicator == "none"}
    assert ("clopidogrel", "CYP2C19", "Rapid Metabolizer") in usual and len(usual) == 25
    assert {("abacavir", "HLA-B", "carrier", "*57:01"), ("carbamazepine", "HLA-B", "carrier", "*15:02"),
            ("carbamazepine", "HLA-A", "carrier", "*31:01"), ("allopurinol", "HLA-B", "carrier", "*58:01"),
            ("fluorouracil", "DPYD", "score", "0"), ("capecitabine", "DPYD", "score", "0"),
            ("fosphenytoin", "HLA-B", "carrier", "*15:02"), ("gentamicin", "MT-RNR1", "phenotype",
             "increased risk of aminoglycoside-induced hearing loss")} <= critical  # fmt: skip


def test_alert_level_table_checks(tmp_path):
    bad = tmp_path / "alerts.tsv"
    head = "drug\tgenes\tcondition\tindicator\treason\tsource\tdate\n"
    bad.write_text(head + "x\tHLA-B\tHLA-B=carrier:*57:01\tinfo\tr\ts\t2020\n")
    with pytest.raises(InputError, match=r"line 2, field 'indicator': indicator must be one of critical"):
        read_alert_levels(bad)
    bad.write_text(head + "x\tHLA-B\tHLA-A=carrier:*31:01\tcritical\tr\ts\t2020\n")
    with pytest.raises(InputError, match="not in genes"):
        read_alert_levels(bad)


def p1_genes() -> dict[str, dict]:
    """P1-like: HLA-B *57:01/*07:02 (outside call), CYP2C19 *2/*2, CYP2C9 *1/*1."""
    return {
        "HLA-B": {
            "status": "outside call",
            "diplotypes": ["*57:01/*07:02"],
            "phenotype": None,
            "activity_score": None,
        },
        "CYP2C19": {
            "status": "called",
            "diplotypes": ["*2/*2"],
            "phenotype": "Poor Metabolizer",
            "activity_score": None,
        },
        "CYP2C9": {
            "status": "called",
            "diplotypes": ["*1/*1"],
            "phenotype": "Normal Metabolizer",
            "activity_score": 2.0,
        },
    }


def test_recommendations_carry_indicator_rxnorm_and_url(kb):
    applied, _ = recommend(kb.guidance, p1_genes(), alert_levels=kb.alert_levels, drug_codes=kb.drug_codes)
    by = {(r["drug"], r["phenotype"]): r for r in applied}
    abacavir = by[("abacavir", "HLA-B carrier *57:01")]
    assert (abacavir["indicator"], abacavir["rxnorm"]) == ("critical", "190521")
    assert abacavir["url"] == "https://cpicpgx.org/guidelines/guideline-for-abacavir-and-hla-b/"
    clop = by[("clopidogrel", "CYP2C19 Poor Metabolizer")]
    assert (clop["indicator"], clop["rxnorm"]) == ("warning", "32968")
    assert clop["url"].startswith("https://cpicpgx.org/") and clop["url"] in clop["source"]
    # not actionable (the usual prescription): no card
    celecoxib = by[("celecoxib", "CYP2C9 score 2")]
    assert celecoxib["actionable"] is False and celecoxib["indicator"] is None
    # HLA-B*15:02 is not carried: carbamazepine's HLA-B row gives no card
    assert all(r["indicator"] is None for r in applied if r["drug"] == "carbamazepine")


def test_a_typed_hla_gene_without_a_fitting_row_is_named_with_its_diplotype(kb):
    """P1 (HLA-B *57:01/*07:02, no HLA-A): carbamazepine's rows are HLA-B *15:02 carrier, HLA-A *31:01
    carrier, and both noncarriers together, so none applies; the reason says HLA-B was typed, not that it
    has "no phenotype"."""
    applied, unmatched = recommend(kb.guidance, p1_genes())
    assert "carbamazepine" not in {r["drug"] for r in applied}
    (carbamazepine,) = [u for u in unmatched if u["drug"] == "carbamazepine"]
    assert carbamazepine["reason"] == (
        "HLA-A not called (needs an outside call); HLA-B typed *57:01/*07:02 (no carbamazepine row applies to it alone)"
    )
    # a drug of that one gene whose rows do not fit the diplotype: "fits it", not "alone"
    only_b = [g for g in kb.guidance if g.drug == "oxcarbazepine" and g.condition.split()[1] == "carrier"]
    assert len(only_b) == 1 and only_b[0].genes == ("HLA-B",)  # the *15:02 carrier row alone
    _, unmatched = recommend(only_b, p1_genes())
    assert unmatched == [{"drug": "oxcarbazepine", "genes": ["HLA-B"],
                          "reason": "HLA-B typed *57:01/*07:02 (no oxcarbazepine row fits it)"}]  # fmt: skip


def test_a_usual_prescription_row_makes_no_card(kb):
    """A CYP2C19 rapid metabolizer on clopidogrel, a CYP2D6 intermediate metabolizer on metoprolol:
    phenotypes that are not the normal one, but CPIC's advice is the usual drug and dose (Strong /
    Moderate), so the row is shown and not actionable; a poor metabolizer's row still warns."""
    genes = {"CYP2C19": {"status": "called", "diplotypes": ["*1/*17"], "phenotype": "Rapid Metabolizer",
                         "activity_score": None},
             "CYP2D6": {"status": "outside call", "diplotypes": ["*1/*4"], "phenotype": "Intermediate Metabolizer",
                        "activity_score": 1.0}}  # fmt: skip
    applied, _ = recommend(kb.guidance, genes, alert_levels=kb.alert_levels, drug_codes=kb.drug_codes)
    by = {r["drug"]: r for r in applied if len(r["genes"]) == 1}
    for drug in ("clopidogrel", "metoprolol"):
        assert by[drug]["strength"] in ("Strong", "Moderate") and not by[drug]["actionable"], drug
        assert by[drug]["indicator"] is None, drug
    genes["CYP2D6"] = {**genes["CYP2D6"], "diplotypes": ["*4/*4"], "phenotype": "Poor Metabolizer", "activity_score": 0}
    applied, _ = recommend(kb.guidance, genes, alert_levels=kb.alert_levels, drug_codes=kb.drug_codes)
    (metoprolol,) = [r for r in applied if r["drug"] == "metoprolol"]
    assert metoprolol["indicator"] == "warning"


def test_a_critical_condition_is_critical_only_for_its_drug(kb):
    terms = parse_condition("HLA-B=carrier:*57:01", "x", 1)
    assert any(a.drug == "abacavir" and a.terms == terms for a in kb.alert_levels)
    assert not any(a.drug == "allopurinol" and a.terms == terms for a in kb.alert_levels)


# -- validation: PharmCAT's example report ----------------------------------------------------------
#: a real difference, reported for the curator: CPIC rates the combined sertraline row (CYP2B6
#: intermediate and CYP2C19 poor metabolizer) Moderate; our two single-gene rows say Optional
KNOWN_STRENGTH_DIFFERENCES = {("sertraline", "CYP2B6=Intermediate Metabolizer; CYP2C19=Poor Metabolizer")}


def test_pharmcat_example_report_maps_to_our_guidance(kb, shared_data):
    report = shared_data / "pharmcat" / "example2" / "pharmcat.example2.report.json"
    if not report.exists():
        pytest.skip(f"{report} not found")
    kind, records = read_records(report)
    result = compare(kind, records, kb.guidance, kb.known_genes)
    rows = result["records"]
    covered = [r for r in rows if r["status"] not in ("gene not covered", "no genotype")]
    unmapped = [r for r in covered if r["status"] != "matched"]
    assert not unmapped, unmapped
    assert len(covered) >= 40  # 44 in the 2025-11 example, all mapped
    groups: dict[tuple[str, str], list[bool]] = {}
    for r in covered:
        if r["strength_agrees"] is not None:
            groups.setdefault((r["drug"], r["cpic_key"]), []).append(r["strength_agrees"])
    differing = {k for k, v in groups.items() if not any(v)}
    assert differing <= KNOWN_STRENGTH_DIFFERENCES, differing
    assert result["kb_rows_not_in_cpic"] is None  # one patient's report cannot show retired rows


def test_first_screen_alerts_carry_indicator_rxnorm_and_url(kb):
    """summary.pgx.alerts keeps the card indicator, code and URL of the current medication's row."""
    from seq2rx.findings.summary import _pgx  # the first screen's PGx part

    applied, _ = recommend(kb.guidance, p1_genes(), alert_levels=kb.alert_levels, drug_codes=kb.drug_codes)
    doc = {"pgx": {"status": "done", "recommendations": applied, "drugs_without_guidance": []},
           "clinical": {"status": "done", "source": "clinical.tsv", "medications": ["abacavir", "clopidogrel"]}}  # fmt: skip
    alerts = {a["drug"]: a for a in _pgx(doc)["alerts"]}
    assert (alerts["abacavir"]["indicator"], alerts["abacavir"]["rxnorm"]) == ("critical", "190521")
    assert (alerts["clopidogrel"]["indicator"], alerts["clopidogrel"]["rxnorm"]) == ("warning", "32968")
    assert alerts["clopidogrel"]["url"] == "https://cpicpgx.org/guidelines/guideline-for-clopidogrel-and-cyp2c19/"
