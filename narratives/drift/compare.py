"""Two sets of counts side by side: two periods, two outlets or two runs, each difference tested.

The Compare and Outlets pages of the dashboard show these; they are computed here so the CLI and
notebooks get the same figures and tests.
"""

from __future__ import annotations

import polars as pl

from narratives.drift.stats import benjamini_hochberg, two_proportion_test

COMPARE_COLUMNS = ["name", "share_a", "share_b", "difference", "p_adjusted", "k", "n", "k_b", "n_b"]
"""The columns a comparison is shown with."""


def compare_counts(
    left: pl.DataFrame, right: pl.DataFrame, *, key: str = "topic_id"
) -> pl.DataFrame:
    """Two sets of counts (k of n per topic) side by side with the difference and its test.

    ``left`` and ``right`` have columns ``key``, ``name``, ``k``, ``n``. The test is the drift
    engine's two-proportion test (chi-square, Fisher's exact test for small counts), adjusted
    over the topics with Benjamini-Hochberg; the largest differences come first.
    """
    both = left.join(right, on=key, how="full", coalesce=True, suffix="_b")
    both = both.with_columns(pl.coalesce("name", "name_b").alias("name")).drop("name_b")
    both = both.with_columns(
        pl.col("k", "k_b").fill_null(0),
        pl.col("n").fill_null(pl.col("n").max()),
        pl.col("n_b").fill_null(pl.col("n_b").max()),
    ).with_columns(
        (pl.col("k") / pl.col("n")).alias("share_a"),
        (pl.col("k_b") / pl.col("n_b")).alias("share_b"),
    )
    if both.is_empty():
        return both
    p = two_proportion_test(
        both["k_b"].to_numpy(), both["n_b"].to_numpy(), both["k"].to_numpy(), both["n"].to_numpy()
    )
    return both.with_columns(
        (pl.col("share_b") - pl.col("share_a")).alias("difference"),
        pl.Series("p_value", p),
        pl.Series("p_adjusted", benjamini_hochberg(p)),
    ).sort(pl.col("difference").abs(), descending=True, nulls_last=True)
