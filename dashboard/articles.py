"""What the dashboard shows of articles, as polars queries: no Streamlit here.

The articles behind a point of a chart, a topic's representative passages, a series' keyword
history, the article search and one article's detail. These read the large tables (passages,
documents with their text), so only the pages that show articles call them. The passages that
carry a narrative, and an article's narratives, are in ``passages.py``.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl
from narratives_dashboard.series import (
    TOPIC_PREFIX,
    document_mix,
    document_series,
    has_narratives,
    series_names,
    series_table,
)

from narratives.drift import ALL_SOURCES, period_start
from narratives.export import LIST_SEPARATOR, summarize_mix
from narratives.runs import Run

__all__ = [
    "articles",
    "document_detail",
    "document_summary",
    "keyword_history",
    "keyword_presence",
    "representative_passages",
    "search_documents",
]

ARTICLE_COLUMNS = ["doc_id", "date", "source", "title", "url"]


def articles(
    run: Run,
    *,
    series: str | None = None,
    period: date | None = None,
    source: str = ALL_SOURCES,
    limit: int | None = 200,
) -> pl.DataFrame:
    """The articles behind a point of a chart: documents carrying a series (a narrative: one of
    their passages carries it; a topic: one of their passages is in it) in a period and outlet,
    the most devoted first (largest share of their passages)."""
    docs = run.table("documents", columns=ARTICLE_COLUMNS)
    carried = document_series(run)
    if series is not None:
        carried = carried.filter(pl.col("series") == series)
    else:
        carried = carried.group_by("doc_id").agg(pl.col("share").max(), pl.col("n_passages").max())
    frame = docs.join(carried.select("doc_id", "share", "n_passages"), on="doc_id")
    if source != ALL_SOURCES:
        frame = frame.filter(pl.col("source") == source)
    if period is not None:
        frame = frame.filter(_period_expr(run) == period)
    ordered = frame.sort(["share", "date"], descending=[True, True], nulls_last=True)
    return ordered if limit is None else ordered.head(limit)


def _period_expr(run: Run) -> pl.Expr:
    return period_start(run.record.drift.period if run.record.drift else "month")


def representative_passages(run: Run, topic_id: int) -> pl.DataFrame:
    """A topic's representative passages with the article each comes from."""
    topics = run.table("topics").filter(pl.col("topic_id") == topic_id)
    if topics.is_empty():
        return pl.DataFrame()
    ids = topics["representative_passage_ids"][0].to_list()
    passages = run.scan("passages").filter(pl.col("passage_id").is_in(ids)).collect()
    docs = run.table("documents", columns=ARTICLE_COLUMNS)
    order = pl.DataFrame({"passage_id": ids}).with_row_index("rank")
    return (
        order.join(passages, on="passage_id")
        .join(docs, on="doc_id", how="left")
        .sort("rank")
        .select("passage_id", "text", "title", "date", "source", "url", "doc_id")
    )


def keyword_history(run: Run, series: str) -> pl.DataFrame:
    """A series' keywords per period with the words that entered and left (for a narrative:
    from the passages that carry it; for a topic: from its passages)."""
    return series_table(run, "keyword_drift", [series]).sort("period")


def keyword_presence(run: Run, series: str, top: int = 15) -> pl.DataFrame:
    """Rank of a series' most frequent keywords in each period (absent rows where a keyword was
    not among that period's keywords), for a heatmap."""
    history = keyword_history(run, series)
    if history.is_empty():
        return pl.DataFrame(schema={"period": pl.Date, "keyword": pl.String, "rank": pl.Int64})
    long = history.select("period", "keywords").explode("keywords").drop_nulls("keywords")
    long = long.with_columns(pl.int_range(1, pl.len() + 1).over("period").alias("rank"))
    common = (
        long.group_by("keywords")
        .agg(pl.len().alias("periods"), pl.col("rank").mean().alias("mean_rank"))
        .sort(["periods", "mean_rank", "keywords"], descending=[True, False, False])
        .head(top)["keywords"]
    )
    return long.filter(pl.col("keywords").is_in(common.implode())).rename({"keywords": "keyword"})


