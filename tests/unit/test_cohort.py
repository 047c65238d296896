"""The cohort database, cohorts as SQL, small-count suppression and the de-identified export,
on a small hand-made cohort whose members are known in advance."""

from __future__ import annotations

import json
import os
import random
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from seq2rx.cohort import SHARD_TABLES, TABLES, build_database, run_cohort, suppress, write_sample_shards
from seq2rx.cohort.build import connect
from seq2rx.cohort.privacy import date_shift, export, pseudonym
from seq2rx.cohort.sql import check_select, parameter_names, run_query
from seq2rx.core.errors import InputError

REPO = Path(__file__).resolve().parents[2]
COHORT_SQL = REPO / "config" / "cohorts"
DEFAULTS = {"pgx_gene": "CYP2C19", "pgx_drug": "clopidogrel", "driver_gene": "KRAS", "min_age": 65, "max_egfr": 60,
            "omop_cohort": "clopidogrel_new_users"}  # fmt: skip

CSQ_HEADER = (
    "chrom\tpos\tref\talt\tgenotype\tgene\ttranscript\tbiotype\tstrand\tconsequence\taa_change_csq\tdna_change_csq\t"
    "aa_change\thgvs_p\tprotein_pos\tprotein_length\tblosum62\tgrantham\taa_change_agrees\tclinvar_significance\t"
    "clinvar_review\tbcsq"
)
KRAS_G12D = ("chr12", 25245350, "C", "T", "KRAS", "ENST00000311936", "missense", "12G>12D", "p.Gly12Asp", 12)
INTERGENIC = ("chr1", 1000, "A", "G")

# patient: (sex, tumour type or None, age, egfr, medications, CYP2C19 phenotype, KRAS filter or None, time, event,
#           diagnosis date, notes)
PATIENTS = {
    "ALICE-0001": (
        "female",
        None,
        71,
        45.0,
        "clopidogrel;simvastatin",
        "Poor Metabolizer",
        None,
        30.0,
        0,
        "2019-03-14",
        "Alice Smith, seen by Dr Who",
    ),
    "BOB-0002": ("male", None, 66, 58.5, "clopidogrel", "Intermediate Metabolizer", None, 28.0, 0, "2020-07-01", ""),
    "CAROL-0003": ("female", None, 80, 70.0, "warfarin", "Poor Metabolizer", None, 25.0, 1, "2018-11-30", ""),
    "DAVE-0004": ("male", None, 60, 40.0, "clopidogrel", "Normal Metabolizer", None, 33.0, 0, "2021-01-05", ""),
    "ERIN-0005": ("female", "COAD", 55, 90.0, "", "Normal Metabolizer", "PASS", 6.0, 1, "2017-05-09", ""),
    "FRANK-0006": ("male", "READ", 68, 55.0, "", "Rapid Metabolizer", "PASS", 4.0, 1, "2016-02-29", ""),
    "GRACE-0007": ("female", "PAAD", 62, 80.0, "", "Normal Metabolizer", "PASS", 5.0, 1, "2015-08-17", ""),
    "HEIDI-0008": ("female", "COAD", 50, 95.0, "", "Normal Metabolizer", "LikelyGermline", 40.0, 0, "2014-12-24", ""),
}


