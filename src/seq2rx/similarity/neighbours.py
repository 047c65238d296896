"""Nearest past patients and what happened to them.

The history is the reference set; query patients are scored against it. ``S`` below is a
(queries × history) block of similarities, usually the query rows and history columns of a
network fused over history and queries together (see :func:`seq2rx.similarity.build_network`).
Fusing them together uses the queries' features, never an outcome, so an estimate for a query
is out-of-sample with respect to its outcome.

Outcome estimates are plain and inspectable, so a clinician can check them by hand:

- response: among the history patients who received a treatment, the ``k`` most similar; how many
  responded, their similarity-weighted rate, and a Jeffreys 90% interval for the plain rate.
- survival: the Kaplan–Meier curve of the ``k`` most similar patients, each weighted by its
  similarity; its median, its survival at a horizon, and a risk score, minus the restricted mean
  survival time up to the horizon (a higher score = an earlier expected event).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: default horizon: this quantile of the history's follow-up times
HORIZON_QUANTILE = 0.9
INTERVAL = 0.90


def nearest(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of each row's ``k`` largest similarities (most similar first; ties go to the
    lower column index) and those similarities. ``k`` larger than the columns means all columns."""
    S = np.asarray(S, dtype=float)
    if S.ndim != 2:
        raise ValueError(f"similarities must be a (queries × history) matrix, got shape {S.shape}")
    if not (isinstance(k, int | np.integer) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), S.shape[1])
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(S, order, axis=1)


def weighted_km(time: np.ndarray, event: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier estimate with case weights: (distinct event times, survival just after each).

    At each event time the survival drops by the factor 1 − (weight of events there) / (weight at
    risk there). With unit weights this is the ordinary estimator. No events: empty arrays.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    weight = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=float)
    if not (len(time) == len(event) == len(weight)):
        raise ValueError("time, event and weight must have the same length")
    if (weight < 0).any():
        raise ValueError("weights must be non-negative")
    times = np.unique(time[event])
    if not len(times):
        return times, times.copy()
    at_risk = np.array([weight[time >= t].sum() for t in times])
    died = np.array([weight[event & (time == t)].sum() for t in times])
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(at_risk > 0, 1.0 - died / np.where(at_risk > 0, at_risk, 1.0), 1.0)
    return times, np.cumprod(factor)


def survival_at(times: np.ndarray, surv: np.ndarray, t: float) -> float:
    """The step function's value at ``t`` (1 before the first event)."""
    i = np.searchsorted(times, t, side="right")
    return 1.0 if i == 0 else float(surv[i - 1])


def restricted_mean(times: np.ndarray, surv: np.ndarray, horizon: float) -> float:
    """Area under the survival step function from 0 to ``horizon``."""
    inside = times < horizon
    edges = np.concatenate([[0.0], times[inside], [horizon]])
    levels = np.concatenate([[1.0], surv[inside]])
    return float((np.diff(edges) * levels).sum())


def median_survival(times: np.ndarray, surv: np.ndarray) -> float | None:
    """First time the curve is at or below 1/2; None when it never gets there (not reached)."""
    below = np.flatnonzero(surv <= 0.5)
    return float(times[below[0]]) if len(below) else None


def default_horizon(time: np.ndarray) -> float:
    """The 90% quantile of the history's follow-up times."""
    return float(np.quantile(np.asarray(time, dtype=float), HORIZON_QUANTILE))


