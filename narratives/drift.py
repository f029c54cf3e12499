"""Narrative shares over time and per outlet, and when a change is real rather than noise.

Prevalence: per period x topic x outlet view ("*" = all outlets), the documents carrying the topic
(a document counts once per topic it carries), their share of the period's documents and a Wilson
95% interval; or the same over passages. Every calendar period between the first and the last is
present, so an empty period shows as an empty period (share null), never as a silent gap.

Drift: per view, topic and period, the change in share from the previous non-empty period with a
test on the counts (chi-square, Fisher's exact test when counts are small), p-values adjusted for
the number of tests (Benjamini-Hochberg), the Jensen-Shannon divergence of the whole narrative mix
to the previous period and to a trailing baseline window, change points in each share series
(ruptures, each confirmed by a test of the segments on either side), and a status.

Documents without a date cannot be placed in a period: they are left out and counted
(``undated_documents``), never silently used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from narratives.errors import InputError
from narratives.schemas import UNKNOWN_SOURCE
from narratives.stats import (
    benjamini_hochberg,
    jensen_shannon,
    two_proportion_test,
    wilson_interval,
)

ALL_SOURCES = "*"
PERIODS = ("day", "week", "month", "quarter", "year")
STATUSES = ("new", "emerging", "stable", "fading", "gone", "no data")
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}

PREVALENCE = pl.Schema(
    {
        "period": pl.Date,
        "source": pl.String,
        "topic_id": pl.Int32,
        "n_docs": pl.UInt32,
        "n_period_docs": pl.UInt32,
        "share": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "small_period": pl.Boolean,
    }
)
DRIFT = pl.Schema(
    {
        "source": pl.String,
        "topic_id": pl.Int32,
        "period": pl.Date,
        "n_docs": pl.UInt32,
        "n_period_docs": pl.UInt32,
        "share": pl.Float64,
        "share_change": pl.Float64,
        "jsd_to_previous": pl.Float64,
        "jsd_to_baseline": pl.Float64,
        "p_value": pl.Float64,
        "p_adjusted": pl.Float64,
        "change_point": pl.Boolean,
        "change_p_value": pl.Float64,
        "status": pl.String,
        "small_period": pl.Boolean,
    }
)


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds of the drift engine; every one can be set from the config or the CLI."""

    period: str = "auto"
    by_source: bool = True
    alpha: float = 0.05
    min_change: float = 0.02
    min_docs: int = 3
    small_period_docs: int = 10
    baseline_periods: int = 6
    change_point_penalty: float = 6.0

    def __post_init__(self) -> None:
        if self.period not in ("auto", *PERIODS):
            raise InputError(
                f"period {self.period!r} must be auto or one of {', '.join(PERIODS)}",
                field="period",
            )
        if not 0 < self.alpha < 1:
            raise InputError(f"alpha {self.alpha} must be between 0 and 1", field="alpha")
        if self.min_change < 0:
            raise InputError("min_change must be >= 0", field="min_change")
        if self.baseline_periods < 1:
            raise InputError("baseline_periods must be >= 1", field="baseline_periods")


def choose_period(dates: pl.Series) -> str:
    """A period that gives a readable series for the corpus span: day up to a month, week up to
    half a year, month up to six years, quarter beyond."""
    dates = dates.drop_nulls()
    if dates.is_empty():
        return "month"
    span = (dates.max() - dates.min()).days
    if span <= 31:
        return "day"
    if span <= 183:
        return "week"
    if span <= 6 * 366:
        return "month"
    return "quarter"


def resolve_period(period: str, documents: pl.DataFrame) -> str:
    """``period`` itself, or the one :func:`choose_period` picks for ``auto``."""
    return choose_period(documents["date"]) if period == "auto" else period


def undated_documents(documents: pl.DataFrame) -> int:
    """How many documents have no date (and so no period)."""
    return documents["date"].null_count()


def period_start(period: str, column: str = "date") -> pl.Expr:
    """The first day of the ``period`` (day, week, month, quarter, year) each date falls in."""
    return pl.col(column).dt.truncate(_TRUNCATE[period]).alias("period")


def _calendar(first: date, last: date, period: str) -> pl.Series:
    return pl.date_range(first, last, interval=_TRUNCATE[period], eager=True).alias("period")