def write_vcf(path: Path, sample: str, records: list[tuple]) -> Path:
    lines = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LikelyGermline,Description="likely germline">',
        "##contig=<ID=chr1,length=100000000>",
        "##contig=<ID=chr12,length=100000000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + sample,
    ]
    for chrom, pos, ref, alt, filt in records:
        lines.append(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t50\t{filt}\t.\tGT\t0/1")
    path.write_text("\n".join(lines) + "\n")
    return path


def csq_row(chrom, pos, ref, alt, gene=".", transcript=".", consequence="intergenic", aa=".", hgvs=".", ppos="."):
    cells = [chrom, pos, ref, alt, "0/1", gene, transcript, "protein_coding" if gene != "." else ".", "-", consequence,
             aa, ".", aa, hgvs, ppos, "189" if gene != "." else ".", ".", ".", ".", ".", ".", "."]  # fmt: skip
    return "\t".join(map(str, cells))


def make_sample(folder: Path, sample: str, patient: str, info: tuple) -> tuple[dict, dict]:
    """Per-sample workflow outputs of one patient; returns (sheet row, write_sample_shards kwargs)."""
    sex, tumor_type, *_ = info
    phenotype, kras_filter = info[5], info[6]
    folder.mkdir(parents=True, exist_ok=True)
    row = {"sample": sample, "patient": patient, "type": "tumor" if tumor_type else "germline", "sex": sex,
           "tumor_type": tumor_type or "NA", "stage": "fastq"}  # fmt: skip
    germ_vcf = write_vcf(folder / f"{sample}.calls.vcf", sample, [(*INTERGENIC, "PASS")])
    germ_csq = folder / f"{sample}.csq.tsv"
    germ_csq.write_text(CSQ_HEADER + "\n" + csq_row(*INTERGENIC) + "\n")
    variants = [("tumor_mixed" if tumor_type else "germline", germ_vcf, germ_csq)]
    if tumor_type:
        chrom, pos, ref, alt, gene, tx, csq, aa, hgvs, ppos = KRAS_G12D
        som_vcf = write_vcf(folder / f"{sample}.somatic.vcf", sample, [(chrom, pos, ref, alt, kras_filter)])
        som_csq = folder / f"{sample}.somatic.csq.tsv"
        som_csq.write_text(CSQ_HEADER + "\n" + csq_row(chrom, pos, ref, alt, gene, tx, csq, aa, hgvs, ppos) + "\n")
        variants.append(("somatic", som_vcf, som_csq))
    genes = folder / f"{sample}.genes.tsv"
    genes.write_text(
        "sample\tgene\tstatus\tdiplotypes\tphenotype\tactivity_score\tmissing_positions\twarnings\n"
        f"{sample}\tCYP2C19\tcalled\t*1/*2\t{phenotype}\t.\t0\t.\n"
        f"{sample}\tDPYD\tnot called\t.\t.\t.\t3\tlow depth\n"
    )
    drugs = folder / f"{sample}.drugs.tsv"
    drugs.write_text(
        "sample\tdrug\tgenes\tphenotype\trecommendation\tstrength\tsource\n"
        f"{sample}\tclopidogrel\tCYP2C19\tCYP2C19 {phenotype}\tsee guideline\tStrong\tCPIC 2022\n"
    )
    qc = folder / f"{sample}.qc.json"
    qc.write_text(json.dumps({"sample": sample, "verdict": "pass", "reasons": [], "reads": 1000, "mapped_fraction": 1.0,
                              "properly_paired_fraction": 1.0, "duplicate_fraction": 0.02, "mean_target_coverage": 40.0,
                              "target_fraction_20x": 0.9}))  # fmt: skip
    kwargs = {"qc": qc, "variants": variants, "pgx_genes": genes, "pgx_drugs": drugs}
    if tumor_type:
        act = folder / f"{sample}.actionable.tsv"
        act.write_text(
            "sample\tchrom\tpos\tref\talt\tgene\talteration\tvaf\tdepth\ttier\ttherapies\tresponse\tevidence\t"
            "tumor_type_match\trule_tumor_type\trule\tsource\n"
            f"{sample}\tchr12\t25245350\tC\tT\tKRAS\tG12D\t0.31\t44\tII-C\tcetuximab\tresistant\tguideline\tother type\t"
            "COADREAD\tA001\tNCCN\n"
        )
        kwargs["actionable"] = act
    return row, kwargs


def clinical_text(patients: dict, untreated: frozenset = frozenset()) -> str:
    """The clinical table of ``patients``: each treated with targeted therapy except ``untreated``
    (no treatment and so no response recorded; their follow-up counts from diagnosis)."""
    lines = [
        "patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent\tnotes"
    ]
    for p, (_, _, age, egfr, meds, _, _, time, event, date, notes) in patients.items():
        treatment, response = ("NA", "NA") if p in untreated else ("targeted", "0")
        lines.append(f"{p}\t{age}\t1\tII\t{egfr}\t{date}\t{meds}\t{treatment}\t{response}\t{time}\t{event}\t{notes}")
    return "\n".join(lines) + "\n"


def build(folder: Path, patients: dict = PATIENTS, sample_of=lambda p: f"{p}-S", untreated=frozenset()) -> dict:
    rows, shards = [], {t: [] for t in SHARD_TABLES}
    for patient, info in patients.items():
        sample = sample_of(patient)
        row, kwargs = make_sample(folder / "inputs", sample, patient, info)
        outputs = {t: folder / "shards" / sample / f"{t}.parquet" for t in SHARD_TABLES}
        write_sample_shards(row, outputs, **kwargs)
        rows.append(row)
        for t in SHARD_TABLES:
            shards[t].append(outputs[t])
    clinical = folder / "clinical.tsv"
    clinical.write_text(clinical_text(patients, untreated))
    db = folder / "cohort.duckdb"
    counts = build_database(db, shards, rows, clinical=clinical, fingerprint_path=folder / "tables.tsv")
    return {"db": db, "rows": rows, "shards": shards, "clinical": clinical, "counts": counts}


@pytest.fixture(scope="module")
def cohort_db(tmp_path_factory):
    return build(tmp_path_factory.mktemp("cohort"))


def cohort(db, name, tmp_path, parameters=DEFAULTS, k=1):
    outputs = {key: tmp_path / name / f for key, f in
               (("members", "members.tsv"), ("summary", "summary.tsv"), ("km_svg", "km.svg"), ("km_tsv", "km.tsv"))}  # fmt: skip
    result = run_cohort(db, COHORT_SQL / f"{name}.sql", parameters, outputs, min_count=k)
    members = [ln.split("\t")[0] for ln in outputs["members"].read_text().splitlines()[1:]]
    return members, outputs, result


# --- the database ---------------------------------------------------------------------------


def test_the_clinical_tables_free_text_never_enters_the_database(cohort_db):
    """The clinical table's ``notes`` column is free text (it may name people): it is not loaded, and
    no cell of any table holds it (issue 20: note text never enters the cohort database)."""
    text = "Alice Smith, seen by Dr Who"
    assert text in cohort_db["clinical"].read_text()
    con = connect(cohort_db["db"], read_only=True)
    try:
        assert "notes" not in [r[0] for r in con.execute("DESCRIBE patients").fetchall()]
        for name in TABLES:
            for row in con.execute(f'SELECT * FROM "{name}"').fetchall():  # noqa: S608 - names from schema.py
                assert not any(isinstance(v, str) and "Alice Smith" in v for v in row), (name, row)
    finally:
        con.close()
    assert b"Alice Smith" not in Path(cohort_db["db"]).read_bytes()


def test_tables_and_counts(cohort_db):
    c = cohort_db["counts"]
    assert c["patients"] == 8 and c["samples"] == 8 and c["qc"] == 8
    # one intergenic germline call each + one somatic KRAS call for the four tumours
    assert c["variants"] == 8 + 4
    assert c["medications"] == 5  # simvastatin, warfarin and three clopidogrel
    assert c["actionable"] == 4 and c["pgx_genes"] == 16 and c["predictions"] == 0
    con = connect(cohort_db["db"], read_only=True)
    try:
        cols = {r[0]: r[1] for r in con.execute("DESCRIBE predictions").fetchall()}
        assert list(cols) == TABLES["predictions"].names  # documented columns even when empty
        kras = con.execute(
            "SELECT patient, origin, filter, gene, consequence, hgvs_p, protein_pos FROM variants "
            "WHERE gene = 'KRAS' ORDER BY patient"
        ).fetchall()
        assert kras[0] == ("ERIN-0005", "somatic", "PASS", "KRAS", "missense", "p.Gly12Asp", 12)
        assert [r[2] for r in kras] == ["PASS", "PASS", "PASS", "LikelyGermline"]  # ERIN, FRANK, GRACE, HEIDI
        # "." cells are NULL, DPYD's phenotype too; the tumour type "NA" of the sheet is NULL
        assert con.execute(
            "SELECT phenotype, missing_positions FROM pgx_genes WHERE gene = 'DPYD' LIMIT 1"
        ).fetchone() == (None, 3)
        assert con.execute("SELECT tumor_type FROM patients WHERE patient = 'ALICE-0001'").fetchone() == (None,)
        assert (
            str(con.execute("SELECT diagnosis_date FROM patients WHERE patient = 'BOB-0002'").fetchone()[0])
            == "2020-07-01"
        )
    finally:
        con.close()


def test_a_call_without_consequence_row_keeps_a_row(tmp_path):
    row, kwargs = make_sample(tmp_path, "S1", "P1", PATIENTS["ALICE-0001"])
    vcf = write_vcf(tmp_path / "two.vcf", "S1", [(*INTERGENIC, "PASS"), ("chr1", 2000, "T", "C", "LikelyGermline")])
    kwargs["variants"] = [("germline", vcf, kwargs["variants"][0][2])]
    outputs = {t: tmp_path / f"{t}.parquet" for t in SHARD_TABLES}
    counts = write_sample_shards(row, outputs, **kwargs)
    assert counts["variants"] == 2
    con = connect()
    rows = con.read_parquet(str(outputs["variants"])).order("pos").fetchall()
    cols = TABLES["variants"].names
    second = dict(zip(cols, rows[1], strict=True))
    assert second["pos"] == 2000 and second["filter"] == "LikelyGermline" and second["consequence"] is None


def test_shards_and_fingerprint_are_the_same_bytes_on_a_rebuild(cohort_db, tmp_path):
    again = build(tmp_path)
    for table in SHARD_TABLES:
        for a, b in zip(cohort_db["shards"][table], again["shards"][table], strict=True):
            assert a.read_bytes() == b.read_bytes(), a.name
    first = (cohort_db["db"].parent / "tables.tsv").read_text()
    assert (tmp_path / "tables.tsv").read_text() == first
    # shards given in another order: the same content
    shuffled = {t: list(reversed(files)) for t, files in again["shards"].items()}
    build_database(tmp_path / "other.duckdb", shuffled, again["rows"], clinical=again["clinical"],
                   fingerprint_path=tmp_path / "other.tsv")  # fmt: skip
    assert (tmp_path / "other.tsv").read_text() == first


def test_clinical_errors_name_the_line_and_field(cohort_db, tmp_path):
    bad = tmp_path / "clinical.tsv"
    text = clinical_text(PATIENTS).splitlines()
    bad.write_text("\n".join([text[0], text[1].replace("\t71\t", "\t171\t", 1)]) + "\n")
    with pytest.raises(
        InputError,
        match=r"clinical.tsv, line 2, field 'age': .*171 is out of range \(age in years must be an integer between 0 and 120",
    ):
        build_database(tmp_path / "x.duckdb", cohort_db["shards"], cohort_db["rows"], clinical=bad)
    bad.write_text(text[0] + "\nNOBODY\t50\t1\tII\t60\t2020-01-01\t\ttargeted\t0\t1\t0\t\n")
    with pytest.raises(
        InputError, match=r"line 2, field 'patient': patient 'NOBODY' is not a patient of the sample sheet"
    ):
        build_database(tmp_path / "x.duckdb", cohort_db["shards"], cohort_db["rows"], clinical=bad)
    bad.write_text(text[0] + "\n" + text[1].replace("2019-03-14", "14/03/2019") + "\n")
    with pytest.raises(InputError, match=r"line 2, field 'diagnosis_date': .*14/03/2019"):
        build_database(tmp_path / "x.duckdb", cohort_db["shards"], cohort_db["rows"], clinical=bad)
    assert not (tmp_path / "x.duckdb").exists()  # nothing left that looks complete


# --- cohorts as SQL -------------------------------------------------------------------------


def test_cyp2c19_clopidogrel_cohort(cohort_db, tmp_path):
    members, outputs, _ = cohort(cohort_db["db"], "cyp2c19_clopidogrel", tmp_path)
    # CAROL is a poor metabolizer without clopidogrel; DAVE takes it but is a normal metabolizer
    assert members == ["ALICE-0001", "BOB-0002"]
    assert "ALICE-0001\tPoor Metabolizer" in outputs["members"].read_text()


def test_kras_colorectal_cohort(cohort_db, tmp_path):
    members, _, _ = cohort(cohort_db["db"], "kras_colorectal", tmp_path)
    # GRACE's KRAS tumour is pancreatic; HEIDI's KRAS call was filtered as likely germline
    assert members == ["ERIN-0005", "FRANK-0006"]


def test_elderly_renal_cohort_and_its_parameters(cohort_db, tmp_path):
    members, _, _ = cohort(cohort_db["db"], "elderly_renal", tmp_path)
    assert members == ["ALICE-0001", "BOB-0002", "FRANK-0006"]  # CAROL: eGFR 70; DAVE: 60 years
    members, _, _ = cohort(cohort_db["db"], "elderly_renal", tmp_path, {**DEFAULTS, "min_age": 70})
    assert members == ["ALICE-0001"]


def test_injection_through_a_sample_name_and_a_criterion_value_is_inert(tmp_path):
    evil_sample = "S'); DROP TABLE variants; --"
    # (a patient ID with quotes never gets this far: the clinical table refuses it as an ID)
    evil_patient = "EVE-0005"
    patients = {evil_patient: PATIENTS["ALICE-0001"], **{p: PATIENTS[p] for p in ("BOB-0002", "DAVE-0004")}}
    built = build(tmp_path, patients, sample_of=lambda p: evil_sample if p == evil_patient else f"{p}-S")
    db = built["db"]
    assert run_query(db, "SELECT count(*) FROM samples WHERE sample = $s", {"s": evil_sample})[1] == [(1,)]
    # a criterion value that would widen the WHERE clause if it were pasted into the SQL
    members, _, _ = cohort(db, "cyp2c19_clopidogrel", tmp_path, {**DEFAULTS, "pgx_drug": "clopidogrel' OR '1'='1"})
    assert members == []
    members, _, _ = cohort(db, "cyp2c19_clopidogrel", tmp_path, {**DEFAULTS, "pgx_gene": "x'; DROP TABLE variants; --"})
    assert members == []
    members, _, _ = cohort(db, "cyp2c19_clopidogrel", tmp_path)
    assert members == sorted([evil_patient, "BOB-0002"])
    assert run_query(db, "SELECT count(*) FROM variants")[1] == [(3,)]  # still there


def test_only_one_select_is_accepted(cohort_db):
    for sql in ("SELECT 1; DROP TABLE patients", "DELETE FROM patients", "DROP TABLE variants",
                "ATTACH 'x.duckdb'", "COPY patients TO 'out.csv'", "SELECT * FROM patients WHERE age > ?"):  # fmt: skip
        with pytest.raises(InputError):
            check_select(sql, "q.sql")
    with pytest.raises(InputError, match="cannot|failed"):  # no file access from SQL text
        run_query(cohort_db["db"], "SELECT * FROM read_csv('/etc/passwd')")
    assert parameter_names("SELECT $a, '$b', \"$c\" -- $d\n /* $e */ FROM t WHERE x = $f") == ["a", "f"]


def test_a_missing_parameter_names_the_file(cohort_db, tmp_path):
    with pytest.raises(InputError, match=r"elderly_renal.sql: uses parameter\(s\) \$max_egfr that have no value"):
        cohort(cohort_db["db"], "elderly_renal", tmp_path, {"min_age": 65})


def test_a_cohort_without_patient_column_or_with_duplicates_is_refused(cohort_db, tmp_path):
    sql = tmp_path / "bad.sql"
    sql.write_text("SELECT sample FROM samples")
    outs = {k: tmp_path / k for k in ("members", "summary", "km_svg", "km_tsv")}
    with pytest.raises(InputError, match="must return a 'patient' column"):
        run_cohort(cohort_db["db"], sql, {}, outs)
    sql.write_text("SELECT patient FROM pgx_genes")
    with pytest.raises(InputError, match="more than once"):
        run_cohort(cohort_db["db"], sql, {}, outs)


# --- summaries, suppression and survival ------------------------------------------------------


def summary(outputs) -> dict[tuple[str, str], tuple[str, str]]:
    rows = [ln.split("\t") for ln in outputs["summary"].read_text().splitlines()[1:]]
    return {(s, i): (n, p) for s, i, n, p in rows}


def test_summary_counts_without_suppression(cohort_db, tmp_path):
    _, outputs, _ = cohort(cohort_db["db"], "kras_colorectal", tmp_path, k=1)
    s = summary(outputs)
    assert s[("cohort", "patients")] == ("2", "100.0")
    assert s[("sex", "female")] == ("1", "50.0") and s[("sex", "male")] == ("1", "50.0")
    assert s[("tumour type", "COAD")] == ("1", "50.0") and s[("tumour type", "READ")] == ("1", "50.0")
    # KRAS G12D's cetuximab row is a resistance: it offers no therapy, so no actionable tier
    assert s[("best actionable tier", "none")] == ("2", "100.0")
    assert ("best actionable tier", "tier II") not in s or s[("best actionable tier", "tier II")][0] == "0"
    assert s[("PGx CYP2C19", "Rapid Metabolizer")] == ("1", "50.0")
    assert s[("PGx DPYD", "not called")] == ("2", "100.0")
    assert s[("clinical", "age, median (IQR)")][0] == "61.5 (58.25-64.75)"  # ages 55 and 68


def test_summary_suppresses_small_counts_and_their_complements(tmp_path):
    # 12 patients: 3 female, 9 male, 0 missing. The 3 is hidden, and so is the 9: else it could be
    # read off as 12 - 9 - 0.
    patients = {f"P{i:02d}": (("female" if i < 3 else "male"),) + PATIENTS["ALICE-0001"][1:] for i in range(12)}
    built = build(tmp_path, patients)
    _, outputs, _ = cohort(built["db"], "elderly_renal", tmp_path, k=5)
    s = summary(outputs)
    assert s[("cohort", "patients")] == ("12", "100.0")
    assert (
        s[("sex", "female")] == ("<5", "")
        and s[("sex", "male")] == ("<5", "")
        and s[("sex", "missing")] == ("0", "0.0")
    )
    assert s[("age group", "65-74")] == ("12", "100.0")  # all 71: a count that needs no hiding
    text = outputs["summary"].read_text()
    assert "\t3\t" not in text and "\t9\t" not in text


def test_suppression_leaves_nothing_to_recover():
    rng = random.Random(7)
    for _ in range(2000):
        counts = [rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 20]) for _ in range(rng.randint(1, 5))]
        total, k = sum(counts), 5
        hidden = suppress(counts, total, k)
        if total < k:
            assert all(hidden)
            continue
        assert all(h for c, h in zip(counts, hidden, strict=True) if 0 < c < k)  # every small count hidden
        n_hidden = sum(hidden)
        assert n_hidden != 1  # one hidden cell = the total minus the shown ones
        if n_hidden:
            assert sum(c for c, h in zip(counts, hidden, strict=True) if h) >= k  # their sum reveals no small number
    assert suppress([2, 10, 8], 20, 5) == [True, False, True]
    assert suppress([6, 7], 13, 5) == [False, False]
    assert suppress([3, 0, 9], 12, 5) == [True, False, True]
    assert suppress([3, 0], 3, 5) == [True, True]  # a cohort of 3: nothing shown
    with pytest.raises(ValueError):
        suppress([1, 2], 4, 5)


