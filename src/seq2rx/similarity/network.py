"""From a feature table to a fused patient network, subtypes and nearest past patients.

The integrator's entry points:

- :func:`modality_distances` — one distance matrix per data type from a feature table
  (``docs/data-model.md``): genomic, clinical, expression (when expression columns are given).
- :func:`build_network` — affinities, similarity network fusion and spectral clusters over every
  patient (history and queries together), with the parameters from the config.
- :func:`similar_patients` — for each query patient, its nearest history patients with their
  treatment and outcome, and the neighbour-based response and survival estimates; JSON-ready.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seq2rx.core.errors import InputError
from seq2rx.similarity import clusters as C
from seq2rx.similarity import distances as D
from seq2rx.similarity import fusion as F
from seq2rx.similarity import neighbours as N

MODALITIES = ("genomic", "clinical", "expression")
#: clinical columns of the feature matrix, and the ordered ones among them
CLINICAL_COLUMNS = ("age", "ecog", "egfr", "sex", "stage", "tumor_type")
ORDINAL = {"stage": ("I", "II", "III", "IV")}
DIGITS = 6


@dataclass(frozen=True)
class Network:
    """A fused patient network: ``patients`` in matrix order, one affinity per modality used,
    the modality weights, the fused matrix and its clusters."""

    patients: list[str]
    affinities: dict[str, np.ndarray]
    weights: dict[str, float]
    fused: np.ndarray
    clusters: C.Clusters

    def index(self, ids: Sequence[str]) -> np.ndarray:
        where = {p: i for i, p in enumerate(self.patients)}
        unknown = [p for p in ids if p not in where]
        if unknown:
            raise ValueError(f"patients not in the network: {unknown[:5]}")
        return np.array([where[p] for p in ids], dtype=int)

    def block(self, rows: Sequence[str], columns: Sequence[str]) -> np.ndarray:
        """Fused similarities of ``rows`` (queries) to ``columns`` (history)."""
        return self.fused[np.ix_(self.index(rows), self.index(columns))]


def _ids(df: pd.DataFrame, id_column: str, source: str) -> list[str]:
    if id_column not in df.columns:
        raise InputError(source, f"no column {id_column!r}", line=1)
    ids = df[id_column].astype(str).tolist()
    seen: set[str] = set()
    for i, p in enumerate(ids):
        if p in seen:
            raise InputError(source, f"patient {p!r} appears twice", row=i + 1, field=id_column)
        seen.add(p)
    return ids


def modality_distances(
    features: pd.DataFrame,
    *,
    modalities: Sequence[str] = MODALITIES,
    clinical_columns: Sequence[str] = CLINICAL_COLUMNS,
    ordinal: Mapping[str, Sequence[str]] = ORDINAL,
    expression_columns: Sequence[str] = (),
    expression_metric: str = "sqeuclidean",
    pgx_weight: float = 0.5,
    source: str = "features",
) -> dict[str, np.ndarray]:
    """Distance matrices, in ``modalities`` order, over the rows of ``features``.

    "genomic" uses the ``mut_``/``trunc_``/``pgx_`` columns; "clinical" the ``clinical_columns``
    present in the table (Gower; ``ordinal`` columns by rank); "expression" the
    ``expression_columns`` and is skipped when none are given. An unknown modality is an error.
    """
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown:
        raise ValueError(f"modalities must be among {list(MODALITIES)}, got {unknown}")
    out: dict[str, np.ndarray] = {}
    for m in modalities:
        if m == "genomic":
            out[m] = D.genomic_distance(features, pgx_weight=pgx_weight, source=source)
        elif m == "clinical":
            cols = [c for c in clinical_columns if c in features.columns]
            if not cols:
                raise InputError(source, f"no clinical column among {list(clinical_columns)}", line=1)
            out[m] = D.gower_distance(
                features, cols, ordinal={c: ordinal[c] for c in cols if c in ordinal}, source=source
            )
        elif expression_columns:
            missing = [c for c in expression_columns if c not in features.columns]
            if missing:
                raise InputError(source, f"no expression column {', '.join(map(repr, missing[:5]))}", line=1)
            out[m] = D.expression_distance(features, expression_columns, metric=expression_metric, source=source)
    if not out:
        raise ValueError("no modality left to build a network from")
    return out


def build_network(
    patients: Sequence[str],
    distances: Mapping[str, np.ndarray],
    *,
    K: int = 20,
    mu: float = 0.5,
    iterations: int = 20,
    alpha: float = 1.0,
    weights: Mapping[str, float] | None = None,
    n_clusters: int | None = None,
    k_range: tuple[int, int] = (2, 8),
    cluster_method: str = "eigengap",
    seed: int = 0,
) -> Network:
    """Affinity per modality (``K``, ``mu``), fusion (``K``, ``iterations``, ``alpha``, ``weights``:
    a modality's weight, default 1, 0 leaves it out) and spectral clusters (``n_clusters``, or the
    best k in ``k_range`` by ``cluster_method``; ``seed``)."""
    patients = [str(p) for p in patients]
    n = len(patients)
    if len(set(patients)) != n:
        raise ValueError("patient IDs must be unique")
    for name, d in distances.items():
        if np.shape(d) != (n, n):
            raise ValueError(f"the {name} distance matrix has shape {np.shape(d)}, expected ({n}, {n})")
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(distances))
    if unknown:
        raise ValueError(f"weights name modalities {unknown} that are not among {list(distances)}")
    used = {m: float(weights.get(m, 1.0)) for m in distances}
    used = {m: w for m, w in used.items() if w > 0}
    if not used:
        raise ValueError("every modality has weight 0: nothing to fuse")
    aff = {m: F.affinity(distances[m], K=K, mu=mu) for m in used}
    fused = F.fuse([aff[m] for m in used], K=K, iterations=iterations, alpha=alpha, weights=list(used.values()))
    cl = C.spectral_clusters(fused, n_clusters, k_range=k_range, method=cluster_method, seed=seed)
    return Network(patients, aff, used, fused, cl)


def _value(v):
    """A JSON-ready cell: None for missing, plain int/float/str otherwise."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return round(float(v), DIGITS)
    return v if isinstance(v, int | str) else str(v)


