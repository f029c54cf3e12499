"""What the dashboard shows of articles and passages, as polars queries: no Streamlit here.

The articles behind a point of a chart, a topic's representative passages and keyword history,
the article search and one article's detail. These read the large tables (passages, documents
with their text), so only the pages that show articles call them.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl
from narratives_dashboard.data import document_mix, topic_names

from narratives.drift import ALL_SOURCES, period_start
from narratives.export import summarize_mix
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


def articles(
    run: Run,
    *,
    topic_id: int | None = None,
    period: date | None = None,
    source: str = ALL_SOURCES,
    limit: int | None = 200,
) -> pl.DataFrame:
    """The articles behind a point of a chart: documents carrying a topic in a period and outlet,
    the most devoted first (largest share of their passages in the topic)."""
    docs = run.table("documents", columns=["doc_id", "date", "source", "title", "url"])
    mix = document_mix(run)
    if topic_id is not None:
        mix = mix.filter(pl.col("topic_id") == topic_id)
    frame = docs.join(mix.select("doc_id", "share", "n_passages"), on="doc_id")
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
    docs = run.table("documents", columns=["doc_id", "date", "source", "title", "url"])
    order = pl.DataFrame({"passage_id": ids}).with_row_index("rank")
    return (
        order.join(passages, on="passage_id")
        .join(docs, on="doc_id", how="left")
        .sort("rank")
        .select("passage_id", "text", "title", "date", "source", "url", "doc_id")
    )


def keyword_history(run: Run, topic_id: int) -> pl.DataFrame:
    """A topic's keywords per period with the words that entered and left."""
    if not run.has_table("keyword_drift"):
        return pl.DataFrame()
    return run.table("keyword_drift").filter(pl.col("topic_id") == topic_id).sort("period")


def keyword_presence(run: Run, topic_id: int, top: int = 15) -> pl.DataFrame:
    """Rank of a topic's most frequent keywords in each period (absent rows where a keyword was
    not among that period's keywords), for a heatmap."""
    history = keyword_history(run, topic_id)
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
    """Per document, its main narrative and its mix as text ("Munitionsmangel 60%; ..."), by the
    dashboard's topic names; computed once per run so a search only joins it."""

    def compute(r: Run) -> pl.DataFrame:
        names = topic_names(r).select("topic_id", "name")
        return summarize_mix(document_mix(r), names).select(
            "doc_id",
            pl.col("main_topic").alias("main narrative"),
            pl.col("narrative_mix").alias("narrative mix"),
        )

    return run.derived("document_summary", compute)


def search_documents(
    run: Run,
    *,
    text: str = "",
    start: date | None = None,
    end: date | None = None,
    sources: list[str] | None = None,
    topic_ids: list[int] | None = None,
) -> pl.DataFrame:
    """Articles matching a case-insensitive text search and filters, with their main narrative."""
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
    if topic_ids:
        carrying = document_mix(run).filter(pl.col("topic_id").is_in(topic_ids))["doc_id"]
        found = found.filter(pl.col("doc_id").is_in(carrying.unique().implode()))
    return (
        found.join(document_summary(run), on="doc_id", how="left")
        .with_columns(pl.col("text").str.slice(0, 240).alias("excerpt"))
        .select(
            "date",
            "source",
            "title",
            "main narrative",
            "narrative mix",
            "url",
            "excerpt",
            "doc_id",
        )
        .sort("date", descending=True, nulls_last=True)
    )


def document_detail(run: Run, doc_id: str) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """One article: its fields, its narrative mix and its passages with their topics."""
    doc = run.scan("documents").filter(pl.col("doc_id") == doc_id).collect()
    names = topic_names(run).select("topic_id", "name", "order")
    mix = document_mix(run).filter(pl.col("doc_id") == doc_id).join(names, on="topic_id")
    passages = (
        run.scan("passages")
        .filter(pl.col("doc_id") == doc_id)
        .collect()
        .join(
            run.table("assignments").select("passage_id", "topic_id", "probability"),
            on="passage_id",
        )
        .join(names, on="topic_id", how="left")
        .sort("position")
        .select("position", "name", "probability", "text")
    )
    return (doc.row(0, named=True) if doc.height else {}), mix.sort("order"), passages