def test_kaplan_meier_and_log_rank(cohort_db, tmp_path):
    # the two KRAS colorectal patients progressed at 4 and 6 months; most others were censored late
    _, outputs, result = cohort(cohort_db["db"], "kras_colorectal", tmp_path, k=2)
    assert result["test"] is not None and result["test"]["p_value"] < 0.05
    rows = [ln.split("\t") for ln in outputs["km_tsv"].read_text().splitlines()]
    # median: the first time survival falls to 0.5 or below, S(4) = 1/2
    assert rows[1][:4] == ["cohort", "2", "2", "4"]
    svg = outputs["km_svg"].read_bytes()
    assert svg.startswith(b"<svg") and b"<dc:date>" not in svg  # inline-ready, no date
    again = tmp_path / "again"
    _, outputs2, _ = cohort(cohort_db["db"], "kras_colorectal", again, k=2)
    assert outputs2["km_svg"].read_bytes() == svg
    # with the default threshold, a group of 2 is too small to draw
    _, outputs, result = cohort(cohort_db["db"], "kras_colorectal", tmp_path, k=5)
    assert result["test"] is None and "cohort: fewer than 5 patients with outcomes" in result["reason"]
    assert "not drawn" in outputs["km_svg"].read_text()
    assert "cohort\t<5\t<5\tNA" in outputs["km_tsv"].read_text()


