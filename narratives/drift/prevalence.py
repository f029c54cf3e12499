"""Prevalence: the share of each period's documents (or passages) carrying each topic, overall
and per outlet, with a Wilson 95% interval.

A document counts once per topic it carries. Every calendar period between the first and the
last is present, so an empty period shows as an empty period (share null). Documents without a
date cannot be placed in a period: they are left out (and counted by ``undated_documents``).
"""

from __future__ import annotations

import polars as pl

from narratives.drift.periods import ALL_SOURCES, calendar, period_start, resolve_period
from narratives.drift.stats import wilson_interval
from narratives.schemas import UNKNOWN_SOURCE


def compute_prevalence(
    documents: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    period: str = "month",
    by_source: bool = True,
    unit: str = "document",
    small_period_docs: int = 10,
    passages: pl.DataFrame | None = None,
    topic_ids: pl.Series | None = None,
) -> pl.DataFrame:
    """Share of each period's documents (or passages) carrying each topic, overall and per outlet.

    With ``unit="passage"`` the counts are passages and the columns are named ``n_passages``
    and ``n_period_passages``. ``assignments`` may hold several topics per passage (narrative
    tags); then ``passages`` (passage_id, doc_id) gives the passages a period has, and
    ``topic_ids`` every topic to report, those carried by nothing included.
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
        population = assignments if passages is None else passages
        units = population.lazy().select("doc_id").join(dated, on="doc_id")
        carried = assignments.lazy().select("doc_id", "topic_id")
    carried = carried.join(dated, on="doc_id")
    totals = _by_views(units, by_source, ["period", "source"], "n_period")
    counts = _by_views(carried, by_source, ["period", "source", "topic_id"], "n")
    if topic_ids is None:
        topic_ids = assignments["topic_id"]
    grid = _grid(dated, totals, counts, topic_ids, period)
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


def _grid(
    dated: pl.LazyFrame,
    totals: pl.LazyFrame,
    counts: pl.LazyFrame,
    topic_ids: pl.Series,
    period: str,
) -> pl.DataFrame:
    """Every (period, source, topic) from the first to the last period, with its counts (0 where
    none): the rows of the prevalence table, so an empty period is a row too."""
    bounds = dated.select(
        pl.col("period").min().alias("first"), pl.col("period").max().alias("last")
    ).collect()
    topics = pl.DataFrame(topic_ids.alias("topic_id").unique().sort())
    sources = totals.select("source").unique().collect()
    if bounds["first"][0] is None:
        all_periods = pl.Series("period", [], dtype=pl.Date)
    else:
        all_periods = calendar(bounds["first"][0], bounds["last"][0], period)
    return (
        pl.DataFrame(all_periods)
        .join(sources, how="cross")
        .join(topics, how="cross")
        .lazy()
        .join(totals, on=["period", "source"], how="left")
        .join(counts, on=["period", "source", "topic_id"], how="left")
        .with_columns(pl.col("n", "n_period").fill_null(0).cast(pl.UInt32))
        .sort("source", "topic_id", "period")
        .collect()
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
