"""What the dashboard's charts show, as polars queries on a run's tables: no Streamlit here.

Every function takes a loaded :class:`narratives.runs.Run` and returns a small polars frame (or a
plain dict), so the pages stay thin and these queries are tested without a browser: the run card,
series names, periods, shares, events, outlet cells and the counts the comparisons test. A chart's
lines are *series* (``narratives_dashboard.series``): catalogued narratives (read from the
narrative tables) and discovered topics (read from the topic tables), every frame keyed by
``series``. Only the tables a view needs are read; the queries behind articles and passages are
in ``articles.py`` and ``passages.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from narratives_dashboard.series import (
    OUTLIERS,
    OUTLIERS_LABEL,
    document_mix,
    document_series,
    has_narratives,
    series_names,
    series_table,
)

from narratives.drift import ALL_SOURCES, CHANGE_COLUMNS, HEADLINE_STATUSES, is_headline
from narratives.drift.stats import wilson_interval
from narratives.runs import Run, RunSummary

__all__ = [
    "OUTLIERS_LABEL",
    "QUALITY_FIGURES",
    "UNITS",
    "RunCard",
    "default_series",
    "document_mix",
    "document_series",
    "events",
    "has_narratives",
    "outlet_cells",
    "outlet_periods",
    "outlet_series",
    "overall_shares",
    "period_counts",
    "periods",
    "run_card",
    "run_counts",
    "run_key",
    "series_changes",
    "series_names",
    "shares",
    "view_sources",
]

UNITS = {"documents": "prevalence", "passages": "passage_prevalence"}
DEFAULT_TOPICS = 8
"""How many of the largest discovered topics "Show discovered topics" adds."""


@dataclass(frozen=True)
class RunCard:
    """What the run picker says about a run: its summary plus dates, outlets, narratives found
    and quality."""

    summary: RunSummary
    first_date: date | None
    last_date: date | None
    n_undated: int
    sources: tuple[str, ...]
    period: str | None
    quality: dict[str, float]
    has_narratives: bool = False
    n_narratives_found: int = 0
    n_catalogued: int = 0
    narrative_doc_share: float | None = None
    n_corrected: int = 0
    calibration_items: tuple[int, int] | None = None

    def __getattr__(self, name: str) -> Any:
        """The summary's fields (name, corpus, embedder, n_documents ...) read as the card's."""
        if name == "summary":
            raise AttributeError(name)
        return getattr(self.summary, name)


def run_card(run: Run) -> RunCard:
    """Corpus, date span, embedder, narratives found and quality figures of a run, read without
    loading texts."""
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
    found = _narratives_found(run, docs.height)
    return RunCard(
        summary=run.summary(),
        first_date=span["first"][0],
        last_date=span["last"][0],
        n_undated=int(docs["date"].null_count()),
        sources=tuple(sorted(docs["source"].unique().drop_nulls().to_list())),
        period=record.drift.period if record.drift else None,
        quality=quality,
        **found,
    )


def _narratives_found(run: Run, n_documents: int) -> dict[str, Any]:
    """How many catalogued narratives carry at least one passage, of how many, and the share of
    documents that carry one (a document carries a narrative when one of its passages does);
    how many have corrected shares, and the fewest and most labelled items behind those."""
    if not has_narratives(run):
        return {"has_narratives": False}
    narratives = run.table("narratives")
    corrected = narratives.filter(pl.col("share_method") != "cc")
    items = (corrected["n_calibration_positives"] + corrected["n_calibration_negatives"]).cast(
        pl.Int64
    )
    carrying = (
        run.scan("narrative_scores")
        .filter(pl.col("tagged"))
        .select(pl.col("doc_id").n_unique())
        .collect()
        .item()
    )
    return {
        "has_narratives": True,
        "n_narratives_found": int((narratives["n_passages"] > 0).sum()),
        "n_catalogued": narratives.height,
        "narrative_doc_share": carrying / max(n_documents, 1),
        "n_corrected": corrected.height,
        "calibration_items": (int(items.min()), int(items.max())) if items.len() else None,
    }


QUALITY_FIGURES = (
    ("coherence (NPMI)", ("coherence_npmi",)),
    ("topic diversity", ("topic_diversity",)),
    ("stability ARI", ("stability", "ari")),
    ("stability NMI", ("stability", "nmi")),
    ("NMI with labels", ("labels", "topics", "nmi")),
    ("ARI with labels", ("labels", "topics", "ari")),
    ("purity", ("labels", "topics", "purity")),
    ("narratives macro F1", ("labels", "macro_f1")),
    ("narratives micro F1", ("narratives", "micro_f1")),
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


def default_series(
    names: pl.DataFrame, *, topics: bool = False, limit: int = DEFAULT_TOPICS
) -> list[str]:
    """The series the overview shows first: every catalogued narrative; with ``topics`` (or in a
    run without narratives) also the ``limit`` largest discovered topics, outliers left out."""
    narratives = names.filter(pl.col("kind") == "narrative")
    shown = [narratives]
    if topics or narratives.is_empty():
        largest = names.filter(pl.col("kind") == "topic").sort("size", descending=True)
        shown.append(largest.head(limit))
    return pl.concat(shown).sort("order")["series"].to_list()


def _drift_table(run: Run, name: str) -> str | None:
    """``name`` or its narrative counterpart, whichever the run has (topic tables first)."""
    for candidate in (name, f"narrative_{name}"):
        if run.has_table(candidate):
            return candidate
    return None


def periods(run: Run) -> list[date]:
    """The calendar periods of the run's drift tables (empty when no document has a date)."""
    table = _drift_table(run, "prevalence")
    if table is None:
        return []
    return run.table(table, columns=["period"])["period"].unique().sort().to_list()