def km_rows(outputs) -> dict[str, list[str]]:
    return {r[0]: r[1:] for r in (ln.split("\t") for ln in outputs["km_tsv"].read_text().splitlines()[1:])}


def test_the_other_patients_are_not_drawn_beside_a_suppressed_cohort(cohort_db, tmp_path):
    # 8 patients with outcomes: the KRAS cohort has 2 (shown as <5), the others 6. Showing "other
    # patients (n=6)" would give the cohort's size as 8 - 6, so they are hidden too.
    _, outputs, result = cohort(cohort_db["db"], "kras_colorectal", tmp_path, k=5)
    rows = km_rows(outputs)
    assert rows["cohort"][:2] == ["<5", "<5"] and rows["other patients"][:2] == ["<5", "<5"]
    assert rows["other patients"][2] == "NA"  # no median of a group that is not drawn
    assert "other patients: not drawn either" in result["reason"]
    svg = outputs["km_svg"].read_text()
    assert "n=6" not in svg and "n=2" not in svg and "not drawn" in svg
    assert "\t6\t" not in outputs["km_tsv"].read_text()


def test_a_small_group_of_other_patients_hides_the_cohort_too(cohort_db, tmp_path):
    # elderly_renal with a wide net: 6 of the 8 are members, the 2 others are too few, and the
    # cohort's 6 would give them away as 8 - 6
    params = {**DEFAULTS, "min_age": 60, "max_egfr": 90}
    members, outputs, result = cohort(cohort_db["db"], "elderly_renal", tmp_path, params, k=5)
    assert len(members) == 6
    rows = km_rows(outputs)
    assert rows["cohort"][0] == "<5" and rows["other patients"][0] == "<5"
    assert result["test"] is None and "cohort: not drawn either" in result["reason"]
    # with a threshold both groups meet, both are drawn and counted
    _, outputs, result = cohort(cohort_db["db"], "elderly_renal", tmp_path, params, k=2)
    rows = km_rows(outputs)
    assert rows["cohort"][0] == "6" and rows["other patients"][0] == "2" and result["test"] is not None
    assert "cohort (n=6)" in outputs["km_svg"].read_text()


