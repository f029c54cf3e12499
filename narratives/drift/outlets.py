"""Outlet comparison: each outlet's narrative mix against all other outlets, overall and per period.

For every outlet and topic: the share of the outlet's documents carrying the topic, the same share
among all other outlets' documents, their ratio (lift), a test on the counts (chi-square, Fisher's
exact test when counts are small; Benjamini-Hochberg adjusted), and whether the topic is over- or
under-represented. The Jensen-Shannon divergence of the outlet's whole mix to the others' mix says
how different the outlet is overall.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from narratives.drift.periods import period_start, resolve_period
from narratives.drift.stats import benjamini_hochberg, jensen_shannon, two_proportion_test
from narratives.schemas import OUTLETS, UNKNOWN_SOURCE


def compare_outlets(
    documents: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    period: str | None = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Each outlet against all others; ``period`` adds one comparison per period (period null =
    the whole corpus, always included)."""
    carried = assignments.select("doc_id", "topic_id").unique()
    docs = documents.select("doc_id", pl.col("source").fill_null(UNKNOWN_SOURCE), "date")
    frames = [_compare(docs.with_columns(pl.lit(None, dtype=pl.Date).alias("period")), carried)]
    if period is not None:
        period = resolve_period(period, documents)
        dated = docs.filter(pl.col("date").is_not_null()).with_columns(period_start(period))
        frames.append(_compare(dated, carried))
    frame = pl.concat([f for f in frames if f.height])
    if frame.is_empty():
        return pl.DataFrame(schema=OUTLETS)
    adjusted = benjamini_hochberg(frame["p_value"].to_numpy())
    significant = pl.col("p_adjusted") < alpha
    representation = (
        pl.when(significant & (pl.col("share") > pl.col("share_others")))
        .then(pl.lit("over"))
        .when(significant & (pl.col("share") < pl.col("share_others")))
        .then(pl.lit("under"))
        .otherwise(pl.lit("as expected"))
    )
    return (
        frame.with_columns(pl.Series("p_adjusted", adjusted).fill_nan(None))
        .with_columns(representation.alias("representation"))
        .select(list(OUTLETS))
        .cast(dict(OUTLETS))
        .sort("period", "source", "topic_id", nulls_last=False)
    )


def _compare(docs: pl.DataFrame, carried: pl.DataFrame) -> pl.DataFrame:
    """Outlet-vs-rest statistics within each value of ``period`` (null = whole corpus)."""
    totals = docs.group_by("period", "source").agg(pl.len().alias("n_source_docs"))
    counts = (
        carried.join(docs, on="doc_id")
        .group_by("period", "source", "topic_id")
        .agg(pl.len().alias("n_docs"))
    )
    topics = carried.select("topic_id").unique()
    grid = (
        totals.join(topics, how="cross")
        .join(counts, on=["period", "source", "topic_id"], how="left", nulls_equal=True)
        .with_columns(pl.col("n_docs").fill_null(0))
        .with_columns(
            pl.col("n_docs").sum().over("period", "topic_id").alias("_topic_total"),
            pl.col("n_source_docs").sum().over("period", "topic_id").alias("_docs_total"),
        )
        .with_columns(
            (pl.col("_topic_total") - pl.col("n_docs")).alias("_k_others"),
            (pl.col("_docs_total") - pl.col("n_source_docs")).alias("_n_others"),
        )
        .sort("period", "source", "topic_id", nulls_last=False)
    )
    if grid.is_empty():
        return grid
    k1, n1 = grid["n_docs"].to_numpy(), grid["n_source_docs"].to_numpy()
    k0, n0 = grid["_k_others"].to_numpy(), grid["_n_others"].to_numpy()
    p_value = two_proportion_test(k1, n1, k0, n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = k1 / n1
        share_others = np.where(n0 > 0, k0 / np.where(n0 > 0, n0, 1), np.nan)
        lift = np.where(share_others > 0, share / share_others, np.nan)
    grid = grid.with_columns(
        pl.Series("share", share),
        pl.Series("share_others", share_others).fill_nan(None),
        pl.Series("lift", lift).fill_nan(None),
        pl.Series("p_value", p_value).fill_nan(None),
    )
    return grid.join(_divergence(grid), on=["period", "source"], how="left", nulls_equal=True)


def _divergence(grid: pl.DataFrame) -> pl.DataFrame:
    """JSD between each outlet's topic counts and the other outlets' counts, per period."""
    rows = []
    for (period, source), part in grid.group_by(["period", "source"], maintain_order=True):
        part = part.sort("topic_id")
        jsd = jensen_shannon(part["n_docs"].to_numpy(), part["_k_others"].to_numpy())[0]
        rows.append({"period": period, "source": source, "jsd_to_others": float(jsd)})
    return pl.DataFrame(
        rows, schema={"period": pl.Date, "source": pl.String, "jsd_to_others": pl.Float64}
    ).with_columns(pl.col("jsd_to_others").fill_nan(None))
