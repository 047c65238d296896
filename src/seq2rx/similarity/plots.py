"""Figures of a patient network as deterministic SVG text (see :mod:`seq2rx.core.figures`).

- :func:`network_svg`: patients placed by a spectral embedding of the fused network (the
  2nd and 3rd eigenvectors of its normalised Laplacian, signs fixed), each joined to its
  strongest neighbours, coloured by cluster, one patient highlighted.
- :func:`heatmap_svg`: the fused similarity matrix ordered by cluster.
- :func:`km_svg`: Kaplan–Meier curves per cluster (or any grouping) with a log-rank test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seq2rx.core import figures as G
from seq2rx.similarity.clusters import laplacian_spectrum


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Eigenvectors are defined up to sign: make each one's largest-magnitude entry positive."""
    idx = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[idx, np.arange(vectors.shape[1])])
    return vectors * np.where(signs == 0, 1.0, signs)


def layout(W: np.ndarray) -> np.ndarray:
    """(N, 2) coordinates: the normalised-Laplacian eigenvectors 2 and 3 scaled by D^-1/2
    (the random-walk embedding), with fixed signs. No randomness, so no seed is needed."""
    A = np.asarray(W, dtype=float).copy()
    np.fill_diagonal(A, 0.0)
    _, vectors = laplacian_spectrum(A)
    deg = A.sum(axis=1)
    coords = vectors[:, 1:3] / np.sqrt(np.where(deg > 0, deg, 1.0))[:, None]
    return _fix_signs(coords)


def _order(labels: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Patients by cluster, then by decreasing total similarity within their cluster, then index."""
    A = np.asarray(W, dtype=float).copy()
    np.fill_diagonal(A, 0.0)
    within = np.array([A[i, labels == labels[i]].sum() for i in range(len(labels))])
    return np.lexsort((np.arange(len(labels)), -within, labels))


def network_svg(
    W: np.ndarray,
    labels: Sequence[int],
    patients: Sequence[str],
    *,
    highlight: str | None = None,
    edges_per_patient: int = 3,
    title: str = "Patient similarity network",
) -> str:
    """The network: each patient a dot coloured by cluster, lines to its ``edges_per_patient``
    strongest neighbours, ``highlight`` (a patient ID) ringed and named."""
    W = np.asarray(W, dtype=float)
    labels = np.asarray(labels)
    patients = [str(p) for p in patients]
    if highlight is not None and highlight not in patients:
        raise ValueError(f"highlighted patient {highlight!r} is not in the network")
    xy = layout(W)
    A = W.copy()
    np.fill_diagonal(A, -np.inf)
    fig = G.figure(6.0, 5.0)
    ax = fig.add_subplot()
    if edges_per_patient > 0:
        strongest = np.argsort(-A, axis=1, kind="stable")[:, :edges_per_patient]
        pairs = sorted({(min(i, j), max(i, j)) for i in range(len(A)) for j in strongest[i]})
        segments = np.array([[xy[i], xy[j]] for i, j in pairs])
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segments, colors="#999999", linewidths=0.4, alpha=0.5, zorder=1))
    for c in np.unique(labels):
        members = labels == c
        ax.scatter(*xy[members].T, s=14, color=G.colour(int(c) - 1), label=f"cluster {c} ({members.sum()})", zorder=2)
    if highlight is not None:
        i = patients.index(highlight)
        ax.scatter(*xy[i], s=120, facecolors="none", edgecolors="#000000", linewidths=1.6, zorder=3)
        ax.annotate(highlight, xy[i], xytext=(6, 6), textcoords="offset points", fontweight="bold", zorder=4)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("spectral embedding 1")
    ax.set_ylabel("spectral embedding 2")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=7, frameon=False)
    return G.svg(fig, title)


def heatmap_svg(W: np.ndarray, labels: Sequence[int], *, title: str = "Fused patient similarity") -> str:
    """The fused matrix ordered by cluster (and within a cluster by how central a patient is),
    the diagonal left blank, colours capped at the 99th percentile of the off-diagonal values,
    cluster boundaries drawn and named."""
    W = np.asarray(W, dtype=float)
    labels = np.asarray(labels)
    order = _order(labels, W)
    M = W[np.ix_(order, order)].copy()
    np.fill_diagonal(M, np.nan)
    top = float(np.nanpercentile(M, 99)) if len(M) > 1 else 1.0
    fig = G.figure(5.6, 5.0)
    ax = fig.add_subplot()
    image = ax.imshow(M, cmap=G.SEQUENTIAL, vmin=0.0, vmax=top, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="fused similarity")
    sorted_labels = labels[order]
    edges = np.flatnonzero(np.diff(sorted_labels)) + 0.5
    for b in edges:
        ax.axhline(b, color="#ffffff", linewidth=0.8)
        ax.axvline(b, color="#ffffff", linewidth=0.8)
    starts = np.concatenate([[-0.5], edges])
    ends = np.concatenate([edges, [len(M) - 0.5]])
    centres = (starts + ends) / 2
    names = [f"{c}" for c in np.unique(sorted_labels)]
    ax.set_xticks(centres, names)
    ax.set_yticks(centres, names)
    ax.set_xlabel("cluster")
    ax.set_ylabel("cluster")
    ax.set_title(title)
    return G.svg(fig, title)


def km_svg(
    time: Sequence[float],
    event: Sequence[int],
    groups: Sequence[object],
    *,
    time_label: str = "months",
    group_label: str = "cluster",
    title: str = "Survival by cluster",
) -> str:
    """Kaplan–Meier curves per group with censoring ticks, and the log-rank test across groups
    (lifelines) under the title. ``time_label`` names the time axis (what the time counts from).
    Groups are named ``f"{group_label} {group}"``, in sorted order."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(int)
    groups = np.asarray([str(g) for g in groups])
    names = sorted(set(groups.tolist()), key=lambda g: (len(g), g))
    fig = G.figure(6.0, 4.0)
    ax = fig.add_subplot()
    for i, g in enumerate(names):
        members = groups == g
        kmf = KaplanMeierFitter().fit(time[members], event[members])
        sf = kmf.survival_function_.iloc[:, 0]
        ax.step(sf.index.to_numpy(), sf.to_numpy(), where="post", color=G.colour(i),
                label=f"{group_label} {g} (n={members.sum()}, events={event[members].sum()})")  # fmt: skip
        censored = members & (event == 0)
        ax.plot(time[censored], kmf.predict(time[censored]).to_numpy(), "|", color=G.colour(i), markersize=5)
    heading = title
    if len(names) > 1:
        p = multivariate_logrank_test(time, groups, event).p_value
        heading = f"{title}\nlog-rank p = {p:.2g}"
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(time_label)
    ax.set_ylabel("event-free survival")
    ax.set_title(G.wrap(heading, 64))
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    return G.svg(fig, title)