def test_the_other_patients_are_not_drawn_alone(cohort_db, tmp_path):
    # no member has outcomes (the demo's KRAS cohort): a zero names nobody and is shown, but a
    # curve of the other patients alone compares nothing
    params = {**DEFAULTS, "min_age": 200}
    members, outputs, result = cohort(cohort_db["db"], "elderly_renal", tmp_path, params, k=2)
    assert members == []
    rows = km_rows(outputs)
    assert rows["cohort"][0] == "0" and rows["other patients"][0] == "8" and rows["other patients"][2] == "NA"
    assert "other patients: not drawn without the cohort's curve" in result["reason"]
    assert "Kaplan-Meier curves not drawn" in outputs["km_svg"].read_text()


def test_the_time_axis_says_what_the_time_counts_from(cohort_db, tmp_path):
    # everyone in the fixture is treated: follow-up runs from the start of treatment
    _, outputs, _ = cohort(cohort_db["db"], "kras_colorectal", tmp_path, k=2)
    assert "months from the start of treatment" in outputs["km_svg"].read_text()
    assert "diagnosis" not in outputs["km_svg"].read_text()
    assert km_rows(outputs)["log-rank: cohort vs other patients"][-1].startswith(
        "time axis: months from the start of treatment"
    )
    # untreated patients (germline-only, as in the demo): follow-up runs from diagnosis
    built = build(tmp_path / "untreated", untreated=frozenset(PATIENTS))
    _, outputs, _ = cohort(built["db"], "kras_colorectal", tmp_path / "u", k=2)
    svg = outputs["km_svg"].read_text()
    assert "months from diagnosis" in svg and "start of treatment" not in svg
    # a mix says both
    built = build(tmp_path / "mixed", untreated=frozenset(["ALICE-0001", "BOB-0002"]))
    _, outputs, _ = cohort(built["db"], "kras_colorectal", tmp_path / "m", k=2)
    assert "months from the start of treatment (from diagnosis if untreated)" in outputs["km_svg"].read_text()


