"""Changes in the share series: is a change real rather than noise?

Per view, topic and period: the change in share from the previous non-empty period with a test on
the counts (chi-square, Fisher's exact test when counts are small), p-values adjusted for the
number of tests (Benjamini-Hochberg), the Jensen-Shannon divergence of the whole mix to the
previous period and to a trailing baseline window, change points in each share series (ruptures,
each confirmed by a test of the segments on either side), and a status (new, emerging, stable,
fading, gone, no data). ``headline_changes`` picks the rows worth reading first.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from narratives.drift.periods import ALL_SOURCES
from narratives.drift.settings import DriftSettings
from narratives.drift.stats import (
    benjamini_hochberg,
    jensen_shannon,
    two_proportion_test,
)
from narratives.schemas import DRIFT

STATUSES = ("new", "emerging", "stable", "fading", "gone", "no data")


def _count_columns(prevalence: pl.DataFrame) -> tuple[str, str]:
    if "n_docs" in prevalence.columns:
        return "n_docs", "n_period_docs"
    return "n_passages", "n_period_passages"


def compute_drift(prevalence: pl.DataFrame, settings: DriftSettings | None = None) -> pl.DataFrame:
    """Period-to-period change of every topic's share in every view, tested and classified."""
    settings = settings or DriftSettings()
    count, total = _count_columns(prevalence)
    parts = []
    for (source,), view in prevalence.group_by(["source"], maintain_order=True):
        parts.append(_view_drift(source, view, count, total, settings))
    if not parts:
        return pl.DataFrame(schema=DRIFT)
    frame = pl.concat(parts)
    adjusted = benjamini_hochberg(frame["p_value"].to_numpy())
    change_adjusted = benjamini_hochberg(frame["change_p_value"].to_numpy())
    frame = frame.with_columns(
        pl.Series("p_adjusted", adjusted).fill_nan(None),
        pl.Series("change_p_value", change_adjusted).fill_nan(None),
    )
    frame = frame.with_columns(
        (pl.col("change_point") & (pl.col("change_p_value") < settings.alpha)).fill_null(False)
    )
    frame = frame.with_columns(_status(settings).alias("status"))
    return frame.select(list(DRIFT)).cast(dict(DRIFT))


def _wide(view: pl.DataFrame, values: str) -> tuple[pl.Series, list, np.ndarray]:
    """(periods, topic columns, periods x topics matrix of ``values``)."""
    wide = view.pivot(on="topic_id", index="period", values=values, sort_columns=True)
    wide = wide.sort("period")
    columns = [c for c in wide.columns if c != "period"]
    return wide["period"], columns, wide.select(columns).to_numpy().astype(float)


def _view_drift(
    source: str, view: pl.DataFrame, count: str, total: str, settings: DriftSettings
) -> pl.DataFrame:
    """Drift of one view: matrices periods x topics, every statistic computed column-wise.

    A view with estimated shares (columns share_raw, se_sampling, se_calibration: the catalogued
    narratives, corrected for the detector's errors) is tested on those shares and their
    standard errors instead of the counts; a counted narrative (method cc: no standard errors)
    keeps the tests of the counts."""
    periods, topic_columns, k = _wide(view, count)
    k = np.nan_to_num(k)
    n = view.select("period", total).unique("period").sort("period")[total].to_numpy().astype(float)
    n_periods, n_topics = k.shape
    observed = n > 0
    previous = _previous_observed(observed)
    has_prev = previous >= 0
    prev_index = np.where(has_prev, previous, 0)
    estimated = _estimated(view, k, n) if "share_raw" in view.columns else None
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(observed[:, None], k / n[:, None], np.nan)
    if estimated is not None:
        share = np.where(observed[:, None], estimated[0], np.nan)
    change = np.where(has_prev[:, None], share - share[prev_index], np.nan)
    p_value = np.full(k.shape, np.nan)
    rows = np.flatnonzero(observed & has_prev)
    counted = np.ones(n_topics, dtype=bool) if estimated is None else estimated[3]
    if rows.size:
        k1, n1 = k[rows], np.repeat(n[rows, None], n_topics, axis=1)
        k0 = k[prev_index[rows]]
        n0 = np.repeat(n[prev_index[rows], None], n_topics, axis=1)
        p_value[rows] = two_proportion_test(k1, n1, k0, n0)
    if rows.size and not counted.all():
        se = np.hypot(estimated[1], estimated[2])
        tested = z_test(share[rows], se[rows], share[prev_index[rows]], se[prev_index[rows]])
        p_value[rows] = np.where(counted, p_value[rows], tested)
    mix = k if estimated is None else np.nan_to_num(share) * n[:, None]
    jsd_prev = np.full(n_periods, np.nan)
    jsd_prev[rows] = jensen_shannon(mix[rows], mix[prev_index[rows]])
    jsd_base = _jsd_to_baseline(mix, observed, settings.baseline_periods)
    change_point, change_p = _change_points(k, n, observed, settings.change_point_penalty)
    if not counted.all():
        flags, flag_p = _estimated_change_points(
            share, estimated[1], estimated[2], observed, settings.change_point_penalty
        )
        change_point = np.where(counted, change_point, flags)
        change_p = np.where(counted, change_p, flag_p)
    seen_before = np.cumsum(k, axis=0) - k > 0
    seen_after = np.cumsum(k[::-1], axis=0)[::-1] - k > 0
    return pl.DataFrame(
        {
            "source": source,
            "topic_id": np.tile(np.asarray(topic_columns, dtype=np.int32), n_periods),
            "period": np.repeat(periods.to_numpy(), n_topics),
            "n_docs": k.ravel().astype(np.uint32),
            "n_period_docs": np.repeat(n, n_topics).astype(np.uint32),
            "share": share.ravel(),
            "share_change": change.ravel(),
            "jsd_to_previous": np.repeat(jsd_prev, n_topics),
            "jsd_to_baseline": np.repeat(jsd_base, n_topics),
            "p_value": p_value.ravel(),
            "change_point": change_point.ravel(),
            "change_p_value": change_p.ravel(),
            "_has_prev": np.repeat(has_prev, n_topics),
            "_seen_before": seen_before.ravel(),
            "_seen_after": seen_after.ravel(),
            "_prev_docs": np.where(has_prev[:, None], k[prev_index], 0).ravel(),
            "small_period": np.repeat(n < settings.small_period_docs, n_topics),
        },
        nan_to_null=True,
    )


