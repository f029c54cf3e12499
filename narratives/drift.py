"""Narrative shares over time and per outlet, with intervals and tests (polars).

Prevalence counts a document once per topic it carries, as a share of the documents of its period
(and outlet; source "*" is all outlets), with a Wilson 95% interval. Drift compares each period with
the previous one: the change in share, a chi-square test on the counts, the Jensen-Shannon
divergence of the whole narrative mix, and change points in each share series (ruptures).
Documents without a date cannot be placed in a period: they are left out here and counted in the
run record (``n_documents_without_date``).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import chi2_contingency

ALL_SOURCES = "*"
Z_95 = 1.959963984540054
SMALL_PERIOD_DOCS = 5

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
        "share": pl.Float64,
        "share_change": pl.Float64,
        "jsd_to_previous": pl.Float64,
        "p_value": pl.Float64,
        "change_point": pl.Boolean,
        "status": pl.String,
    }
)
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}


def compute_prevalence(
    documents: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    period: str = "month",
    by_source: bool = True,
) -> pl.DataFrame:
    """Share of each period's documents carrying each topic, overall and per outlet."""
    dated = documents.filter(pl.col("date").is_not_null()).select(
        "doc_id", "source", pl.col("date").dt.truncate(_TRUNCATE[period]).alias("period")
    )
    carried = assignments.select("doc_id", "topic_id").unique().join(dated, on="doc_id")
    views = [dated.with_columns(pl.lit(ALL_SOURCES).alias("source"))]
    carried_views = [carried.with_columns(pl.lit(ALL_SOURCES).alias("source"))]
    if by_source:
        views.append(dated)
        carried_views.append(carried)
    totals = (
        pl.concat(views)
        .group_by("period", "source")
        .agg(pl.len().cast(pl.UInt32).alias("n_period_docs"))
    )
    counts = (
        pl.concat(carried_views)
        .group_by("period", "source", "topic_id")
        .agg(pl.len().cast(pl.UInt32).alias("n_docs"))
    )
    topics = assignments.select(pl.col("topic_id").unique())
    grid = totals.join(topics, how="cross").join(
        counts, on=["period", "source", "topic_id"], how="left"
    )
    n = pl.col("n_period_docs").cast(pl.Float64)
    share = pl.col("n_docs").cast(pl.Float64) / n
    centre = (share + Z_95**2 / (2 * n)) / (1 + Z_95**2 / n)
    half = Z_95 / (1 + Z_95**2 / n) * (share * (1 - share) / n + Z_95**2 / (4 * n * n)).sqrt()
    return (
        grid.with_columns(pl.col("n_docs").fill_null(0))
        .with_columns(
            share.alias("share"),
            (centre - half).clip(0.0, 1.0).alias("ci_low"),
            (centre + half).clip(0.0, 1.0).alias("ci_high"),
            (pl.col("n_period_docs") < SMALL_PERIOD_DOCS).alias("small_period"),
        )
        .select(list(PREVALENCE))
        .cast(dict(PREVALENCE))
        .sort("source", "topic_id", "period")
    )


def _chi_square_p(k1: int, n1: int, k0: int, n0: int) -> float:
    table = np.array([[k1, n1 - k1], [k0, n0 - k0]], dtype=float)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return 1.0
    return float(chi2_contingency(table, correction=True)[1])


def _jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float((a[mask] * np.log2(a[mask] / m[mask])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


def _change_points(series: np.ndarray) -> np.ndarray:
    """Periods where the share series shifts level (ruptures PELT, l2 cost, BIC-like penalty)."""
    flags = np.zeros(len(series), dtype=bool)
    if len(series) < 6 or np.allclose(series, series[0]):
        return flags
    import ruptures

    penalty = 2 * np.log(len(series)) * max(float(np.var(series)), 1e-6)
    breaks = ruptures.Pelt(model="l2", min_size=2, jump=1).fit(series).predict(pen=penalty)
    for index in breaks[:-1]:
        flags[index] = True
    return flags


def compute_drift(prevalence: pl.DataFrame, *, alpha: float = 0.05) -> pl.DataFrame:
    """Period-to-period change of each topic's share, with tests, per outlet view.

    p-values are Bonferroni-corrected for the number of tests in the table; a status is
    "new" (absent before, present now), "emerging"/"fading" (significant rise/fall) or "stable".
    """
    rows = []
    for (source,), view in prevalence.group_by(["source"], maintain_order=True):
        wide = view.pivot(on="topic_id", index="period", values="n_docs").sort("period")
        periods = wide["period"].to_list()
        topic_ids = [c for c in wide.columns if c != "period"]
        counts = wide.select(topic_ids).fill_null(0).to_numpy().astype(float)
        totals = (
            view.select("period", "n_period_docs").unique().sort("period")["n_period_docs"]
        ).to_numpy()
        shares = counts / np.maximum(totals[:, None], 1)
        for j, topic in enumerate(topic_ids):
            flags = _change_points(shares[:, j])
            for i, period in enumerate(periods):
                if i == 0:
                    change, p_value, jsd = None, None, None
                else:
                    change = float(shares[i, j] - shares[i - 1, j])
                    p_value = _chi_square_p(
                        int(counts[i, j]), int(totals[i]), int(counts[i - 1, j]), int(totals[i - 1])
                    )
                    jsd = _jensen_shannon(counts[i], counts[i - 1])
                rows.append(
                    (
                        source,
                        int(topic),
                        period,
                        float(shares[i, j]),
                        change,
                        jsd,
                        p_value,
                        bool(flags[i]),
                    )
                )
    frame = pl.DataFrame(
        rows,
        schema=[
            "source",
            "topic_id",
            "period",
            "share",
            "share_change",
            "jsd_to_previous",
            "p_value",
            "change_point",
        ],
        orient="row",
    )
    n_tests = max(1, frame["p_value"].drop_nulls().len())
    adjusted = (pl.col("p_value") * n_tests).clip(upper_bound=1.0)
    previous = pl.col("share") - pl.col("share_change")
    status = (
        pl.when(pl.col("share_change").is_null())
        .then(pl.lit("stable"))
        .when((previous == 0) & (pl.col("share") > 0))
        .then(pl.lit("new"))
        .when((adjusted < alpha) & (pl.col("share_change") > 0))
        .then(pl.lit("emerging"))
        .when((adjusted < alpha) & (pl.col("share_change") < 0))
        .then(pl.lit("fading"))
        .otherwise(pl.lit("stable"))
    )
    return (
        frame.with_columns(adjusted.alias("p_value"), status.alias("status"))
        .select(list(DRIFT))
        .cast(dict(DRIFT))
    )