# --- the de-identified export ---------------------------------------------------------------


def test_export_leaves_no_original_id_name_or_date(cohort_db, tmp_path):
    key = tmp_path / "private" / "export.key"
    out = tmp_path / "export"
    result = export(cohort_db["db"], out, key)
    assert result["key_created"] and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    secret = key.read_text().strip()
    originals = set()
    for patient, info in PATIENTS.items():
        originals |= {patient, f"{patient}-S", info[9], "Alice", "Smith", "Dr Who"}
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"cohort.duckdb", "export.json", "patients.tsv", "variants.tsv"}
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data, path
        for text in originals:
            assert text.encode() not in data, (path, text)
    # the database inside, read back cell by cell
    con = connect(out / "cohort.duckdb", read_only=True)
    try:
        for name in TABLES:
            for row in con.execute(f'SELECT * FROM "{name}"').fetchall():
                assert not {str(v) for v in row} & originals, (name, row)
        assert "notes" not in [r[0] for r in con.execute("DESCRIBE patients").fetchall()]
        dates = dict(con.execute("SELECT patient, diagnosis_date FROM patients").fetchall())
    finally:
        con.close()
    # every date moved by its patient's own offset, never by 0
    k = bytes.fromhex(secret)
    for patient, info in PATIENTS.items():
        shifted = dates[pseudonym(k, "patient", patient)]
        offset = (shifted - __import__("datetime").date.fromisoformat(info[9])).days
        assert offset == date_shift(k, patient) and offset != 0 and abs(offset) <= 365


