"""Intervals for the counts a report shows: a proportion of reads, a rate of mutations.

Pure arithmetic (no SciPy), so any layer may use it and a report can say where a number comes
from: the allele fraction ``k / n`` with Wilson's score interval, and a count per unit of exposure
(mutations per callable megabase) with the exact Poisson interval.
"""

from __future__ import annotations

import math

#: two-sided 95%: the standard normal's 97.5th percentile
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion of ``k`` successes in ``n`` trials (95% by default).

    Unlike the Wald interval it stays inside [0, 1] and is not empty at ``k = 0`` or ``k = n``,
    which is where few supporting reads leave an allele fraction (Wilson, JASA 1927).
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed in log space."""
    if mu <= 0:
        return 1.0
    total, term = 0.0, -mu
    for i in range(k + 1):
        if i:
            term += math.log(mu) - math.log(i)
        total += math.exp(term)
    return min(1.0, total)


def _solve(f, lo: float, hi: float) -> float:
    """The root of the increasing-or-decreasing ``f`` between ``lo`` and ``hi`` (bisection)."""
    flo = f(lo)
    for _ in range(200):
        mid = (lo + hi) / 2
        if (f(mid) > 0) == (flo > 0):
            lo, flo = mid, f(mid)
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2


def poisson_interval(k: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval for the mean of a Poisson count ``k``.

    The lower bound is the mean at which P(X >= k) = alpha/2 (0 for k = 0); the upper bound
    the mean at which P(X <= k) = alpha/2. Divide both by the exposure for a rate.
    """
    if k < 0:
        raise ValueError(f"a count cannot be negative, got {k}")
    hi_bound = k + 20 * math.sqrt(k + 1) + 20
    upper = _solve(lambda mu: _poisson_cdf(k, mu) - alpha / 2, 0.0, hi_bound)
    lower = 0.0 if k == 0 else _solve(lambda mu: (1 - _poisson_cdf(k - 1, mu)) - alpha / 2, 0.0, hi_bound)
    return lower, upper