def neighbour_risk(
    S: np.ndarray, time: np.ndarray, event: np.ndarray, *, k: int = 40, horizon: float | None = None
) -> np.ndarray:
    """One risk score per query row of ``S``: minus the restricted mean survival time up to
    ``horizon`` (default :func:`default_horizon` of ``time``) of its ``k`` nearest history patients'
    similarity-weighted Kaplan–Meier curve. ``time``/``event`` are the history's, in column order."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    horizon = default_horizon(time) if horizon is None else float(horizon)
    idx, sim = nearest(S, k)
    out = np.empty(len(idx))
    for q, (cols, w) in enumerate(zip(idx, sim, strict=True)):
        times, surv = weighted_km(time[cols], event[cols], np.maximum(w, 0.0))
        out[q] = -restricted_mean(times, surv, horizon)
    return out


def jeffreys_interval(successes: int, trials: int, level: float = INTERVAL) -> tuple[float, float]:
    """Jeffreys interval for a proportion (Brown, Cai & DasGupta 2001): Beta(x + ½, n − x + ½)
    quantiles, with the bound set to 0 (1) when there are no successes (failures)."""
    from scipy.stats import beta

    if trials == 0:
        return (0.0, 1.0)
    tail = (1.0 - level) / 2.0
    lo = 0.0 if successes == 0 else float(beta.ppf(tail, successes + 0.5, trials - successes + 0.5))
    hi = 1.0 if successes == trials else float(beta.ppf(1.0 - tail, successes + 0.5, trials - successes + 0.5))
    return lo, hi


def response_summary(similarity: np.ndarray, response: np.ndarray, k: int, treatment: str) -> dict:
    """For one query: the ``k`` most similar of the history patients given (one treatment's, with a
    recorded 0/1 response), and how many of them responded."""
    similarity = np.asarray(similarity, dtype=float)
    response = np.asarray(response, dtype=float)
    if not len(similarity):
        return {"treatment": treatment, "neighbours": 0, "responders": 0, "rate": None,
                "weighted_rate": None, "interval": None, "text": f"no past patient received {treatment}"}  # fmt: skip
    idx, sim = nearest(similarity[None, :], k)
    idx, sim = idx[0], np.maximum(sim[0], 0.0)
    r = response[idx]
    n, x = len(r), int(r.sum())
    weighted = float((sim * r).sum() / sim.sum()) if sim.sum() > 0 else float(r.mean())
    lo, hi = jeffreys_interval(x, n)
    noun = "patient" if n == 1 else "patients"
    return {
        "treatment": treatment,
        "neighbours": n,
        "responders": x,
        "rate": x / n,
        "weighted_rate": weighted,
        "interval": [lo, hi],
        "text": f"of the {n} most similar {noun} who received {treatment}, {x} responded",
        "columns": idx,
    }


def survival_summary(
    similarity: np.ndarray, time: np.ndarray, event: np.ndarray, k: int, horizon: float, label: str
) -> dict:
    """For one query: the similarity-weighted Kaplan–Meier curve of its ``k`` nearest among the
    history patients given, its median, survival at ``horizon`` and restricted mean to ``horizon``."""
    if not len(similarity):
        return {"group": label, "neighbours": 0, "events": 0, "median": None, "survival_at_horizon": None,
                "restricted_mean": None, "curve": {"time": [], "survival": []}}  # fmt: skip
    idx, sim = nearest(np.asarray(similarity, dtype=float)[None, :], k)
    idx, sim = idx[0], np.maximum(sim[0], 0.0)
    t, e = np.asarray(time, dtype=float)[idx], np.asarray(event).astype(bool)[idx]
    times, surv = weighted_km(t, e, sim)
    return {
        "group": label,
        "neighbours": len(idx),
        "events": int(e.sum()),
        "median": median_survival(times, surv),
        "survival_at_horizon": survival_at(times, surv, horizon),
        "restricted_mean": restricted_mean(times, surv, horizon),
        "curve": {"time": times.tolist(), "survival": surv.tolist()},
        "columns": idx,
    }


def by_treatment(treatment: Sequence[object]) -> dict[str, np.ndarray]:
    """History column indices per treatment (sorted by name); missing treatments are left out."""
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(treatment):
        if t is None or (isinstance(t, float) and np.isnan(t)) or str(t).strip() in ("", "NA"):
            continue
        groups.setdefault(str(t), []).append(i)
    return {t: np.array(groups[t], dtype=int) for t in sorted(groups)}


#: how a treatment of the clinical table reads in a sentence
TREATMENT_WORDS = {"targeted": "targeted therapy"}


def percentiles(similarity: np.ndarray) -> np.ndarray:
    """Each past patient's similarity percentile for one query: the share (in %) of all past patients
    whose similarity to the query is at or below theirs, so the most similar one is at 100 and ties
    share the higher value. Unlike a raw fused affinity (which depends on the network's size and
    ``K``), it reads the same in any network. An empty row gives an empty array."""
    s = np.asarray(similarity, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"similarities must be one query's row, got shape {s.shape}")
    if not len(s):
        return s.copy()
    return 100.0 * np.searchsorted(np.sort(s), s, side="right") / len(s)


def _known(v) -> bool:
    """A recorded value: not None, NaN or pandas' NA."""
    return v is not None and not pd.isna(v)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def table_statements(
    rows: Sequence[dict],
    *,
    treatment: str = "treatment",
    response: str | None = "response",
    time: str | None = "time_months",
    event: str | None = "event",
) -> dict:
    """What happened to exactly the past patients in ``rows`` (the neighbours a report's table shows,
    each with its ``treatment``, ``response`` 0/1, ``time`` in months and ``event`` 0/1 under those
    keys, any of them missing; a key given as None counts as missing for every row).

    Per treatment, in order of first appearance in ``rows``: how many received it; of them how many
    responded, did not, or have no recorded response; how many progressed, were censored, or have no
    follow-up; and the Kaplan–Meier median progression-free time of the group (None when the curve
    does not reach 1/2: "not reached"). Patients without a treatment are counted apart, so the
    groups' sizes add up to ``len(rows)``, and each group's outcome counts add up to its size.
    Returns ``{"neighbours", "groups", "no_treatment", "texts"}``; ``texts`` are the sentences.
    """
    keys = {"treatment": treatment, "response": response, "time_months": time, "event": event}
    rows = [{k: (r.get(c) if c else None) for k, c in keys.items()} for r in rows]
    groups: dict[str, list[dict]] = {}
    untreated = 0
    for r in rows:
        t = r["treatment"]
        if not _known(t) or str(t).strip() in ("", "NA"):
            untreated += 1
            continue
        groups.setdefault(str(t), []).append(r)
    out_groups = []
    texts = []
    n = len(rows)
    for name, members in groups.items():
        resp = [r.get("response") for r in members]
        responders = sum(1 for v in resp if _known(v) and int(v) == 1)
        non = sum(1 for v in resp if _known(v) and int(v) == 0)
        timed = [r for r in members if _known(r.get("time_months")) and _known(r.get("event"))]
        progressed = sum(1 for r in timed if int(r["event"]) == 1)
        times, surv = weighted_km(
            np.array([float(r["time_months"]) for r in timed]), np.array([int(r["event"]) for r in timed])
        )
        median = median_survival(times, surv) if timed else None
        g = {
            "treatment": name,
            "patients": len(members),
            "responders": responders,
            "non_responders": non,
            "response_unknown": len(members) - responders - non,
            "progressed": progressed,
            "censored": len(timed) - progressed,
            "follow_up_unknown": len(members) - len(timed),
            "median_months": median,
        }
        out_groups.append(g)
        words = TREATMENT_WORDS.get(name, name)
        lead = f"Of these {_count(n, 'past patient', 'past patients')}, " if not texts else ""
        text = f"{lead}{len(members)} received {words}: {responders} of them responded"
        if g["response_unknown"]:
            text += f" ({g['response_unknown']} without a recorded response)"
        if timed:
            when = "not reached" if median is None else f"{median:.1f} months"
            text += (
                f"; median progression-free time {when} ({progressed} progressed, "
                f"{g['censored']} censored"
                + (f", {g['follow_up_unknown']} without follow-up" if g["follow_up_unknown"] else "")
                + ")"
            )
        else:
            text += "; no follow-up is recorded"
        texts.append(text)
    if untreated:
        lead = f"Of these {_count(n, 'past patient', 'past patients')}, " if not texts else ""
        texts.append(f"{lead}{untreated} {'has' if untreated == 1 else 'have'} no recorded treatment")
    return {"neighbours": n, "groups": out_groups, "no_treatment": untreated, "texts": texts}