def test_export_pseudonyms_are_keyed_and_stable(cohort_db, tmp_path):
    key = tmp_path / "k"
    export(cohort_db["db"], tmp_path / "a", key)
    export(cohort_db["db"], tmp_path / "b", key)
    assert (tmp_path / "a/tables/samples.tsv").read_bytes() == (tmp_path / "b/tables/samples.tsv").read_bytes()
    export(cohort_db["db"], tmp_path / "c", tmp_path / "other-key")
    a = set(re.findall(r"P-[0-9a-f]{16}", (tmp_path / "a/tables/patients.tsv").read_text()))
    c = set(re.findall(r"P-[0-9a-f]{16}", (tmp_path / "c/tables/patients.tsv").read_text()))
    assert len(a) == 8 and not a & c
    with pytest.raises(InputError, match="not empty"):
        export(cohort_db["db"], tmp_path / "a", key)
    with pytest.raises(InputError, match="must not be inside the export folder"):
        export(cohort_db["db"], tmp_path / "d", tmp_path / "d" / "key")


# --- documentation and command line ---------------------------------------------------------


def test_docs_describe_every_table_and_column():
    doc = (REPO / "docs" / "cohort-db.md").read_text()
    sections = re.split(r"\n### ", doc)
    for table in TABLES.values():
        section = next((s for s in sections if s.startswith(f"`{table.name}`")), None)
        assert section is not None, f"docs/cohort-db.md has no section for {table.name}"
        documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
        assert documented == table.names, table.name


