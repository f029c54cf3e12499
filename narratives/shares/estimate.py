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
once, with a bootstrap that resamples the cell's documents and the labelled items together, so
an interval widens where the detector is unsure or its calibration is thin. ``se_sampling`` and
``se_calibration`` split the uncertainty into its two parts.
"""

from __future__ import annotations

import numpy as np

from narratives.shares.rates import ErrorRates

METHODS = ("cc", "acc", "pcc", "pacc")
DEFAULT_METHOD = "pacc"
"""Chosen by measurement (benchmarks/README.md, "Narrative shares")."""


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
    sample_q = (
        rng.binomial(safe_n.astype(int), np.nan_to_num(np.clip(q, 0, 1)), size=cells) / safe_n
    )
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
    """Bootstrap draws of the rates: the labelled items resampled (binomially for the tag rates,
    normally for the mean posteriors, whose spread over items is that of a Bernoulli at most)."""
    n_pos, n_neg = max(rates.n_positives, 1), max(rates.n_negatives, 1)
    tpr = rng.binomial(n_pos, np.nan_to_num(rates.tpr), size) / n_pos
    fpr = rng.binomial(n_neg, np.nan_to_num(rates.fpr), size) / n_neg
    m1, m0 = (np.nan_to_num(v) for v in _means(rates))
    m1_b = m1 + rng.standard_normal(size) * np.sqrt(m1 * (1 - m1) / n_pos)
    m0_b = m0 + rng.standard_normal(size) * np.sqrt(m0 * (1 - m0) / n_neg)
    return tpr, fpr, m1_b, m0_b
