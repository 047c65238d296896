"""A cohort = one SELECT over the cohort database; its members, summary and survival curves.

The cohort file (``config/cohorts/NAME.sql``) returns one row per patient, with a ``patient``
column; its ``$name`` parameters are bound from the config. For each cohort:

- ``members.tsv``: the rows the query returned, ordered by patient (identifies patients: for
  local use only);
- ``summary.tsv``: size, demographics, clinical characteristics, actionable findings and PGx
  phenotypes, with every count below the threshold suppressed (:mod:`.privacy`), meant for sharing;
- ``km.svg`` and ``km.tsv``: Kaplan-Meier curves of the cohort and of the other patients of the
  database, with a log-rank test, when outcomes are recorded (else the reason, in both files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from seq2rx.cohort.build import connect
from seq2rx.cohort.privacy import show_count, suppress
from seq2rx.cohort.sql import bind, format_cell, read_cohort_sql, to_tsv
from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.inputs import time_axis_label

#: age groups of the summary: (from, below, label)
AGE_GROUPS = ((None, 50, "<50"), (50, 65, "50-64"), (65, 75, "65-74"), (75, None, ">=75"))


def members(db: str | os.PathLike, sql_path: str | os.PathLike, parameters: Mapping[str, object]):
    """Run the cohort file on the database; return ``(columns, rows)`` ordered by patient.

    The query must return a ``patient`` column and each patient once.
    """
    import duckdb

    sql = read_cohort_sql(sql_path)
    values = bind(sql, parameters, str(sql_path))
    con = connect(db, read_only=True, files=False)
    try:
        cur = con.execute(sql, values)
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except duckdb.Error as exc:
        raise InputError(str(sql_path), f"failed on {db}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if "patient" not in columns:
        raise InputError(str(sql_path), f"must return a 'patient' column; it returns {', '.join(columns)}")
    at = columns.index("patient")
    seen: set = set()
    for row in rows:
        if row[at] in seen:
            raise InputError(str(sql_path), f"returns patient {row[at]!r} more than once (use SELECT DISTINCT)")
        seen.add(row[at])
    rows.sort(key=lambda r: str(r[at]))
    return columns, rows


def _age_group(age) -> str:
    if age is None:
        return "missing"
    for low, high, label in AGE_GROUPS:
        if (low is None or age >= low) and (high is None or age < high):
            return label
    raise AssertionError(age)


def _partition(values: list, order: list[str]) -> list[tuple[str, int]]:
    """Counts of each label in ``order`` (every label present is listed; labels of 0 are kept)."""
    found = sorted(set(values) - set(order))
    return [(label, values.count(label)) for label in order + found]


def _median_iqr(values: list[float]) -> str:
    import numpy as np

    if not values:
        return "NA"
    q1, q2, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return f"{q2:.4g} ({q1:.4g}-{q3:.4g})"


def cohort_facts(db: str | os.PathLike, patients: list[str]) -> dict:
    """What the summary is computed from, per member: clinical columns, best tier, PGx phenotypes."""
    con = connect(db, read_only=True, files=False)
    try:
        con.execute("CREATE TEMP TABLE members AS SELECT unnest($p) AS patient", {"p": list(patients)})
        clinical = con.execute(
            "SELECT p.patient, p.sex, p.tumor_type, p.age, p.stage, p.egfr, p.treatment, p.event "
            "FROM patients p JOIN members m USING (patient) ORDER BY p.patient"
        ).fetchall()
        tiers = dict(
            con.execute(
                # a therapy a patient can be offered: not a resistance row, not overridden by one
                "SELECT a.patient, min(CASE WHEN a.tier LIKE 'I-%' THEN 1 WHEN a.tier LIKE 'II-%' THEN 2 END) "
                "FROM actionable a JOIN members m USING (patient) "
                "WHERE a.response = 'sensitive' AND coalesce(a.overridden, 'false') <> 'true' GROUP BY a.patient"
            ).fetchall()
        )
        # one phenotype per patient and gene, from germline DNA when the patient has it
        pgx = con.execute(
            "SELECT patient, gene, phenotype FROM ("
            "  SELECT g.patient, g.gene, coalesce(g.phenotype, 'not called') AS phenotype,"
            "    row_number() OVER (PARTITION BY g.patient, g.gene"
            "      ORDER BY (s.type = 'tumor'), g.sample) AS k"
            "  FROM pgx_genes g JOIN members m USING (patient) JOIN samples s USING (sample)"
            ") WHERE k = 1 ORDER BY patient, gene"
        ).fetchall()
        genes = [r[0] for r in con.execute("SELECT DISTINCT gene FROM pgx_genes ORDER BY gene").fetchall()]
    finally:
        con.close()
    known = {r[0] for r in clinical}
    unknown = sorted(set(patients) - known)
    if unknown:
        raise InputError(str(db), f"cohort members {unknown[:5]} are not in the patients table")
    phenotypes: dict[str, dict[str, str]] = {}
    for patient, gene, phenotype in pgx:
        phenotypes.setdefault(gene, {})[patient] = phenotype
    return {"clinical": clinical, "tiers": tiers, "pgx": phenotypes, "genes": genes}


def summary_rows(facts: dict, k: int) -> list[tuple[str, str, str, str]]:
    """``(section, item, n, percent)`` rows of a cohort summary, counts below ``k`` suppressed.

    Every section's counts add up to the cohort's size (a ``missing`` or ``none`` item holds the
    rest), which is what lets :func:`~.privacy.suppress` protect against subtraction.
    """
    clinical = facts["clinical"]
    members = [r[0] for r in clinical]
    size = len(members)
    out: list[tuple[str, str, str, str]] = []
    small = size < k

    def add_partition(section: str, parts: list[tuple[str, int]]):
        hidden = suppress([n for _, n in parts], size, k)
        for (item, n), h in zip(parts, hidden, strict=True):
            pct = "" if h or size == 0 else f"{100 * n / size:.1f}"
            out.append((section, item, show_count(n, h, k), pct))

    out.append(("cohort", "patients", show_count(size, small, k), "" if small else "100.0"))
    col = {
        name: i for i, name in enumerate(("patient", "sex", "tumor_type", "age", "stage", "egfr", "treatment", "event"))
    }

    def values(name, missing="missing"):
        return [missing if r[col[name]] is None else r[col[name]] for r in clinical]

    add_partition("sex", _partition(values("sex"), ["female", "male", "missing"]))
    add_partition(
        "age group", _partition([_age_group(r[col["age"]]) for r in clinical], [g[2] for g in AGE_GROUPS] + ["missing"])
    )
    ages = [r[col["age"]] for r in clinical if r[col["age"]] is not None]
    egfrs = [r[col["egfr"]] for r in clinical if r[col["egfr"]] is not None]
    for item, vals in (("age, median (IQR)", ages), ("eGFR, median (IQR)", egfrs)):
        # a median over fewer than k values would describe too few people
        out.append(("clinical", item, "" if len(vals) < k else _median_iqr(vals), ""))
    add_partition("stage", _partition(values("stage"), ["I", "II", "III", "IV", "missing"]))
    add_partition("tumour type", _partition(values("tumor_type", "none (germline only)"), ["none (germline only)"]))
    add_partition("treatment", _partition(values("treatment"), ["chemotherapy", "targeted", "missing"]))
    events = ["event" if e == 1 else "censored" if e == 0 else "missing" for e in (r[col["event"]] for r in clinical)]
    add_partition("outcome", _partition(events, ["event", "censored", "missing"]))
    tiers = [
        "tier I" if facts["tiers"].get(p) == 1 else "tier II" if facts["tiers"].get(p) == 2 else "none" for p in members
    ]
    add_partition("best actionable tier", _partition(tiers, ["tier I", "tier II", "none"]))
    for gene in facts["genes"]:
        calls = [facts["pgx"].get(gene, {}).get(p, "not called") for p in members]
        order = sorted(set(calls) - {"not called"}) + ["not called"]
        add_partition(f"PGx {gene}", _partition(calls, order))
    return out


def survival(db: str | os.PathLike, patients: list[str], k: int) -> dict:
    """Kaplan-Meier estimates for the cohort and the other patients, and a log-rank test.

    The two groups' sizes add up to the number of patients with outcomes, so they are suppressed
    together (:func:`~.privacy.suppress`): a cohort of fewer than ``k`` is not drawn, and then
    neither are the other patients, whose number would give the cohort's by subtraction (as it
    would when they are the small group). A group is drawn only when shown and of at least ``k``
    patients (a curve of fewer shows single people's event times), and the other patients only
    beside the cohort (alone they say nothing about it); the test needs both groups.
    ``reason`` says what was left out; ``time_from`` lists, per patient drawn, whether a treatment
    is recorded (what the time is counted from, :func:`time_axis_label`).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    con = connect(db, read_only=True, files=False)
    try:
        rows = con.execute(
            "SELECT patient, time_months, event, treatment IS NOT NULL FROM patients "
            "WHERE time_months IS NOT NULL AND event IS NOT NULL ORDER BY patient"
        ).fetchall()
    finally:
        con.close()
    inside = set(patients)
    members = {
        "cohort": [r for r in rows if r[0] in inside],
        "other patients": [r for r in rows if r[0] not in inside],
    }
    groups = {name: [(t, e) for _, t, e, _ in data] for name, data in members.items()}
    result: dict = {"groups": {}, "test": None, "reason": "", "treated": []}
    if not rows:
        result["reason"] = "no outcomes recorded (time_months and event are empty in the clinical table, or no table)"
        return result
    hidden = dict(zip(groups, suppress([len(d) for d in groups.values()], len(rows), k), strict=True))
    reasons = []
    for name, data in groups.items():
        entry = {"patients": len(data), "events": sum(e for _, e in data), "hidden": hidden[name], "curve": None,
                 "median": None}  # fmt: skip
        if not data:
            reasons.append(f"{name}: no patients with outcomes")
        elif hidden[name] and len(data) < k:
            reasons.append(f"{name}: fewer than {k} patients with outcomes, not drawn")
        elif hidden[name]:
            reasons.append(f"{name}: not drawn either, as their number would give the other group's by subtraction")
        elif name != "cohort" and result["groups"]["cohort"]["curve"] is None:
            reasons.append(f"{name}: not drawn without the cohort's curve to compare with")
        else:
            km = KaplanMeierFitter().fit([t for t, _ in data], [e for _, e in data])
            sf = km.survival_function_
            entry["curve"] = (sf.index.to_numpy(dtype=float), sf.iloc[:, 0].to_numpy(dtype=float))
            entry["censored"] = sorted(t for t, e in data if e == 0)
            median = km.median_survival_time_
            entry["median"] = None if median == float("inf") else float(median)
            result["treated"] += [bool(r[3]) for r in members[name]]
        result["groups"][name] = entry
    if all(g["curve"] is not None for g in result["groups"].values()):
        (t1, e1), (t2, e2) = (zip(*groups[n], strict=True) for n in ("cohort", "other patients"))
        test = logrank_test(list(t1), list(t2), list(e1), list(e2))
        result["test"] = {"statistic": float(test.test_statistic), "p_value": float(test.p_value)}
    else:
        reasons.append("log-rank test needs both groups drawn")
    result["reason"] = "; ".join(reasons)
    return result


def survival_tsv(result: dict, k: int) -> str:
    lines = ["group\tpatients\tevents\tmedian_months\tlogrank_statistic\tlogrank_p\tnote"]
    for name, g in result["groups"].items():
        hidden = g["hidden"]
        events_hidden = hidden or suppress([g["events"], g["patients"] - g["events"]], g["patients"], k)[0]
        lines.append(
            "\t".join([name, show_count(g["patients"], hidden, k), show_count(g["events"], events_hidden, k),
                       format_cell(g["median"]) if g["curve"] is not None else "NA", "NA", "NA", ""])
        )  # fmt: skip
    test = result["test"]
    stat, p = (f"{test['statistic']:.4f}", f"{test['p_value']:.4g}") if test else ("NA", "NA")
    note = result["reason"] or "."
    if result["treated"]:
        note = f"time axis: {time_axis_label(result['treated'])}" + ("" if note == "." else f"; {note}")
    lines.append("\t".join(["log-rank: cohort vs other patients", "NA", "NA", "NA", stat, p, note]))
    return "\n".join(lines) + "\n"


#: characters per line of the Kaplan-Meier plot's title and of the note drawn instead of it
TITLE_WIDTH = 72


def survival_svg(result: dict, title: str, *, xlabel: str | None = None,
                 ylabel: str = "progression-free probability") -> str:  # fmt: skip
    """The Kaplan-Meier plot as SVG text: same result, same bytes (Agg, fixed hash salt, no date).
    The time axis says what the time is counted from (``xlabel``; by default :func:`time_axis_label`
    of the patients drawn)."""
    from seq2rx.core import figures as G

    drawn = {n: g for n, g in result["groups"].items() if g["curve"] is not None}
    if not drawn:
        return _message_svg(title, result["reason"])
    import numpy as np

    fig = G.figure(6, 4)
    ax = fig.subplots()
    for i, (name, g) in enumerate(result["groups"].items()):
        if g["curve"] is None:
            continue
        t, s = g["curve"]
        ax.step(t, s, where="post", color=G.colour(i), label=f"{name} (n={g['patients']})")
        if g["censored"]:
            marks = np.interp(g["censored"], t, s, left=1.0)
            ax.plot(g["censored"], marks, "|", color=G.colour(i), markersize=6)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(xlabel or time_axis_label(result["treated"]))
    ax.set_ylabel(ylabel)
    test = result["test"]
    sub = f"log-rank p = {test['p_value']:.3g}" if test else result["reason"]
    ax.set_title(G.wrap(f"{title}\n{sub}", TITLE_WIDTH), fontsize=9)
    ax.legend(frameon=False, loc="lower left")
    return G.svg(fig, title)


def _message_svg(title: str, message: str) -> str:
    """A figure-sized note saying why no curve is drawn (checked like any figure: nothing cut off)."""
    from seq2rx.core import figures as G

    text = G.wrap(f"{title}\nKaplan-Meier curves not drawn: {message}", TITLE_WIDTH + 12)
    fig = G.figure(6, 0.3 + 0.18 * (text.count("\n") + 1))
    fig.text(0.01, 0.5, text, ha="left", va="center", fontsize=9, linespacing=1.4)
    return G.svg(fig, title)


def run_cohort(
    db: str | os.PathLike,
    sql_path: str | os.PathLike,
    parameters: Mapping[str, object],
    outputs: Mapping[str, str | os.PathLike],
    *,
    min_count: int = 5,
) -> dict:
    """Write ``outputs['members']``, ``['summary']``, ``['km_svg']`` and ``['km_tsv']`` for one cohort."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    columns, rows = members(db, sql_path, parameters)
    patients = [r[columns.index("patient")] for r in rows]
    facts = cohort_facts(db, patients)
    summary = summary_rows(facts, min_count)
    km = survival(db, patients, min_count)
    name = Path(sql_path).stem
    for key, text in (
        ("members", to_tsv(columns, rows)),
        ("summary", to_tsv(["section", "item", "n", "percent"], summary)),
        ("km_tsv", survival_tsv(km, min_count)),
        ("km_svg", survival_svg(km, f"Cohort {name}: cohort vs other patients")),
    ):
        with atomic_output(outputs[key]) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return {"size": len(patients), "test": km["test"], "reason": km["reason"]}