def compute_prevalence(
    documents: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    period: str = "month",
    by_source: bool = True,
    unit: str = "document",
    small_period_docs: int = 10,
) -> pl.DataFrame:
    """Share of each period's documents (or passages) carrying each topic, overall and per outlet.

    With ``unit="passage"`` the counts are passages and the columns are named ``n_passages``
    and ``n_period_passages``.
    """
    if unit not in ("document", "passage"):
        raise ValueError(f"unit must be 'document' or 'passage', not {unit!r}")
    period = resolve_period(period, documents)
    dated = (
        documents.lazy()
        .filter(pl.col("date").is_not_null())
        .select(
            "doc_id",
            pl.col("source").fill_null(UNKNOWN_SOURCE),
            period_start(period),
        )
    )
    if unit == "document":
        units = dated
        carried = assignments.lazy().select("doc_id", "topic_id").unique()
    else:
        units = assignments.lazy().select("doc_id").join(dated, on="doc_id")
        carried = assignments.lazy().select("doc_id", "topic_id")
    carried = carried.join(dated, on="doc_id")
    totals = _by_views(units, by_source, ["period", "source"], "n_period")
    counts = _by_views(carried, by_source, ["period", "source", "topic_id"], "n")
    periods = dated.select(
        pl.col("period").min().alias("first"), pl.col("period").max().alias("last")
    )
    bounds = periods.collect()
    topics = assignments.select(pl.col("topic_id").unique().sort())
    sources = totals.select("source").unique().collect()
    if bounds["first"][0] is None:
        calendar = pl.Series("period", [], dtype=pl.Date)
    else:
        calendar = _calendar(bounds["first"][0], bounds["last"][0], period)
    grid = (
        pl.DataFrame(calendar)
        .join(sources, how="cross")
        .join(topics, how="cross")
        .lazy()
        .join(totals, on=["period", "source"], how="left")
        .join(counts, on=["period", "source", "topic_id"], how="left")
        .with_columns(pl.col("n", "n_period").fill_null(0).cast(pl.UInt32))
        .sort("source", "topic_id", "period")
        .collect()
    )
    low, high = wilson_interval(grid["n"].to_numpy(), grid["n_period"].to_numpy())
    share = (pl.col("n") / pl.col("n_period")).cast(pl.Float64)
    frame = grid.with_columns(
        pl.when(pl.col("n_period") > 0).then(share).otherwise(None).alias("share"),
        pl.Series("ci_low", low).fill_nan(None),
        pl.Series("ci_high", high).fill_nan(None),
        (pl.col("n_period") < small_period_docs).alias("small_period"),
    )
    names = (
        ("n_docs", "n_period_docs") if unit == "document" else ("n_passages", "n_period_passages")
    )
    columns = [
        "period",
        "source",
        "topic_id",
        "n",
        "n_period",
        "share",
        "ci_low",
        "ci_high",
        "small_period",
    ]
    return (
        frame.select(columns)
        .rename({"n": names[0], "n_period": names[1]})
        .with_columns(pl.col("topic_id").cast(pl.Int32))
    )


def _by_views(frame: pl.LazyFrame, by_source: bool, keys: list[str], name: str) -> pl.LazyFrame:
    """Counts per ``keys`` over all outlets (source "*") and, with ``by_source``, per outlet."""
    overall = (
        frame.with_columns(pl.lit(ALL_SOURCES).alias("source"))
        .group_by(keys)
        .agg(pl.len().alias(name))
    )
    if not by_source:
        return overall
    per_source = frame.group_by(keys).agg(pl.len().alias(name))
    return pl.concat([overall, per_source.select(overall.collect_schema().names())])


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


def _view_drift(
    source: str, view: pl.DataFrame, count: str, total: str, settings: DriftSettings
) -> pl.DataFrame:
    """Drift of one view: matrices periods x topics, every statistic computed column-wise."""
    wide = view.pivot(on="topic_id", index="period", values=count, sort_columns=True).sort("period")
    periods = wide["period"]
    topic_columns = [c for c in wide.columns if c != "period"]
    k = wide.select(topic_columns).fill_null(0).to_numpy().astype(float)
    n = view.select("period", total).unique("period").sort("period")[total].to_numpy().astype(float)
    n_periods, n_topics = k.shape
    observed = n > 0
    previous = _previous_observed(observed)
    has_prev = previous >= 0
    prev_index = np.where(has_prev, previous, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(observed[:, None], k / n[:, None], np.nan)
    change = np.where(has_prev[:, None], share - share[prev_index], np.nan)
    p_value = np.full(k.shape, np.nan)
    rows = np.flatnonzero(observed & has_prev)
    if rows.size:
        k1, n1 = k[rows], np.repeat(n[rows, None], n_topics, axis=1)
        k0 = k[prev_index[rows]]
        n0 = np.repeat(n[prev_index[rows], None], n_topics, axis=1)
        p_value[rows] = two_proportion_test(k1, n1, k0, n0)
    jsd_prev = np.full(n_periods, np.nan)
    jsd_prev[rows] = jensen_shannon(k[rows], k[prev_index[rows]])
    jsd_base = _jsd_to_baseline(k, observed, settings.baseline_periods)
    change_point, change_p = _change_points(k, n, observed, settings.change_point_penalty)
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


def is_headline() -> pl.Expr:
    """A drift row worth reading first: a new, gone, emerging or fading topic, or a confirmed
    change point."""
    return pl.col("status").is_in(HEADLINE_STATUSES) | pl.col("change_point")


def headline_changes(
    drift: pl.DataFrame, topics: pl.DataFrame, *, source: str = ALL_SOURCES, limit: int = 10
) -> pl.DataFrame:
    """The changes worth reading first: new, gone, emerging, fading and confirmed change points
    of one view, largest share change first, with the topic labels."""
    labels = topics.select("topic_id", "label", "narrative_id")
    return (
        drift.filter((pl.col("source") == source) & (pl.col("topic_id") >= 0) & is_headline())
        .join(labels, on="topic_id", how="left")
        .sort(pl.col("share_change").abs(), descending=True, nulls_last=True)
        .head(limit)
        .select(
            "period",
            "topic_id",
            "label",
            "status",
            "change_point",
            "share",
            "share_change",
            "p_adjusted",
            "change_p_value",
            "n_docs",
            "small_period",
            "n_period_docs",
        )
    )