def test_cli_query_prints_tsv_and_refuses_writes(cohort_db):
    cmd = [sys.executable, "-m", "seq2rx.cli", "cohort", "query", "--db", str(cohort_db["db"])]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    ok = subprocess.run(cmd + ["SELECT patient, age FROM patients WHERE age >= $a ORDER BY patient", "--param", "a=71"],
                        capture_output=True, text=True, env=env)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "patient\tage\nALICE-0001\t71\nCAROL-0003\t80\n"
    bad = subprocess.run(cmd + ["DROP TABLE patients"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "must be a SELECT statement" in bad.stderr


def test_every_shipped_cohort_file_is_one_select():
    files = sorted(COHORT_SQL.glob("*.sql"))
    assert {f.stem for f in files} >= {"cyp2c19_clopidogrel", "kras_colorectal", "elderly_renal"}
    for f in files:
        check_select(f.read_text(), str(f))
        assert set(parameter_names(f.read_text())) <= set(DEFAULTS), f.name


def test_shipped_parameter_defaults_match_the_schema():
    import yaml

    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    props = schema["properties"]["cohorts"]["properties"]["parameters"]["properties"]
    assert {k: v["default"] for k, v in props.items()} == DEFAULTS
    assert schema["properties"]["cohorts"]["properties"]["min_count"]["default"] == 5
