"""Subtypes from a fused network: spectral clustering, the number of clusters by eigengap or
silhouette (von Luxburg 2007, "A tutorial on spectral clustering", Stat Comput 17:395)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("eigengap", "silhouette")


@dataclass(frozen=True)
class Clusters:
    """Cluster labels 1…k (1 = the largest cluster), the chosen k, how it was chosen, and the
    score of every k tried (eigengap or mean silhouette width)."""

    labels: np.ndarray
    n_clusters: int
    method: str
    scores: dict[int, float] = field(default_factory=dict)


def _without_diagonal(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=float).copy()
    np.fill_diagonal(W, 0.0)
    return (W + W.T) / 2.0


def laplacian_spectrum(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the symmetric normalised Laplacian
    ``I − D^-1/2 W D^-1/2`` of ``W`` with its diagonal (self-similarity) set to 0."""
    A = _without_diagonal(W)
    deg = A.sum(axis=1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    L = np.eye(len(A)) - inv[:, None] * A * inv[None, :]
    values, vectors = np.linalg.eigh((L + L.T) / 2.0)
    return values, vectors


def eigengaps(W: np.ndarray, k_range: tuple[int, int] = (2, 8)) -> dict[int, float]:
    """``{k: λ_{k+1} − λ_k}`` for k in ``k_range`` (inclusive), λ the Laplacian's ascending eigenvalues.

    A large gap after the k-th eigenvalue says the network has about k loosely joined parts.
    """
    lo, hi = _check_range(k_range, len(W))
    values, _ = laplacian_spectrum(W)
    return {k: float(values[k] - values[k - 1]) for k in range(lo, hi + 1)}


def _check_range(k_range: tuple[int, int], n: int) -> tuple[int, int]:
    lo, hi = (int(k) for k in k_range)
    if not 2 <= lo <= hi < n:
        raise ValueError(f"the cluster range must satisfy 2 ≤ low ≤ high < patients ({n}), got {k_range!r}")
    return lo, hi


def _spectral(W: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import SpectralClustering

    model = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed, n_init=10)
    raw = model.fit_predict(_without_diagonal(W))
    # relabel: 1 = largest cluster; ties broken by the first patient in the cluster
    order = sorted(np.unique(raw), key=lambda c: (-(raw == c).sum(), int(np.flatnonzero(raw == c)[0])))
    relabel = {c: i + 1 for i, c in enumerate(order)}
    return np.array([relabel[c] for c in raw], dtype=int)


def similarity_to_distance(W: np.ndarray) -> np.ndarray:
    """``1 − W / max(W off the diagonal)``, 0 on the diagonal: a distance for silhouette widths."""
    A = _without_diagonal(W)
    top = A.max()
    D = 1.0 - A / top if top > 0 else np.ones_like(A)
    np.fill_diagonal(D, 0.0)
    return D


def spectral_clusters(
    W: np.ndarray,
    n_clusters: int | None = None,
    *,
    k_range: tuple[int, int] = (2, 8),
    method: str = "eigengap",
    seed: int = 0,
) -> Clusters:
    """Spectral clustering of a fused similarity matrix (scikit-learn, ``affinity="precomputed"``).

    With ``n_clusters`` given, that many clusters (``method`` is then "fixed"). Otherwise k is chosen
    in ``k_range`` by the largest eigengap, or by the highest mean silhouette width of the
    clustering on ``1 − W/max(W)`` (``method="silhouette"``). Ties go to the smaller k. ``seed``
    fixes the k-means step, so the same matrix and seed give the same labels.
    """
    W = np.asarray(W, dtype=float)
    if n_clusters is not None:
        _check_range((n_clusters, n_clusters), len(W))
        return Clusters(_spectral(W, int(n_clusters), seed), int(n_clusters), "fixed")
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if method == "eigengap":
        scores = eigengaps(W, k_range)
        k = max(scores, key=lambda j: (scores[j], -j))
        return Clusters(_spectral(W, k, seed), k, method, scores)
    from sklearn.metrics import silhouette_score

    lo, hi = _check_range(k_range, len(W))
    D = similarity_to_distance(W)
    labelled = {k: _spectral(W, k, seed) for k in range(lo, hi + 1)}
    scores = {
        k: float(silhouette_score(D, lab, metric="precomputed")) if len(np.unique(lab)) > 1 else -1.0
        for k, lab in labelled.items()
    }
    k = max(scores, key=lambda j: (scores[j], -j))
    return Clusters(labelled[k], k, method, scores)
