"""What the dashboard's charts show, as polars queries on a run's tables: no Streamlit here.

Every function takes a loaded :class:`narratives.runs.Run` and returns a small polars frame (or a
plain dict), so the pages stay thin and these queries are tested without a browser: the run card,
topic names, periods, shares, events, outlet cells and the counts the comparisons test. Only the
tables a view needs are read; the queries behind articles and passages are in ``articles.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from narratives.drift import (
    ALL_SOURCES,
    CHANGE_COLUMNS,
    HEADLINE_STATUSES,
    headline_changes,
    is_headline,
)
from narratives.export import document_topics
from narratives.runs import Run, RunSummary
from narratives.schemas import OUTLIER_TOPIC

__all__ = [
    "OUTLIERS_LABEL",
    "QUALITY_FIGURES",
    "UNITS",
    "RunCard",
    "default_topics",
    "document_mix",
    "events",
    "outlet_cells",
    "outlet_periods",
    "outlet_series",
    "overall_shares",
    "period_counts",
    "periods",
    "run_card",
    "run_counts",
    "run_key",
    "shares",
    "topic_changes",
    "topic_names",
    "view_sources",
]

UNITS = {"documents": "prevalence", "passages": "passage_prevalence"}
OUTLIERS_LABEL = "Outliers (no topic)"


@dataclass(frozen=True)
class RunCard:
    """What the run picker says about a run: its summary plus dates, outlets and quality."""

    summary: RunSummary
    first_date: date | None
    last_date: date | None
    n_undated: int
    sources: tuple[str, ...]
    period: str | None
    quality: dict[str, float]

    def __getattr__(self, name: str) -> Any:
        """The summary's fields (name, corpus, embedder, n_documents ...) read as the card's."""
        if name == "summary":
            raise AttributeError(name)
        return getattr(self.summary, name)


def run_card(run: Run) -> RunCard:
    """Corpus, date span, embedder and quality figures of a run, read without loading texts."""
    record = run.record
    docs = run.table("documents", columns=["date", "source"])
    span = docs.select(pl.col("date").min().alias("first"), pl.col("date").max().alias("last"))
    quality = {
        key: float(value)
        for key, value in {
            "outlier share": record.metrics.outlier_share,
            **_evaluation_figures(record.evaluation or {}),
        }.items()
        if isinstance(value, int | float) and math.isfinite(value)
    }
    return RunCard(
        summary=run.summary(),
        first_date=span["first"][0],
        last_date=span["last"][0],
        n_undated=int(docs["date"].null_count()),
        sources=tuple(sorted(docs["source"].unique().drop_nulls().to_list())),
        period=record.drift.period if record.drift else None,
        quality=quality,
    )


QUALITY_FIGURES = (
    ("coherence (NPMI)", ("coherence_npmi",)),
    ("topic diversity", ("topic_diversity",)),
    ("stability ARI", ("stability", "ari")),
    ("stability NMI", ("stability", "nmi")),
    ("NMI with labels", ("labels", "topics", "nmi")),
    ("ARI with labels", ("labels", "topics", "ari")),
    ("purity", ("labels", "topics", "purity")),
    ("narratives macro F1", ("labels", "macro_f1")),
)


def _evaluation_figures(evaluation: dict) -> dict[str, float]:
    """The headline figures of `narratives evaluate`, where the run has been evaluated."""
    figures = {}
    for name, path in QUALITY_FIGURES:
        value: Any = evaluation
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            figures[name] = value
    return figures


def topic_names(run: Run) -> pl.DataFrame:
    """Topics with a display name (unique), their kind and a stable order for colours.

    Catalogued narratives are shown by their label; discovered topics by "#id" and keywords;
    outliers last.
    """
    topics = run.table("topics")
    return (
        topics.with_columns(
            pl.when(pl.col("topic_id") == OUTLIER_TOPIC)
            .then(pl.lit("outliers"))
            .when(pl.col("narrative_id").is_not_null())
            .then(pl.lit("narrative"))
            .otherwise(pl.lit("new topic"))
            .alias("kind"),
        )
        .with_columns(
            pl.when(pl.col("kind") == "outliers")
            .then(pl.lit(OUTLIERS_LABEL))
            .when(pl.col("kind") == "narrative")
            .then(pl.col("label"))
            .otherwise(pl.format("#{} {}", pl.col("topic_id"), pl.col("label")))
            .alias("name"),
            pl.col("kind")
            .replace_strict({"narrative": 0, "new topic": 1, "outliers": 2})
            .alias("_k"),
        )
        .sort("_k", pl.col("size"), "topic_id", descending=[False, True, False])
        .drop("_k")
        .with_row_index("order")
    )


def default_topics(names: pl.DataFrame, limit: int = 8) -> list[int]:
    """The topics the overview shows first: the largest ones, outliers left out."""
    shown = names.filter(pl.col("kind") != "outliers").sort("size", descending=True).head(limit)
    return shown.sort("order")["topic_id"].to_list()


def periods(run: Run) -> list[date]:
    """The calendar periods of the run's drift tables (empty when no document has a date)."""
    if not run.has_table("prevalence"):
        return []
    prevalence = run.table("prevalence")
    return prevalence["period"].unique().sort().to_list()


