"""Affinity networks and similarity network fusion (Wang et al. 2014, Nature Methods 11:333).

The kernel and the fusion follow the published reference implementations (SNFtool in R/MATLAB
and its Python port snfpy 0.2.2) so that our numbers can be checked against them:

- :func:`affinity` turns a distance matrix ``D`` into ``W[i, j] = φ(D[i, j]; 0, μ·ε[i, j])``, the
  normal density at ``D[i, j]`` with scale ``μ·ε[i, j]``, where ``ε[i, j] = (d̄_i + d̄_j + D[i, j]) / 3``
  and ``d̄_i`` is the mean distance from ``i`` to its ``K`` nearest neighbours. The paper writes the
  kernel as ``exp(−D²/(μ ε))``; the implementations use the density, which differs by a
  pair-dependent factor, and we follow them.
- :func:`fuse` row-normalises each affinity and symmetrises it (``P``), keeps each patient's
  ``K`` strongest edges (``S``, row-normalised, self and ties included), then for ``t`` iterations updates
  every network at once by ``P_v ← S_v · mean_{u≠v}(P_u) · S_vᵀ + α·I`` (symmetrised). The fused
  matrix is the mean of the ``P_v``, row-normalised, symmetrised with 1/2 on the diagonal.

Per-modality weights generalise the means to weighted means (equal weights give the published
algorithm exactly); a weight of 0 leaves a modality out. With one modality there is nothing to
fuse, and the result is that modality's final normalisation alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

EPS = np.spacing(1.0)


def _check_square(name: str, m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError(f"{name} has a missing or infinite value")
    return m


def _check_k(K: int, n: int) -> None:
    if not (isinstance(K, int | np.integer) and 1 <= K < n):
        raise ValueError(f"K must be an integer from 1 to {n - 1} (patients − 1), got {K!r}")


def affinity(distance: np.ndarray, *, K: int = 20, mu: float = 0.5) -> np.ndarray:
    """The scaled exponential (normal-density) kernel of a distance matrix; see the module notes.

    ``K`` (1 ≤ K < N) is the neighbourhood that sets each patient's local scale and ``mu`` (> 0,
    0.3–0.8 recommended by the authors) widens or narrows the kernel. The input is symmetrised
    first and its diagonal set to 0.
    """
    D = _check_square("distance", distance).copy()
    _check_k(K, len(D))
    if not mu > 0:
        raise ValueError(f"mu must be positive, got {mu!r}")
    D = (D + D.T) / 2.0
    np.fill_diagonal(D, 0.0)
    # mean distance to the K nearest others; column 0 of each sorted row is the patient itself
    local = np.sort(D, axis=1)[:, 1 : K + 1].mean(axis=1) + EPS
    eps = (local[:, None] + local[None, :] + D) / 3.0
    eps = np.where(eps > EPS, eps, 0.0) + EPS
    scale = mu * eps
    W = np.exp(-0.5 * (D / scale) ** 2) / (np.sqrt(2.0 * np.pi) * scale)
    return (W + W.T) / 2.0


def _row_normalise(W: np.ndarray) -> np.ndarray:
    return W / W.sum(axis=1, keepdims=True)


def _strongest(P: np.ndarray, K: int) -> np.ndarray:
    """Keep each row's K largest entries (the diagonal included) and any tied with the K-th, zero
    the rest, renormalise rows. Keeping ties makes the result independent of patient order (and is
    what snfpy's percentile cut does)."""
    kth = -np.partition(-P, K - 1, axis=1)[:, K - 1 : K]
    return _row_normalise(np.where(P >= kth, P, 0.0))


def _weights(weights: Sequence[float] | None, m: int) -> np.ndarray:
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (m,) or (w < 0).any() or not np.isfinite(w).all() or w.sum() == 0:
        raise ValueError(f"weights must be {m} non-negative numbers, not all 0, got {weights!r}")
    return w


def fuse(
    affinities: Sequence[np.ndarray],
    *,
    K: int = 20,
    iterations: int = 20,
    alpha: float = 1.0,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Similarity network fusion of ``m`` affinity matrices over the same patients, same order.

    ``K`` is the number of neighbours kept in each local network, ``iterations`` the number of
    cross-diffusion steps, ``alpha`` the self-similarity added each step, ``weights`` one
    non-negative number per matrix (default equal). Modalities with weight 0 are dropped before
    fusing. Returns an ``(N, N)`` symmetric matrix whose off-diagonal rows sum to about 1/2.
    """
    mats = [_check_square(f"affinity {i + 1}", a) for i, a in enumerate(affinities)]
    if not mats:
        raise ValueError("fuse needs at least one affinity matrix")
    n = len(mats[0])
    if any(a.shape != (n, n) for a in mats):
        raise ValueError(f"affinity matrices differ in shape: {[a.shape for a in mats]}")
    _check_k(K, n)
    if not (isinstance(iterations, int | np.integer) and iterations >= 0):
        raise ValueError(f"iterations must be a non-negative integer, got {iterations!r}")
    w = _weights(weights, len(mats))
    mats = [a for a, wi in zip(mats, w, strict=True) if wi > 0]
    w = w[w > 0]
    P = np.stack([_row_normalise(a) for a in mats])
    P = (P + P.transpose(0, 2, 1)) / 2.0
    if len(P) > 1:
        # S has about K entries a row: as sparse matrices, S·X·Sᵀ costs O(N²K), not O(N³)
        S = [sparse.csr_matrix(_strongest(p, K)) for p in P]
        eye = alpha * np.eye(n)
        for _ in range(iterations):
            total = np.tensordot(w, P, axes=1)
            new = np.empty_like(P)
            for v in range(len(P)):
                others = (total - w[v] * P[v]) / (w.sum() - w[v])
                half = np.asarray(S[v] @ others)  # S·X; X is symmetric, so (S·X)ᵀ = X·Sᵀ
                step = np.asarray(S[v] @ half.T) + eye
                new[v] = (step + step.T) / 2.0
            P = new
    fused = _row_normalise(np.tensordot(w / w.sum(), P, axes=1))
    return (fused + fused.T + np.eye(n)) / 2.0
