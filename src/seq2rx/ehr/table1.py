"""Characterisation of cohorts on an OMOP CDM: Table 1 of two cohorts, and Kaplan-Meier from OMOP dates.

Both start from cohort definitions run by :mod:`.circe` (Circe JSON or one SELECT). Each person
enters at the start of their **first** entry (a Circe first-event cohort has one per person; a SQL
definition may list several). Everything written here is meant for sharing, so counts from 1 to
``min_count - 1`` are suppressed with :func:`seq2rx.cohort.privacy.suppress` (primary and
complementary cells), and whatever could give a suppressed count back (a percentage, a standardized
difference, a curve where few remain at risk) is left out with it.

**Table 1** (:func:`table1`), per cohort: persons; age at index (``year(index) - year_of_birth``, as
OHDSI's FeatureExtraction counts it) as mean and SD and in 10-year bands; sex (``gender_concept_id``,
named through ``concept`` or, where a CDM's vocabulary lacks the Gender concepts, through the shipped
``kb/omop/concepts.tsv``); and the ``top`` conditions and drug ingredients recorded in the window
from 365 days before index up to and including the index day (FeatureExtraction's "long term"
window): conditions by ``condition_concept_id``, drugs rolled up to their RxNorm ingredients through
``concept_ancestor``. Each is a person count and percent; the standardized mean difference (target
minus comparator) is, for a binary covariate, ``(p1 - p2) / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)``
and for age the difference of means over ``sqrt((s1^2 + s2^2) / 2)``: OHDSI's convention, where
``|SMD| > 0.1`` is read as imbalance.

**Kaplan-Meier** (:func:`survival`): days from a person's index to their first outcome on or after
it (the start of the outcome cohort's first entry, or ``death_date`` with ``outcome="death"``),
censored at the end of the observation period that holds the index (or at death, when earlier and
death is not the outcome). Persons whose index lies in no observation period, or whose first outcome
comes before the index, are left out and counted (an incident outcome, as in OHDSI's
CohortMethod). lifelines fits the curve (as :mod:`seq2rx.cohort.cohorts` does); the curve is cut
where fewer than ``min_count`` persons remain at risk, so no single person's event time shows.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import os
from pathlib import Path

from seq2rx.cohort.privacy import show_count, suppress
from seq2rx.core.errors import InputError
from seq2rx.ehr._cdm import INGREDIENT_VOCABULARIES, open_cdm
from seq2rx.ehr.circe import cohort_rows, read_definition

#: the covariate window: from this many days before index up to and including the index day
LOOKBACK_DAYS = 365
#: age bands of Table 1: 10 years wide, from 0 up to this (the last band is open: "90+")
AGE_BAND_TOP = 90
#: Kaplan-Meier: the days at which survival and the number at risk are reported
KM_DAYS = (0, 30, 90, 180, 365, 730, 1095, 1825, 3650)
ARMS = ("target", "comparator")


def first_entries(cdm: str | os.PathLike, definition_path: str | os.PathLike, *, schema: str = "main") -> tuple[dict, dict]:  # fmt: skip
    """Run a definition; return ``({person_id: first cohort_start_date}, description)``."""
    definition = read_definition(definition_path)
    rows = cohort_rows(cdm, definition, schema=schema)
    first: dict[int, dt.date] = {}
    for subject, start, _ in rows:  # sorted by subject, then start
        first.setdefault(int(subject), start)
    about = {"definition": Path(definition.path).name, "kind": definition.kind, "title": definition.title}
    return first, about


def _load_index(con, cohorts: dict[str, dict[int, dt.date]]) -> None:
    people = [(arm, p, d) for arm, first in cohorts.items() for p, d in sorted(first.items())]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE seq2rx_index AS SELECT unnest($a) AS arm, CAST(unnest($p) AS BIGINT) AS person_id, "
        "CAST(unnest($d) AS DATE) AS index_date",
        {"a": [r[0] for r in people], "p": [r[1] for r in people], "d": [r[2] for r in people]},
    )


# --- standardized differences and suppressed cells ------------------------------------------------


def smd_binary(p1: float, p2: float) -> float | None:
    """Standardized difference of two proportions; None when both are 0 or both 1 (no spread).

    >>> round(smd_binary(0.5, 0.4), 4)
    0.2020
    """
    sd = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    return None if sd == 0 else (p1 - p2) / sd


def smd_continuous(m1: float, s1: float, m2: float, s2: float) -> float | None:
    """Difference of means over the pooled SD ``sqrt((s1^2 + s2^2) / 2)``; None when that is 0."""
    sd = math.sqrt((s1 * s1 + s2 * s2) / 2)
    return None if sd == 0 else (m1 - m2) / sd


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits) + 0.0  # + 0.0: no "-0.0" in the output


def _count(n: int, hidden: bool, k: int) -> int | str:
    """A count as JSON shows it: the number, or ``"<k"`` when suppressed (:func:`show_count`)."""
    return show_count(n, True, k) if hidden else n


def _cell(n: int, total: int, hidden: bool, k: int) -> dict:
    shown = not hidden and total > 0
    return {"n": _count(n, hidden, k), "percent": _round(100 * n / total, 1) if shown else None}


def _partition_rows(section: str, labels: list[tuple[str, int | None]], counts: dict[str, list[int]],
                    sizes: dict[str, int], k: int) -> list[dict]:  # fmt: skip
    """Rows of one partition (its cells add up to the cohort's size in each arm), suppressed per arm."""
    hidden = {arm: suppress(counts[arm], sizes[arm], k) for arm in ARMS}
    rows = []
    for i, (label, concept) in enumerate(labels):
        row = {"section": section, "covariate": label, "concept_id": concept}
        for arm in ARMS:
            row[arm] = _cell(counts[arm][i], sizes[arm], hidden[arm][i], k)
        row["smd"] = _smd_of(row, counts, sizes, i, hidden)
        rows.append(row)
    return rows


def _smd_of(row, counts, sizes, i, hidden) -> float | None:
    if any(hidden[arm][i] or sizes[arm] == 0 for arm in ARMS):
        return None  # a difference of proportions would give a hidden count back
    p1, p2 = (counts[arm][i] / sizes[arm] for arm in ARMS)
    return _round(smd_binary(p1, p2), 4)


# --- Table 1 ------------------------------------------------------------------------------------------


def _age_band(age: int | None) -> str:
    if age is None:
        return "missing"
    if age >= AGE_BAND_TOP:
        return f"{AGE_BAND_TOP}+"
    low = max(age, 0) // 10 * 10
    return f"{low}-{low + 9}"


def _sex_names(con) -> dict[int, str]:
    """gender_concept_id -> name: the CDM's ``concept`` first, then the shipped concept table."""
    from seq2rx.ehr._clinical import read_concepts

    names = {int(r.concept_id): r.value for r in read_concepts().itertuples() if r.role == "sex"}
    ids = [r[0] for r in con.execute("SELECT DISTINCT gender_concept_id FROM person WHERE gender_concept_id IS NOT NULL").fetchall()]  # fmt: skip
    for cid, name in con.execute(
        "SELECT concept_id, concept_name FROM concept WHERE concept_id IN (SELECT unnest($ids))", {"ids": ids}
    ).fetchall():
        names[int(cid)] = name.strip().lower()
    return names


def table1(cdm: str | os.PathLike, target: str | os.PathLike, comparator: str | os.PathLike, *, top: int = 10,
           min_count: int = 5, schema: str = "main") -> dict:  # fmt: skip
    """Table 1 of two cohort definitions on a CDM (a DuckDB file): see the module's docstring."""
    if top < 1:
        raise InputError("--top", f"must be at least 1, got {top}")
    if min_count < 1:
        raise InputError("--min-count", f"must be at least 1, got {min_count}")
    cohorts, about = {}, {}
    for arm, path in zip(ARMS, (target, comparator), strict=True):
        cohorts[arm], about[arm] = first_entries(cdm, path, schema=schema)
    sizes = {arm: len(cohorts[arm]) for arm in ARMS}
    k = min_count
    with open_cdm(cdm) as handle:
        con = handle.con
        notes = list(handle.notes)
        _load_index(con, cohorts)
        people = con.execute(
            "SELECT i.arm, i.person_id, year(i.index_date) - p.year_of_birth, p.gender_concept_id "
            "FROM seq2rx_index i LEFT JOIN (SELECT person_id, any_value(year_of_birth) AS year_of_birth, "
            "any_value(gender_concept_id) AS gender_concept_id FROM person GROUP BY person_id) p USING (person_id) "
            "ORDER BY i.arm, i.person_id"
        ).fetchall()
        sex_names = _sex_names(con)
        window = {"lookback": LOOKBACK_DAYS}
        conditions = con.execute(
            "SELECT i.arm, o.condition_concept_id, count(DISTINCT i.person_id) FROM seq2rx_index i "
            "JOIN condition_occurrence o ON o.person_id = i.person_id "
            "AND o.condition_start_date BETWEEN i.index_date - CAST($lookback AS INTEGER) AND i.index_date "
            "WHERE o.condition_concept_id <> 0 GROUP BY ALL",
            window,
        ).fetchall()
        drugs = con.execute(
            "SELECT i.arm, a.ancestor_concept_id, count(DISTINCT i.person_id) FROM seq2rx_index i "
            "JOIN drug_exposure d ON d.person_id = i.person_id "
            "AND d.drug_exposure_start_date BETWEEN i.index_date - CAST($lookback AS INTEGER) AND i.index_date "
            "JOIN concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id "
            "JOIN concept c ON c.concept_id = a.ancestor_concept_id AND c.concept_class_id = 'Ingredient' "
            "AND c.vocabulary_id IN (SELECT unnest($vocabularies)) GROUP BY ALL",
            window | {"vocabularies": list(INGREDIENT_VOCABULARIES)},
        ).fetchall()
        unmapped = con.execute(
            "SELECT count(*), count(DISTINCT d.drug_concept_id) FROM seq2rx_index i "
            "JOIN drug_exposure d ON d.person_id = i.person_id "
            "AND d.drug_exposure_start_date BETWEEN i.index_date - CAST($lookback AS INTEGER) AND i.index_date "
            "WHERE NOT EXISTS (SELECT 1 FROM concept_ancestor a JOIN concept c ON c.concept_id = a.ancestor_concept_id "
            "AND c.concept_class_id = 'Ingredient' AND c.vocabulary_id IN (SELECT unnest($vocabularies)) "
            "WHERE a.descendant_concept_id = d.drug_concept_id)",
            window | {"vocabularies": list(INGREDIENT_VOCABULARIES)},
        ).fetchone()
        concept_ids = sorted({r[1] for r in conditions} | {r[1] for r in drugs})
        concept_names = dict(
            con.execute(
                "SELECT concept_id, concept_name FROM concept WHERE concept_id IN (SELECT unnest($ids))",
                {"ids": concept_ids},
            ).fetchall()
        )
    rows: list[dict] = []
    persons = {arm: [p for p in people if p[0] == arm] for arm in ARMS}
    rows.append({"section": "cohort", "covariate": "persons", "concept_id": None, "smd": None,
                 **{arm: _cell(sizes[arm], sizes[arm], 0 < sizes[arm] < k, k) for arm in ARMS}})  # fmt: skip
    rows.append(_age_row(persons, sizes, k))
    bands = [f"{lo}-{lo + 9}" for lo in range(0, AGE_BAND_TOP, 10)] + [f"{AGE_BAND_TOP}+", "missing"]
    band_of = {arm: [_age_band(p[2]) for p in persons[arm]] for arm in ARMS}
    used = [b for b in bands if any(b in band_of[arm] for arm in ARMS)]
    counts = {arm: [band_of[arm].count(b) for b in used] for arm in ARMS}
    rows += _partition_rows("age group", [(b, None) for b in used], counts, sizes, k)
    sex_of = {arm: [p[3] for p in persons[arm]] for arm in ARMS}
    found = sorted({g for arm in ARMS for g in sex_of[arm] if g is not None and g in sex_names}, key=lambda g: sex_names[g])  # fmt: skip
    labels = [(sex_names[g], g) for g in found] + [("other or unknown", None)]
    counts = {arm: [sex_of[arm].count(g) for g in found] for arm in ARMS}
    for arm in ARMS:
        counts[arm].append(sizes[arm] - sum(counts[arm]))
    rows += _partition_rows("sex", labels, counts, sizes, k)
    for section, found_rows in (("condition", conditions), ("drug ingredient", drugs)):
        rows += _top_rows(section, found_rows, concept_names, sizes, top, k)
    overlap = len(set(cohorts["target"]) & set(cohorts["comparator"]))
    overlap_hidden = suppress([overlap, sizes["target"] - overlap], sizes["target"], k)[0] if sizes["target"] else False
    return {
        "cohorts": {arm: about[arm] | {"persons": _count(sizes[arm], 0 < sizes[arm] < k, k)} for arm in ARMS},
        "cdm": Path(cdm).name,
        "in_both_cohorts": _count(overlap, overlap_hidden, k),
        "index": "each person's first cohort entry (cohort_start_date)",
        "window": {"start_day": -LOOKBACK_DAYS, "end_day": 0},
        "min_count": k,
        "smd": "target minus comparator; binary (p1-p2)/sqrt((p1(1-p1)+p2(1-p2))/2), age (m1-m2)/sqrt((s1^2+s2^2)/2)",
        "drug_exposures_without_ingredient": {"exposures": int(unmapped[0]), "drug_concepts": int(unmapped[1])},
        "cdm_notes": notes,
        "rows": rows,
    }


def _age_row(persons: dict[str, list], sizes: dict[str, int], k: int) -> dict:
    row: dict = {"section": "age", "covariate": "age at index, mean (SD)", "concept_id": None}
    stats = {}
    for arm in ARMS:
        ages = [p[2] for p in persons[arm] if p[2] is not None]
        if len(ages) < k:  # a mean over fewer than k persons describes too few
            row[arm] = {"mean": None, "sd": None, "n": _count(len(ages), len(ages) > 0, k)}
            continue
        mean = sum(ages) / len(ages)
        sd = math.sqrt(sum((a - mean) ** 2 for a in ages) / (len(ages) - 1)) if len(ages) > 1 else 0.0
        stats[arm] = (mean, sd)
        row[arm] = {"mean": _round(mean, 2), "sd": _round(sd, 2), "n": len(ages)}
    both = len(stats) == 2
    row["smd"] = _round(smd_continuous(*stats["target"], *stats["comparator"]), 4) if both else None
    return row


def _top_rows(section: str, found: list[tuple], names: dict[int, str], sizes: dict[str, int], top: int,
              k: int) -> list[dict]:  # fmt: skip
    """The ``top`` covariates by the mean of their two percentages (ties: concept id), each a
    partition of its cohort into persons with and without it."""
    n = {}
    for arm, concept, count in found:
        n.setdefault(int(concept), dict.fromkeys(ARMS, 0))[arm] = int(count)

    def share(c: int) -> float:
        return sum(n[c][arm] / sizes[arm] for arm in ARMS if sizes[arm]) / 2

    chosen = sorted(n, key=lambda c: (-share(c), c))[:top]
    rows = []
    for c in chosen:
        counts = {arm: [n[c][arm], sizes[arm] - n[c][arm]] for arm in ARMS}
        label = names.get(c) or f"concept {c} (not in the concept table)"
        rows += _partition_rows(section, [(label, c), ("", None)], counts, sizes, k)[:1]
    return rows


def table1_tsv(result: dict) -> str:
    """Table 1 as TSV: one row per covariate; age's cells hold ``mean (SD)``."""
    lines = ["section\tcovariate\tconcept_id\ttarget\ttarget_percent\tcomparator\tcomparator_percent\tsmd"]
    for row in result["rows"]:
        cells = [row["section"], row["covariate"], "" if row["concept_id"] is None else str(row["concept_id"])]
        for arm in ARMS:
            c = row[arm]
            if "mean" in c:
                cells += ["" if c["mean"] is None else f"{c['mean']:.2f} ({c['sd']:.2f})", ""]
            else:
                cells += [str(c["n"]), "" if c["percent"] is None else f"{c['percent']:.1f}"]
        cells.append("" if row["smd"] is None else f"{row['smd']:.4f}")
        lines.append("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in cells))
    return "\n".join(lines) + "\n"


# --- Kaplan-Meier ------------------------------------------------------------------------------------


def follow_up(cdm: str | os.PathLike, definition: str | os.PathLike, outcome: str, *, schema: str = "main"):
    """Per person of the cohort: ``(person_id, days, event)``, and what was left out and why.

    ``outcome`` is a definition file or ``"death"``.
    """
    first, about = first_entries(cdm, definition, schema=schema)
    if outcome == "death":
        outcomes, outcome_about = None, {"definition": "death", "kind": "death table"}
    else:
        outcomes, outcome_about = first_entries(cdm, outcome, schema=schema)
    with open_cdm(cdm) as handle:
        con = handle.con
        notes = list(handle.notes)
        _load_index(con, {"cohort": first})
        if outcomes is None:
            dated = con.execute("SELECT person_id, min(death_date) FROM death GROUP BY person_id").fetchall()
        else:
            dated = sorted(outcomes.items())
        con.execute(
            "CREATE TEMP TABLE seq2rx_outcome AS SELECT CAST(unnest($p) AS BIGINT) AS person_id, "
            "CAST(unnest($d) AS DATE) AS outcome_date",
            {"p": [r[0] for r in dated], "d": [r[1] for r in dated]},
        )
        rows = con.execute(
            "WITH period AS (SELECT i.person_id, i.index_date, max(op.observation_period_end_date) AS end_date "
            "  FROM seq2rx_index i LEFT JOIN observation_period op ON op.person_id = i.person_id "
            "  AND i.index_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date "
            "  GROUP BY ALL), "
            "death AS (SELECT person_id, min(death_date) AS death_date FROM death GROUP BY person_id) "
            "SELECT p.person_id, p.index_date, p.end_date, o.outcome_date, d.death_date FROM period p "
            "LEFT JOIN seq2rx_outcome o USING (person_id) LEFT JOIN death d USING (person_id) ORDER BY p.person_id"
        ).fetchall()
    data, outside, prior = [], 0, 0
    for person, index, end, event_date, death in rows:
        if end is None:
            outside += 1
            continue
        if event_date is not None and event_date < index:
            prior += 1
            continue
        if outcomes is not None and death is not None and death < end:
            end = max(death, index)
        if event_date is not None and event_date <= end:
            data.append((person, (event_date - index).days, 1))
        else:
            data.append((person, (end - index).days, 0))
    excluded = {"index_outside_observation": outside, "outcome_before_index": prior}
    return data, {"cohort": about, "outcome": outcome_about, "entered": len(first), "excluded": excluded,
                  "cdm_notes": notes}  # fmt: skip


def survival(cdm: str | os.PathLike, definition: str | os.PathLike, outcome: str, *, min_count: int = 5,
             schema: str = "main") -> dict:  # fmt: skip
    """Kaplan-Meier from OMOP dates (see the module's docstring), suppressed for sharing."""
    if min_count < 1:
        raise InputError("--min-count", f"must be at least 1, got {min_count}")
    k = min_count
    data, about = follow_up(cdm, definition, outcome, schema=schema)
    n = len(data)
    events = sum(e for _, _, e in data)
    small = 0 < n < k
    events_hidden = n > 0 and (small or suppress([events, n - events], n, k)[0])
    result = about | {
        "cdm": Path(cdm).name,
        "min_count": k,
        "time": "days from the first cohort entry's start",
        "censoring": "end of the observation period holding the index (or death, when earlier)",
        "persons": _count(n, small, k),
        "events": _count(events, events_hidden, k),
        "median_days": None,
        "at": [],
        "curve": [],
        "reason": "",
    }
    result["entered"] = _count(result["entered"], 0 < result["entered"] < k, k)
    result["excluded"] = {key: _count(v, 0 < v < k, k) for key, v in result["excluded"].items()}
    if n == 0 or small:
        result["reason"] = "no persons to follow" if n == 0 else f"fewer than {k} persons, not drawn"
        return result
    from lifelines import KaplanMeierFitter

    times = [t for _, t, _ in data]
    km = KaplanMeierFitter().fit(times, [e for _, _, e in data])
    sf = km.survival_function_.iloc[:, 0]
    ci = km.confidence_interval_survival_function_
    ordered = sorted(times)

    def at_risk_at(day: float) -> int:  # persons still followed at ``day`` (time >= day)
        return n - bisect.bisect_left(ordered, day)

    # the first time at which fewer than k remain at risk
    cut = next((t for t in sorted(set(times)) if at_risk_at(t) < k), None)
    # the steps: day 0, each day the estimate drops, and the last day followed before the cut
    followed = [float(t) for t, _ in sf.items() if cut is None or t < cut]
    steps, last = [], None
    for t, s in sf.items():
        if (cut is None or t < cut) and (not steps or s != last or t == followed[-1]):
            steps.append([_round(float(t), 1), _round(float(s), 6)])
            last = s
    result["curve"] = steps
    for day in KM_DAYS:
        at_risk = at_risk_at(day)
        if at_risk == 0:
            break
        shown = at_risk >= k
        s = float(km.predict(day)) if shown else None
        lower, upper = (
            (float(ci.iloc[:, 0][ci.index <= day].iloc[-1]), float(ci.iloc[:, 1][ci.index <= day].iloc[-1]))
            if shown
            else (None, None)
        )
        result["at"].append({"day": day, "at_risk": _count(at_risk, not shown, k), "survival": _round(s, 4),
                             "ci_lower": _round(lower, 4), "ci_upper": _round(upper, 4)})  # fmt: skip
    median = km.median_survival_time_
    result["median_days"] = None if median == float("inf") or (cut is not None and median >= cut) else float(median)
    result["reason"] = f"curve cut at day {cut:g}, where fewer than {k} remain at risk" if cut is not None else ""
    return result


def survival_svg(result: dict, title: str) -> str:
    """The curve drawn with :func:`seq2rx.cohort.cohorts.survival_svg` (same figure style and checks)."""
    from seq2rx.cohort.cohorts import survival_svg as draw

    curve = None
    if result["curve"]:  # drawn up to the last day of the table (at most KM_DAYS[-1]), where it is read
        end = min(result["curve"][-1][0], max(a["day"] for a in result["at"] if a["survival"] is not None))
        steps = [(t, s) for t, s in result["curve"] if t <= end]
        steps.append((end, steps[-1][1]))
        curve = ([t for t, _ in steps], [s for _, s in steps])
    group = {"patients": result["persons"], "curve": curve, "censored": []}  # no ticks: one per person
    note = f"{result['events']} events; drawn to day {curve[0][-1]:g}" if curve else result["reason"]
    drawn = {"groups": {result["cohort"]["definition"]: group}, "test": None, "reason": note, "treated": []}
    return draw(
        drawn, title, xlabel="days from cohort start", ylabel=f"free of {Path(result['outcome']['definition']).stem}"
    )