def _estimated(
    view: pl.DataFrame, k: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(share, sampling se, calibration se) matrices of a view with estimated shares, and which
    columns are counted (method cc: no se in any period, tested on their counts); counted cells
    get the binomial se of their share and no calibration se."""
    share = _wide(view, "share")[2]
    sampling = _wide(view, "se_sampling")[2]
    counted = np.isnan(sampling).all(axis=0)
    calibration = _wide(view, "se_calibration")[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        tag_share = k / n[:, None]
        binomial = np.sqrt(np.clip(tag_share * (1 - tag_share), 1e-12, None) / n[:, None])
    share = np.where(np.isnan(share), tag_share, share)
    sampling = np.where(np.isnan(sampling), binomial, sampling)
    calibration = np.nan_to_num(calibration)
    return share, sampling, calibration, counted


def z_test(s1: np.ndarray, se1: np.ndarray, s0: np.ndarray, se0: np.ndarray) -> np.ndarray:
    """Two-sided p-value that two estimated shares are equal, from their standard errors
    (NaN where neither has an error to compare with)."""
    from scipy.stats import norm

    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(s1 - s0) / np.sqrt(se1**2 + se0**2)
    return np.where(np.isfinite(z), 2 * norm.sf(z), np.nan)


def _estimated_change_points(
    share: np.ndarray,
    sampling: np.ndarray,
    calibration: np.ndarray,
    observed: np.ndarray,
    penalty: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Level shifts in each estimated share series: the same segmentation as for counts, on the
    shares in units of their standard error, each break confirmed by a z-test of the segment
    means. A segment mean's error keeps the calibration error whole (the same detector reads
    every period) and averages the sampling error down."""
    flags = np.zeros(share.shape, dtype=bool)
    p_values = np.full(share.shape, np.nan)
    rows = np.flatnonzero(observed)
    if rows.size < 4:
        return flags, p_values
    import ruptures

    for topic in range(share.shape[1]):
        series = share[rows, topic]
        noise = np.hypot(sampling[rows, topic], calibration[rows, topic])
        if not np.isfinite(series).all() or np.ptp(series) == 0 or not (noise > 0).all():
            continue
        algorithm = ruptures.KernelCPD(kernel="linear", min_size=2)
        breaks = algorithm.fit((series / noise).reshape(-1, 1)).predict(
            pen=penalty * np.log(rows.size)
        )
        breaks = [0, *(int(b) for b in breaks)]
        for start, at, end in zip(breaks[:-2], breaks[1:-1], breaks[2:], strict=True):
            before, after = slice(start, at), slice(at, end)
            se = [
                np.hypot(
                    calibration[rows[part], topic].mean(),
                    np.sqrt((sampling[rows[part], topic] ** 2).mean() / (part.stop - part.start)),
                )
                for part in (before, after)
            ]
            p = z_test(series[after].mean(), se[1], series[before].mean(), se[0])
            flags[rows[at], topic] = True
            p_values[rows[at], topic] = float(p)
    return flags, p_values


def _previous_observed(observed: np.ndarray) -> np.ndarray:
    """Index of the previous period with documents, -1 where there is none."""
    index = np.where(observed, np.arange(observed.size), -1)
    running = np.maximum.accumulate(index)
    previous = np.full(observed.size, -1)
    previous[1:] = running[:-1]
    return previous


def _jsd_to_baseline(k: np.ndarray, observed: np.ndarray, window: int) -> np.ndarray:
    """JSD of each period's mix to the pooled mix of up to ``window`` earlier non-empty periods."""
    result = np.full(k.shape[0], np.nan)
    observed_rows = np.flatnonzero(observed)
    cumulative = np.vstack([np.zeros(k.shape[1]), np.cumsum(k[observed_rows], axis=0)])
    for position, row in enumerate(observed_rows):
        if position == 0:
            continue
        start = max(0, position - window)
        baseline = cumulative[position] - cumulative[start]
        result[row] = jensen_shannon(k[row], baseline)[0]
    return result


def _change_points(
    k: np.ndarray, n: np.ndarray, observed: np.ndarray, penalty: float
) -> tuple[np.ndarray, np.ndarray]:
    """Level shifts in each topic's share series (ruptures, exact penalised segmentation with the
    l2 cost through its C implementation, KernelCPD with a linear kernel, on the non-empty periods).

    The cost is the squared error of the shares weighted by their binomial precision, so the
    penalty is in units of sampling noise; each break is then tested: pooled counts of the segment
    before against the segment after.
    """
    flags = np.zeros(k.shape, dtype=bool)
    p_values = np.full(k.shape, np.nan)
    rows = np.flatnonzero(observed)
    if rows.size < 4:
        return flags, p_values
    import ruptures

    n_obs = n[rows]
    for topic in range(k.shape[1]):
        counts = k[rows, topic]
        if counts.sum() == 0 or counts.sum() == n_obs.sum():
            continue
        pooled = counts.sum() / n_obs.sum()
        noise = np.sqrt(pooled * (1 - pooled) / n_obs)
        signal = (counts / n_obs) / noise
        algorithm = ruptures.KernelCPD(kernel="linear", min_size=2).fit(signal.reshape(-1, 1))
        breaks = [0, *(int(b) for b in algorithm.predict(pen=penalty * np.log(rows.size)))]
        for before_start, at, after_end in zip(breaks[:-2], breaks[1:-1], breaks[2:], strict=True):
            p = two_proportion_test(
                counts[at:after_end].sum(),
                n_obs[at:after_end].sum(),
                counts[before_start:at].sum(),
                n_obs[before_start:at].sum(),
            )
            flags[rows[at], topic] = True
            p_values[rows[at], topic] = float(p)
    return flags, p_values


def _status(settings: DriftSettings) -> pl.Expr:
    significant = pl.col("p_adjusted") < settings.alpha
    return (
        pl.when(pl.col("n_period_docs") == 0)
        .then(pl.lit("no data"))
        .when(
            pl.col("_has_prev") & ~pl.col("_seen_before") & (pl.col("n_docs") >= settings.min_docs)
        )
        .then(pl.lit("new"))
        .when(
            (pl.col("n_docs") == 0)
            & (pl.col("_prev_docs") >= settings.min_docs)
            & ~pl.col("_seen_after")
        )
        .then(pl.lit("gone"))
        .when(significant & (pl.col("share_change") >= settings.min_change))
        .then(pl.lit("emerging"))
        .when(significant & (pl.col("share_change") <= -settings.min_change))
        .then(pl.lit("fading"))
        .otherwise(pl.lit("stable"))
    )


HEADLINE_STATUSES = ("new", "gone", "emerging", "fading")
CHANGE_COLUMNS = (
    "status",
    "change_point",
    "share",
    "share_change",
    "p_adjusted",
    "change_p_value",
    "n_docs",
    "n_period_docs",
    "small_period",
)
"""The columns a change is read with: its status, share, change and tests."""


def is_headline() -> pl.Expr:
    """A drift row worth reading first: a new, gone, emerging or fading topic, or a confirmed
    change point."""
    return pl.col("status").is_in(HEADLINE_STATUSES) | pl.col("change_point")


def headline_changes(
    drift: pl.DataFrame,
    labels: pl.DataFrame,
    *,
    source: str = ALL_SOURCES,
    limit: int = 10,
    key: str = "topic_id",
) -> pl.DataFrame:
    """The changes worth reading first: new, gone, emerging, fading and confirmed change points
    of one view, largest share change first, with their labels.

    ``labels`` has ``key`` (topic_id, or narrative_id for the narrative drift table) and
    ``label``; the outliers (topic -1) are left out."""
    rows = drift.filter((pl.col("source") == source) & is_headline())
    if key == "topic_id":
        rows = rows.filter(pl.col("topic_id") >= 0)
    return (
        rows.join(labels.select(key, "label"), on=key, how="left")
        .sort(pl.col("share_change").abs(), descending=True, nulls_last=True)
        .head(limit)
        .select("period", key, "label", *CHANGE_COLUMNS)
    )
