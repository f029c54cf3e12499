"""Vectorised statistics for shares and their changes: intervals, tests, corrections, divergence.

Everything works on numpy arrays of counts, one element per test, so that a drift table of
hundreds of thousands of rows is tested without a Python loop per row (the exact test for small
counts loops only over the distinct tables that need it).
"""

from __future__ import annotations

import numpy as np

Z_95 = 1.959963984540054
MIN_EXPECTED = 5.0


def wilson_interval(k: np.ndarray, n: np.ndarray, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (NaN where n == 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def two_proportion_test(
    k1: np.ndarray, n1: np.ndarray, k0: np.ndarray, n0: np.ndarray
) -> np.ndarray:
    """p-value that k1/n1 and k0/n0 share one proportion, per element.

    Pearson's chi-square on the 2x2 table (with Yates' correction) where every expected count is
    at least 5; Fisher's exact test (the exact permutation test of a 2x2 table) otherwise. NaN
    where a table has an empty row or column (nothing to test).
    """
    from scipy.stats import chi2  # imported here: the dashboard starts faster

    k1, n1, k0, n0 = (np.asarray(a, dtype=float) for a in (k1, n1, k0, n0))
    a, b, c, d = k1, n1 - k1, k0, n0 - k0
    total = a + b + c + d
    rows = np.stack([a + b, c + d])
    cols = np.stack([a + c, b + d])
    testable = (rows > 0).all(axis=0) & (cols > 0).all(axis=0)
    p = np.full(a.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (
            np.minimum.reduce(
                [rows[0] * cols[0], rows[0] * cols[1], rows[1] * cols[0], rows[1] * cols[1]]
            )
            / total
        )
        large = testable & (expected >= MIN_EXPECTED)
        diff = np.maximum(np.abs(a * d - b * c) - total / 2, 0.0)
        stat = total * diff**2 / (rows[0] * rows[1] * cols[0] * cols[1])
    p[large] = chi2.sf(stat[large], df=1)
    small = np.flatnonzero(testable & ~large)
    if small.size:
        tables = np.stack([a.flat[small], b.flat[small], c.flat[small], d.flat[small]], axis=1)
        unique, inverse = np.unique(tables, axis=0, return_inverse=True)
        p.flat[small] = fisher_two_sided(unique)[inverse.ravel()]
    return p


FISHER_GRID = 4096
"""Widest hypergeometric support evaluated at once; a wider table goes to scipy's fisher_exact."""


def fisher_two_sided(tables: np.ndarray) -> np.ndarray:
    """Fisher's exact two-sided p-value of each 2x2 table ``[a, b, c, d]`` (rows of ``tables``),
    as scipy.stats.fisher_exact computes it, vectorised: with the margins fixed, ``a`` is
    hypergeometric, and the p-value sums the probabilities of every table at most as likely as
    the observed one (relative tolerance 1e-7)."""
    from scipy.special import gammaln
    from scipy.stats import fisher_exact

    t = np.asarray(tables, dtype=float).reshape(-1, 4)
    a, b, c, d = t.T
    row, col, total = a + b, a + c, a + b + c + d
    low = np.maximum(0.0, col - (total - row))
    high = np.minimum(row, col)
    width = (high - low).astype(np.int64) + 1
    p = np.empty(len(t))
    narrow = width <= FISHER_GRID
    for i in np.flatnonzero(~narrow):
        p[i] = fisher_exact([[a[i], b[i]], [c[i], d[i]]])[1]
    rows = np.flatnonzero(narrow)
    for start in range(0, rows.size, 2048):
        idx = rows[start : start + 2048]
        grid = low[idx, None] + np.arange(width[idx].max())[None, :]
        valid = grid <= high[idx, None]
        x = np.where(valid, grid, low[idx, None])

        def logpmf(k: np.ndarray, i: np.ndarray = idx) -> np.ndarray:
            n, m, size = row[i, None], col[i, None], total[i, None]
            return (
                gammaln(n + 1)
                - gammaln(k + 1)
                - gammaln(n - k + 1)
                + gammaln(size - n + 1)
                - gammaln(m - k + 1)
                - gammaln(size - n - m + k + 1)
                - gammaln(size + 1)
                + gammaln(m + 1)
                + gammaln(size - m + 1)
            )

        observed = logpmf(a[idx, None])
        probabilities = np.exp(logpmf(x))
        keep = valid & (probabilities <= np.exp(observed) * (1 + 1e-7))
        p[idx] = np.minimum((probabilities * keep).sum(axis=1), 1.0)
    return p


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if valid.size == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted[order] = np.minimum(ranked, 1.0)
    return adjusted


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between rows of count or share matrices.

    Rows are normalised first; a row that sums to zero gives NaN.
    """
    p = np.atleast_2d(np.asarray(p, dtype=float))
    q = np.atleast_2d(np.asarray(q, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / p.sum(axis=1, keepdims=True)
        q = q / q.sum(axis=1, keepdims=True)
        m = 0.5 * (p + q)
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=1)
    return np.clip(0.5 * kl_p + 0.5 * kl_q, 0.0, 1.0)
