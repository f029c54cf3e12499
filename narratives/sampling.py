"""The passages a large corpus is fitted on (``[model] fit_sample``): a sample stratified by
month and outlet, so that every period and every outlet is in the fit in proportion to its size.

BERTopic's own advice for corpora past a few hundred thousand documents is to fit on a sample
and ``transform`` the rest; the rest of a run's passages are then assigned by their nearest
fitted passages (narratives.novelty.TopicAssigner), the rule ``narratives assign`` uses.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def passage_strata(passages: pl.DataFrame, documents: pl.DataFrame) -> pl.Series:
    """Each passage's stratum: its document's month and outlet ("" where missing)."""
    keys = documents.select(
        "doc_id",
        (
            pl.col("date").dt.strftime("%Y-%m").fill_null("")
            + "|"
            + pl.col("source").cast(pl.String).fill_null("")
        ).alias("stratum"),
    )
    joined = passages.select("doc_id").join(keys, on="doc_id", how="left", maintain_order="left")
    return joined["stratum"].fill_null("|")


def stratified_sample(strata: pl.Series, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of ``size`` rows drawn without replacement, allocated to the strata in
    proportion to their sizes (largest remainders first); every row when ``size`` >= rows."""
    n = strata.len()
    if size >= n:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame({"stratum": strata, "key": rng.random(n)}).with_row_index("row")
    counts = frame.group_by("stratum").agg(pl.len().alias("n")).sort("stratum")
    exact = counts["n"].to_numpy() * (size / n)
    quota = np.floor(exact).astype(np.int64)
    short = size - int(quota.sum())
    if short:
        order = np.lexsort((np.arange(len(exact)), -(exact - quota)))
        quota[order[:short]] += 1
    quotas = counts.select("stratum", pl.Series("quota", quota))
    chosen = (
        frame.with_columns(pl.col("key").rank("ordinal").over("stratum").alias("rank"))
        .join(quotas, on="stratum", how="left")
        .filter(pl.col("rank") <= pl.col("quota"))
    )
    return np.sort(chosen["row"].to_numpy().astype(np.int64))