def view_sources(run: Run) -> list[str]:
    """The outlets the drift tables have their own rows for (besides "*", all outlets)."""
    table = _drift_table(run, "prevalence")
    if table is None:
        return []
    found = run.table(table, columns=["source"])["source"].unique().sort().to_list()
    return [s for s in found if s != ALL_SOURCES]


def _named(frame: pl.DataFrame, run: Run, *columns: str) -> pl.DataFrame:
    """``frame`` with the series' ``columns`` (name, order, kind ...) joined on."""
    return frame.join(series_names(run).select("series", *columns), on="series")


def shares(
    run: Run,
    *,
    unit: str = "documents",
    source: str = ALL_SOURCES,
    series: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """Share of each series per period for one outlet view, with its 95% interval and name.

    ``share`` (with ``ci_low``/``ci_high``) is a narrative's share corrected for the detector's
    errors, ``share_raw`` (with the Wilson interval ``ci_low_raw``/``ci_high_raw``) the counted
    share of documents tagged; ``method`` says how ``share`` was estimated ("cc": counted, too
    few labelled items to correct). A topic, and any series counted by passages, is counted:
    its share_raw is its share and its method null."""
    count, total = (("n_docs", "n_period_docs"), ("n_passages", "n_period_passages"))[
        unit == "passages"
    ]
    table = series_table(run, UNITS[unit], series).filter(pl.col("source") == source)
    counted = {"share_raw": pl.col("share"), "method": pl.lit(None, pl.String)}
    table = table.with_columns(e.alias(c) for c, e in counted.items() if c not in table.columns)
    named = _named(_within(table, start, end), run, "name", "order", "kind")
    return _counted_interval(
        named.rename({count: "n", total: "n_period"}).sort("order", "period")
    ).select(
        "period",
        "series",
        "name",
        "share_raw",
        "share",
        "ci_low",
        "ci_high",
        "ci_low_raw",
        "ci_high_raw",
        "method",
        "n",
        "n_period",
        "small_period",
        "order",
        "kind",
    )


def _counted_interval(frame: pl.DataFrame, k: str = "n", n: str = "n_period") -> pl.DataFrame:
    """``frame`` with the Wilson 95% interval of its counted share k / n (``ci_low_raw``,
    ``ci_high_raw``; null where n is 0)."""
    low, high = wilson_interval(frame[k].to_numpy(), frame[n].to_numpy())
    return frame.with_columns(
        pl.Series("ci_low_raw", low, pl.Float64).fill_nan(None),
        pl.Series("ci_high_raw", high, pl.Float64).fill_nan(None),
    )


def _within(frame: pl.DataFrame, start: date | None, end: date | None) -> pl.DataFrame:
    """The rows in the periods from start to end (inclusive)."""
    if start is not None:
        frame = frame.filter(pl.col("period") >= start)
    if end is not None:
        frame = frame.filter(pl.col("period") <= end)
    return frame


def overall_shares(run: Run, series: list[str] | None = None) -> pl.DataFrame:
    """Share of documents carrying each series over the whole run (for runs without dates too)."""
    carried = document_series(run)
    n_docs = document_mix(run)["doc_id"].n_unique()
    frame = carried.group_by("series").agg(pl.len().alias("n"))
    if series is not None:
        frame = frame.filter(pl.col("series").is_in(series))
    return (
        _named(frame, run, "name", "order", "kind")
        .with_columns((pl.col("n") / max(n_docs, 1)).alias("share"), pl.lit(n_docs).alias("n_docs"))
        .sort("order")
    )


EVENT_LIMIT = 50
"""The headline changes a view shows at most (the largest)."""


def events(
    run: Run,
    *,
    source: str = ALL_SOURCES,
    series: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = EVENT_LIMIT,
) -> pl.DataFrame:
    """The headline changes of one outlet view (new, gone, emerging, fading, change points) of
    the narratives (narrative_drift) and topics (drift) in ``series``, outliers left out: the
    ``limit`` largest changes, in period order."""
    drift = _within(series_table(run, "drift", series), start, end)
    rows = drift.filter(
        (pl.col("source") == source) & (pl.col("series") != OUTLIERS) & is_headline()
    )
    return (
        _named(rows, run, "name")
        .sort(pl.col("share_change").abs(), descending=True, nulls_last=True)
        .head(limit)
        .select("period", "series", "name", *CHANGE_COLUMNS)
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
        .sort("period", "series")
    )


def outlet_series(run: Run, series: str) -> pl.DataFrame:
    """One series' share of documents per period in every outlet view ("*" = all outlets): the
    corrected share (a narrative's; a topic's is counted) and the counted share_raw, each with
    its 95% interval (the counted one Wilson's), and how the share was estimated."""
    table = series_table(run, "prevalence", [series]).sort("source", "period")
    return _counted_interval(table, "n_docs", "n_period_docs").select(
        "source",
        "period",
        "share_raw",
        "share",
        "ci_low",
        "ci_high",
        "ci_low_raw",
        "ci_high_raw",
        "method",
        "n_docs",
        "n_period_docs",
        "small_period",
    )


def series_changes(run: Run, series: str) -> pl.DataFrame:
    """Every change of one series in every outlet view, with its test."""
    drift = series_table(run, "drift", [series]).filter(is_headline())
    return drift.select("period", "source", *CHANGE_COLUMNS).sort("period", "source")


def outlet_cells(
    run: Run, period: date | None = None, series: list[str] | None = None
) -> pl.DataFrame:
    """Outlet x series: share, share among the other outlets, lift and the test behind each cell.

    ``period`` None is the whole corpus.
    """
    outlets = series_table(run, "outlets", series)
    outlets = (
        outlets.filter(pl.col("period").is_null())
        if period is None
        else outlets.filter(pl.col("period") == period)
    )
    return _named(outlets, run, "name", "order").sort("source", "order")


def outlet_periods(run: Run) -> list[date]:
    """The periods the outlet comparison has rows for."""
    table = _drift_table(run, "outlets")
    if table is None:
        return []
    return run.table(table, columns=["period"])["period"].drop_nulls().unique().sort().to_list()


def period_counts(
    run: Run, period: date, source: str = ALL_SOURCES, series: list[str] | None = None
) -> pl.DataFrame:
    """Documents carrying each series in one period and outlet view (k of n), for comparisons."""
    table = series_table(run, "prevalence", series).filter(
        (pl.col("period") == period) & (pl.col("source") == source)
    )
    return _named(table, run, "name", "kind").select(
        "series", "name", "kind", pl.col("n_docs").alias("k"), pl.col("n_period_docs").alias("n")
    )


def run_counts(run: Run) -> pl.DataFrame:
    """Documents carrying each series over a whole run (k of n), keyed by a cross-run key.

    Catalogued narratives keep their id across runs; a discovered topic is keyed by its label.
    """
    shares_ = overall_shares(run)
    names = series_names(run).select("series", "label")
    return shares_.join(names, on="series").select(
        pl.when(pl.col("kind") == "narrative")
        .then(pl.col("series"))
        .otherwise(pl.format("{}: {}", "kind", "label"))
        .alias("key"),
        "name",
        "kind",
        pl.col("n").alias("k"),
        pl.col("n_docs").alias("n"),
    )


def run_key(path: Path) -> tuple[str, int]:
    """What identifies a run's content on disk: its path and when its run.json last changed, so a
    retrained (overwritten) or re-drifted run is read afresh."""
    record = path / "run.json"
    return str(path.resolve()), record.stat().st_mtime_ns if record.exists() else 0
