"""Shares corrected for the detector's errors, with intervals that carry them.

Counting tags (classify and count, ``cc``) biases every share by the detector's errors, most for
rare narratives: a true 1% read by a detector with 90% recall and 5% false positives is about
6%. The corrections of the quantification literature, for a narrative with measured rates:

- ``acc`` (adjusted classify and count, Forman 2008): (tagged share - FPR) / (TPR - FPR);
- ``pcc`` (probabilistic classify and count): the mean posterior P(carries);
- ``pacc`` (probabilistic adjusted, Bella et al. 2010): (mean posterior - m0) / (m1 - m0), m1 and
  m0 the mean posteriors of labelled positives and negatives;

each clipped to [0, 1]. These closed forms are what QuaPy's ACC, PCC and PACC compute for two
classes (the tests check them against QuaPy; benchmarks/shares.py compares them and EM
(Saerens et al. 2002) through QuaPy). They are evaluated here for every period x outlet cell at
once, with a bootstrap over the cell's documents and the labelled items together, so an interval
widens where the detector is unsure or its calibration is thin. The tag shares and the rates are
drawn from their Jeffreys posteriors, Beta(k + 1/2, n - k + 1/2), rather than resampled: a cell
with no tag, or a narrative with no false positive among its labelled negatives, keeps an
honest upper bound instead of collapsing to a point. ``se_sampling`` and ``se_calibration``
split the uncertainty into its two parts.
"""

from __future__ import annotations

import numpy as np

from narratives.shares.rates import ErrorRates

METHODS = ("cc", "acc", "pcc", "pacc")
DEFAULT_METHOD = "acc"
"""Chosen by measurement (benchmarks/README.md, "Narrative shares"): close to pacc on held-out
dev items, and the only correction that stays right on a whole corpus, whose documents (long
teasers, other outlets, other years) score unlike the labelled headlines the posterior was
fitted on; acc needs only the tag decision's error rates."""


def estimate(
    method: str,
    n: np.ndarray,
    tagged: np.ndarray,
    posterior_sum: np.ndarray,
    posterior_sq_sum: np.ndarray,
    rates: ErrorRates,
    *,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Share, interval and the two standard errors of every cell of one narrative.

    ``n`` documents per cell, ``tagged`` of them tagged, ``posterior_sum`` and
    ``posterior_sq_sum`` the sums of their posteriors and squared posteriors. A cell without
    documents gets NaN.
    """
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = tagged / n
        mean_p = posterior_sum / n
        var_p = np.maximum(posterior_sq_sum / n - mean_p**2, 0.0)
    point = _correct(method, q, mean_p, rates.tpr, rates.fpr, *_means(rates))
    rng = np.random.default_rng(seed)
    cells = (n_bootstrap, len(n))
    safe_n = np.maximum(n, 1)
    sample_q = _jeffreys(np.nan_to_num(tagged), safe_n, cells, rng)
    sample_p = mean_p + rng.standard_normal(cells) * np.sqrt(var_p / safe_n)
    tpr_b, fpr_b, m1_b, m0_b = _calibration_draws(rates, n_bootstrap, rng)
    fixed = (rates.tpr, rates.fpr, *_means(rates))
    both = _correct(method, sample_q, sample_p, tpr_b, fpr_b, m1_b, m0_b)
    sampling = _correct(method, sample_q, sample_p, *fixed)
    calibration = _correct(method, q, mean_p, tpr_b, fpr_b, m1_b, m0_b)
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(both, [tail, 1 - tail], axis=0)
    empty = n == 0
    point = np.where(np.isnan(point), np.clip(q, 0, 1), point)
    return {
        "share": np.where(empty, np.nan, point),
        "ci_low": np.where(empty, np.nan, np.minimum(low, point)),
        "ci_high": np.where(empty, np.nan, np.maximum(high, point)),
        "se_sampling": np.where(empty, np.nan, np.nanstd(sampling, axis=0)),
        "se_calibration": np.where(empty, np.nan, np.nanstd(calibration, axis=0)),
    }


def _means(rates: ErrorRates) -> tuple[float, float]:
    return rates.mean_posterior_positive, rates.mean_posterior_negative


def _correct(method: str, q, mean_p, tpr, fpr, m1, m0) -> np.ndarray:
    """The ``method``'s share from tagged shares ``q`` and mean posteriors, clipped to [0, 1];
    the rates broadcast (scalars, or one draw per bootstrap row)."""
    tpr, fpr, m1, m0 = (np.asarray(v, dtype=float) for v in (tpr, fpr, m1, m0))
    if tpr.ndim:
        tpr, fpr, m1, m0 = (v[:, None] for v in (tpr, fpr, m1, m0))
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "cc":
            value = q
        elif method == "acc":
            value = (q - fpr) / np.where(tpr - fpr > 1e-9, tpr - fpr, np.nan)
        elif method == "pcc":
            value = mean_p
        elif method == "pacc":
            value = (mean_p - m0) / np.where(m1 - m0 > 1e-9, m1 - m0, np.nan)
        else:
            raise ValueError(f"unknown method {method!r} (choose one of {', '.join(METHODS)})")
    return np.clip(value, 0.0, 1.0)


def _calibration_draws(
    rates: ErrorRates, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Bootstrap draws of the rates: the tag rates from their Jeffreys posteriors on the labelled
    items, the mean posteriors normally (their spread over items is a Bernoulli's at most)."""
    n_pos, n_neg = max(rates.n_positives, 1), max(rates.n_negatives, 1)
    tpr = _jeffreys(np.nan_to_num(rates.tpr) * n_pos, n_pos, size, rng)
    fpr = _jeffreys(np.nan_to_num(rates.fpr) * n_neg, n_neg, size, rng)
    m1, m0 = (np.nan_to_num(v) for v in _means(rates))
    m1_b = m1 + rng.standard_normal(size) * np.sqrt(m1 * (1 - m1) / n_pos)
    m0_b = m0 + rng.standard_normal(size) * np.sqrt(m0 * (1 - m0) / n_neg)
    return tpr, fpr, m1_b, m0_b


def _jeffreys(k, n, size, rng: np.random.Generator) -> np.ndarray:
    """Draws of a proportion with ``k`` successes in ``n`` from its Jeffreys posterior."""
    k = np.clip(np.asarray(k, dtype=float), 0, n)
    return rng.beta(k + 0.5, np.asarray(n, dtype=float) - k + 0.5, size=size)