def _rounded(obj):
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_rounded(v) for v in obj]
    return _value(obj)


def similar_patients(
    network: Network,
    history: pd.DataFrame,
    queries: Sequence[str],
    *,
    k: int = 10,
    id_column: str = "patient",
    treatment: str = "treatment",
    response: str | None = "response",
    time: str | None = "time_months",
    event: str | None = "event",
    horizon: float | None = None,
    describe: Sequence[str] = (),
    source: str = "history",
) -> list[dict]:
    """Per query patient: its ``k`` nearest history patients and neighbour-based outcome estimates.

    Each neighbour carries its rank (1 = most similar), the raw fused ``similarity``, its
    ``percentile`` among all history patients for this query (:func:`.neighbours.percentiles`: 100
    = the most similar), its cluster, the ``describe`` columns of ``history`` (e.g. tumour type and
    main driver) and its treatment and outcome. ``statements`` say what happened to exactly these
    ``k`` neighbours (:func:`.neighbours.table_statements`), so a table of them and its sentences
    count the same patients.

    ``history`` holds the past patients' outcomes (one row each, all in ``network``). For every
    treatment in ``history[treatment]``: the ``k`` most similar patients who received it and how
    many responded (when ``response`` is a column), and their similarity-weighted Kaplan–Meier
    summary (when ``time`` and ``event`` are); the survival summary over all treatments too.
    ``horizon`` defaults to the 90% quantile of the history's follow-up. Rows with a missing
    outcome are left out of that outcome's estimate. Returns a JSON-ready list in query order.
    """
    hist_ids = _ids(history, id_column, source)
    overlap = sorted(set(hist_ids) & {str(q) for q in queries})
    if overlap:
        raise ValueError(f"query patients are also in the history: {overlap[:5]}")
    S = network.block([str(q) for q in queries], hist_ids)
    labels = dict(zip(network.patients, network.clusters.labels.tolist(), strict=True))
    cols = [c for c in (*describe, treatment, response, time, event) if c]
    missing = [c for c in cols if c not in history.columns]
    if missing:
        raise InputError(source, f"no column {', '.join(map(repr, missing))}", line=1)
    groups = N.by_treatment(history[treatment].tolist()) if treatment else {}
    has_survival = bool(time and event)
    if has_survival:
        t = pd.to_numeric(history[time], errors="coerce").to_numpy(dtype=float)
        e = pd.to_numeric(history[event], errors="coerce").to_numpy(dtype=float)
        known_surv = ~np.isnan(t) & ~np.isnan(e)
        horizon = N.default_horizon(t[known_surv]) if horizon is None else float(horizon)
    if response:
        r = pd.to_numeric(history[response], errors="coerce").to_numpy(dtype=float)
    out = []
    for qi, q in enumerate(queries):
        row = S[qi]
        idx, sim = N.nearest(row[None, :], k)
        pct = N.percentiles(row)
        neighbours = []
        for rank, (j, s) in enumerate(zip(idx[0], sim[0], strict=True), start=1):
            rec = {"rank": rank, "patient": hist_ids[j], "similarity": s, "percentile": round(float(pct[j]), 1),
                   "cluster": labels[hist_ids[j]]}  # fmt: skip
            rec.update({c: history[c].iloc[j] for c in cols})
            neighbours.append(rec)
        doc: dict = {
            "patient": str(q),
            "cluster": labels[str(q)],
            "history_patients": len(hist_ids),
            "neighbours": neighbours,
            "statements": N.table_statements(
                neighbours, treatment=treatment, response=response, time=time, event=event
            ),  # fmt: skip
        }
        if response:
            doc["response"] = []
            for name, members in groups.items():
                members = members[~np.isnan(r[members])]
                summary = N.response_summary(row[members], r[members], k, name)
                summary["patients"] = [hist_ids[members[j]] for j in summary.pop("columns", [])]
                doc["response"].append(summary)
        if has_survival:
            doc["survival"] = {"horizon": horizon, "groups": []}
            sets = {"all": np.flatnonzero(known_surv), **{g: m[known_surv[m]] for g, m in groups.items()}}
            for name, members in sets.items():
                summary = N.survival_summary(row[members], t[members], e[members], k, horizon, name)
                summary["patients"] = [hist_ids[members[j]] for j in summary.pop("columns", [])]
                doc["survival"]["groups"].append(summary)
        out.append(_rounded(doc))
    return out


def network_summary(network: Network) -> dict:
    """JSON-ready facts about a network: patients, modalities and weights, the chosen number of
    clusters with the score of every k tried, and each patient's cluster."""
    cl = network.clusters
    return _rounded(
        {
            "patients": len(network.patients),
            "modalities": dict(network.weights),
            "clusters": {
                "n": cl.n_clusters,
                "method": cl.method,
                "scores": {str(k): v for k, v in cl.scores.items()},
                "sizes": {str(c): int((cl.labels == c).sum()) for c in range(1, cl.n_clusters + 1)},
            },
            "membership": dict(zip(network.patients, cl.labels.tolist(), strict=True)),
        }
    )