def document_summary(run: Run) -> pl.DataFrame:
    """Per document: the catalogued narratives it carries ("Munitionsmangel; ..."), its main
    topic and its topic mix as text ("#0 ... 60%; ..."), by the dashboard's series names;
    computed once per run so a search only joins it."""

    def compute(r: Run) -> pl.DataFrame:
        names = series_names(r)
        topic_names = names.filter(pl.col("topic_id").is_not_null()).select("topic_id", "name")
        summary = summarize_mix(document_mix(r), topic_names).select(
            "doc_id",
            pl.col("main_topic").alias("main topic"),
            pl.col("narrative_mix").alias("topic mix"),
        )
        labels = names.filter(pl.col("kind") == "narrative").select("series", "name", "order")
        carried = (
            document_series(r)
            .join(labels, on="series")
            .sort("doc_id", "order")
            .group_by("doc_id", maintain_order=True)
            .agg(pl.col("name").str.join(LIST_SEPARATOR).alias("narratives"))
        )
        return summary.join(carried, on="doc_id", how="left").with_columns(
            pl.col("narratives").fill_null("")
        )

    return run.derived("document_summary", compute)


def search_documents(
    run: Run,
    *,
    text: str = "",
    start: date | None = None,
    end: date | None = None,
    sources: list[str] | None = None,
    series: list[str] | None = None,
) -> pl.DataFrame:
    """Articles matching a case-insensitive text search and filters (carrying any of ``series``),
    with their narratives, main topic and topic mix."""
    docs = run.table("documents")
    condition = pl.lit(True)
    if text.strip():
        pattern = "(?i)" + re.escape(text.strip())
        condition &= pl.col("text").str.contains(pattern) | pl.col("title").fill_null(
            ""
        ).str.contains(pattern)
    if start is not None:
        condition &= pl.col("date") >= start
    if end is not None:
        condition &= pl.col("date") <= end
    if sources:
        condition &= pl.col("source").is_in(sources)
    found = docs.filter(condition)
    if series:
        carrying = document_series(run).filter(pl.col("series").is_in(series))["doc_id"]
        found = found.filter(pl.col("doc_id").is_in(carrying.unique().implode()))
    columns = ["date", "source", "title", "narratives", "main topic", "topic mix", "url"]
    if not has_narratives(run):
        columns.remove("narratives")
    return (
        found.join(document_summary(run), on="doc_id", how="left")
        .with_columns(pl.col("text").str.slice(0, 240).alias("excerpt"))
        .select(*columns, "excerpt", "doc_id")
        .sort("date", descending=True, nulls_last=True)
    )


def document_detail(run: Run, doc_id: str) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """One article: its fields, its topic mix (series, name, order, share) and its passages with
    their topics (passage_id, position, series, name, probability, text)."""
    doc = run.scan("documents").filter(pl.col("doc_id") == doc_id).collect()
    names = series_names(run).select("series", "name", "order")
    mix = (
        document_mix(run)
        .filter(pl.col("doc_id") == doc_id)
        .with_columns(_topic_key())
        .join(names, on="series")
    )
    passages = (
        run.scan("passages")
        .filter(pl.col("doc_id") == doc_id)
        .collect()
        .join(
            run.table("assignments").select("passage_id", "topic_id", "probability"),
            on="passage_id",
        )
        .with_columns(_topic_key())
        .join(names, on="series", how="left")
        .sort("position")
        .select("passage_id", "position", "series", "name", "probability", "text")
    )
    return (doc.row(0, named=True) if doc.height else {}), mix.sort("order"), passages


def _topic_key() -> pl.Expr:
    return pl.format("{}{}", pl.lit(TOPIC_PREFIX), "topic_id").alias("series")
