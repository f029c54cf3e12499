"""The queries of the "What's new" page and of a topic's lineage: what articles placed with
`narratives assign` brought (signals, candidate topics, the unassigned share) and how a topic
continues through the parent runs of `train --parent`. No Streamlit here."""

from __future__ import annotations

import polars as pl

from narratives.runs import Run, RunError, load_run
from narratives.schemas import LINEAGE, NOVELTY

__all__ = ["candidate_topics", "has_news", "latest_signals", "topic_history", "unassigned_share"]

SIGNAL_ORDER = {"strong": 0, "weak": 1, "noise": 2}


def has_news(run: Run) -> bool:
    """Whether the run was assigned new articles or retrained with a parent."""
    return run.has_table("novelty") or run.has_table("lineage")


def _novelty(run: Run) -> pl.DataFrame:
    return run.table("novelty") if run.has_table("novelty") else pl.DataFrame(schema=NOVELTY)


def latest_signals(run: Run, limit: int = 20) -> pl.DataFrame:
    """The latest period's strong and weak signals, strongest first, with the topics' labels."""
    table = _novelty(run).filter(pl.col("kind") != "unassigned")
    if table.is_empty():
        return table
    latest = table.filter(pl.col("period") == table["period"].max())
    labels = run.table("topics").select("topic_id", "label")
    order = pl.col("signal").replace_strict(SIGNAL_ORDER, default=3, return_dtype=pl.Int8)
    return (
        latest.filter(pl.col("signal").is_in(["strong", "weak"]))
        .join(labels, on="topic_id", how="left")
        .sort(order, -pl.col("popularity"))
        .select("period", "signal", "kind", "topic_id", "label", "n_docs", "popularity", "trend")
        .head(limit)
    )


def unassigned_share(run: Run) -> pl.DataFrame:
    """Per period: the share of the newly assigned articles with a passage that fits no topic."""
    return (
        _novelty(run)
        .filter(pl.col("kind") == "unassigned")
        .select("period", "n_docs", "n_period_docs", "share")
        .sort("period")
    )


def candidate_topics(run: Run) -> pl.DataFrame:
    """The candidate topics the unassigned passages formed: id, label, keywords, size and up to
    three example passages."""
    candidates = _novelty(run).filter(pl.col("kind") == "candidate")["topic_id"].unique()
    topics = run.table("topics").filter(pl.col("topic_id").is_in(candidates.implode()))
    if topics.is_empty():
        return topics.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("examples"))
    ids = topics.explode("representative_passage_ids")["representative_passage_ids"].drop_nulls()
    texts = run.scan("passages").filter(pl.col("passage_id").is_in(ids.implode())).collect()
    examples = (
        topics.select("topic_id", "representative_passage_ids")
        .explode("representative_passage_ids")
        .join(
            texts.select(pl.col("passage_id").alias("representative_passage_ids"), "text"),
            on="representative_passage_ids",
            how="left",
        )
        .group_by("topic_id", maintain_order=True)
        .agg(pl.col("text").drop_nulls().alias("examples"))
    )
    return topics.join(examples, on="topic_id", how="left").select(
        "topic_id", "label", "keywords", "size", "examples"
    )


def topic_history(run: Run, topic_id: int, max_depth: int = 20) -> pl.DataFrame:
    """A topic back through the parent runs (found beside this run): per run, the topic's id
    there, its relation to the one before it, its overlap and similarity and its label."""
    rows = [{"run": run.name, "topic_id": topic_id, "relation": "this run"}]
    current, ids = run, [topic_id]
    for _ in range(max_depth):
        if not current.has_table("lineage") or not current.record.parent:
            break
        lineage = current.table("lineage").filter(pl.col("topic_id").is_in(ids))
        try:
            parent = load_run(current.path.parent / current.record.parent)
        except RunError:
            break
        ids = lineage["parent_topic_id"].drop_nulls().to_list()
        for edge in lineage.iter_rows(named=True):
            rows.append(
                {
                    "run": parent.name,
                    "topic_id": edge["parent_topic_id"],
                    "relation": edge["relation"],
                    "overlap": edge["overlap"],
                    "similarity": edge["similarity"],
                }
            )
        if not ids:
            break
        current = parent
    schema = {"run": pl.String, **{k: v for k, v in LINEAGE.items() if k != "parent_topic_id"}}
    return pl.DataFrame(rows, schema=schema)