def view_sources(run: Run) -> list[str]:
    """The outlets the drift tables have their own rows for (besides "*", all outlets)."""
    if not run.has_table("prevalence"):
        return []
    found = run.table("prevalence", columns=["source"])["source"].unique().sort().to_list()
    return [s for s in found if s != ALL_SOURCES]


def shares(
    run: Run,
    *,
    unit: str = "documents",
    source: str = ALL_SOURCES,
    topic_ids: list[int] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """Share of each topic per period for one outlet view, with its 95% interval and topic name."""
    table = run.table(UNITS[unit])
    count, total = (("n_docs", "n_period_docs"), ("n_passages", "n_period_passages"))[
        unit == "passages"
    ]
    frame = _within(table.filter(pl.col("source") == source), topic_ids, start, end)
    return (
        frame.join(topic_names(run).select("topic_id", "name", "order"), on="topic_id")
        .rename({count: "n", total: "n_period"})
        .sort("order", "period")
        .select(
            "period",
            "topic_id",
            "name",
            "share",
            "ci_low",
            "ci_high",
            "n",
            "n_period",
            "small_period",
            "order",
        )
    )


def _within(
    frame: pl.DataFrame, topic_ids: list[int] | None, start: date | None, end: date | None
) -> pl.DataFrame:
    """The rows of these topics (all when None) in the periods from start to end (inclusive)."""
    if topic_ids is not None:
        frame = frame.filter(pl.col("topic_id").is_in(topic_ids))
    if start is not None:
        frame = frame.filter(pl.col("period") >= start)
    if end is not None:
        frame = frame.filter(pl.col("period") <= end)
    return frame


def overall_shares(run: Run, topic_ids: list[int] | None = None) -> pl.DataFrame:
    """Share of documents carrying each topic over the whole run (for runs without dates too)."""
    mix = document_mix(run)
    n_docs = mix["doc_id"].n_unique()
    frame = mix.group_by("topic_id").agg(pl.len().alias("n"))
    if topic_ids is not None:
        frame = frame.filter(pl.col("topic_id").is_in(topic_ids))
    return (
        frame.join(topic_names(run).select("topic_id", "name", "order"), on="topic_id")
        .with_columns((pl.col("n") / max(n_docs, 1)).alias("share"), pl.lit(n_docs).alias("n_docs"))
        .sort("order")
    )


def events(
    run: Run,
    *,
    source: str = ALL_SOURCES,
    topic_ids: list[int] | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 50,
) -> pl.DataFrame:
    """The headline changes of one outlet view (new, gone, emerging, fading, change points)."""
    if not run.has_table("drift"):
        return pl.DataFrame()
    drift = _within(run.table("drift"), topic_ids, start, end)
    names = topic_names(run).select("topic_id", "name")
    return (
        headline_changes(drift, run.table("topics"), source=source, limit=limit)
        .join(names, on="topic_id", how="left")
        .with_columns(
            pl.when(pl.col("status").is_in(HEADLINE_STATUSES))
            .then(pl.col("status"))
            .otherwise(pl.lit("change point"))
            .alias("event")
        )
        .with_columns(
            pl.when(pl.col("event") == "change point")
            .then(pl.col("change_p_value"))
            .otherwise(pl.col("p_adjusted"))
            .alias("test_p")
        )
        .sort("period", "topic_id")
    )


def document_mix(run: Run) -> pl.DataFrame:
    """Each document's narrative mix (long format: doc_id, topic_id, share), computed once."""
    return run.derived(
        "document_mix",
        lambda r: document_topics(r).select("doc_id", "topic_id", "n_passages", "share"),
    )


def outlet_series(run: Run, topic_id: int) -> pl.DataFrame:
    """One topic's share of documents per period in every outlet view ("*" = all outlets)."""
    if not run.has_table("prevalence"):
        return pl.DataFrame()
    return (
        run.table("prevalence")
        .filter(pl.col("topic_id") == topic_id)
        .sort("source", "period")
        .select(
            "source",
            "period",
            "share",
            "ci_low",
            "ci_high",
            "n_docs",
            "n_period_docs",
            "small_period",
        )
    )


def topic_changes(run: Run, topic_id: int) -> pl.DataFrame:
    """Every change of one topic in every outlet view, with its test."""
    if not run.has_table("drift"):
        return pl.DataFrame()
    drift = run.table("drift").filter((pl.col("topic_id") == topic_id) & is_headline())
    return drift.select("period", "source", *CHANGE_COLUMNS).sort("period", "source")


def outlet_cells(run: Run, period: date | None = None) -> pl.DataFrame:
    """Outlet x topic: share, share among the other outlets, lift and the test behind each cell.

    ``period`` None is the whole corpus.
    """
    if not run.has_table("outlets"):
        return pl.DataFrame()
    outlets = run.table("outlets")
    outlets = (
        outlets.filter(pl.col("period").is_null())
        if period is None
        else outlets.filter(pl.col("period") == period)
    )
    names = topic_names(run).select("topic_id", "name", "order")
    return outlets.join(names, on="topic_id").sort("source", "order")


def outlet_periods(run: Run) -> list[date]:
    """The periods the outlet comparison has rows for."""
    if not run.has_table("outlets"):
        return []
    return run.table("outlets")["period"].drop_nulls().unique().sort().to_list()


def period_counts(run: Run, period: date, source: str = ALL_SOURCES) -> pl.DataFrame:
    """Documents carrying each topic in one period and outlet view (k of n), for comparisons."""
    table = run.table("prevalence").filter(
        (pl.col("period") == period) & (pl.col("source") == source)
    )
    names = topic_names(run).select("topic_id", "name")
    return table.join(names, on="topic_id").select(
        "topic_id", "name", pl.col("n_docs").alias("k"), pl.col("n_period_docs").alias("n")
    )


def run_counts(run: Run) -> pl.DataFrame:
    """Documents carrying each topic over a whole run (k of n), keyed by a cross-run key.

    Catalogued narratives keep their id across runs; a discovered topic is keyed by its label.
    """
    shares_ = overall_shares(run)
    topics = topic_names(run).select("topic_id", "narrative_id", "kind", "label")
    return shares_.join(topics, on="topic_id").select(
        pl.coalesce("narrative_id", pl.format("{}: {}", "kind", "label")).alias("key"),
        "name",
        pl.col("n").alias("k"),
        pl.col("n_docs").alias("n"),
    )


def run_key(path: Path) -> tuple[str, int]:
    """What identifies a run's content on disk: its path and when its run.json last changed, so a
    retrained (overwritten) or re-drifted run is read afresh."""
    record = path / "run.json"
    return str(path.resolve()), record.stat().st_mtime_ns if record.exists() else 0
