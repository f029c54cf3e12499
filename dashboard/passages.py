"""What the dashboard shows of the catalogued narratives passage by passage: no Streamlit here.

How a narrative is found (its row of the ``narratives`` table), the passages that carry it with
their evidence (query, head, feedback), the high-scoring passages that do not (for an analyst to
confirm what the detector missed), the narratives of one article and of each of its passages, and
the narratives a discovered topic's passages carry. Runs trained before narrative detection have
none of these tables: every query then returns an empty frame (or an empty dict).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from narratives_dashboard.series import has_narratives, series_names

from narratives.runs import Run

__all__ = [
    "document_narratives",
    "narrative_candidates",
    "narrative_passages",
    "narrative_profile",
    "passage_narratives",
    "topic_narratives",
]

PASSAGE_COLUMNS = [
    "passage_id",
    "evidence",
    "score",
    "date",
    "source",
    "title",
    "url",
    "doc_id",
    "position",
    "text",
]
_EMPTY = pl.DataFrame(
    schema={
        "passage_id": pl.String,
        "evidence": pl.String,
        "score": pl.Float32,
        "date": pl.Date,
        "source": pl.String,
        "title": pl.String,
        "url": pl.String,
        "doc_id": pl.String,
        "position": pl.UInt32,
        "text": pl.String,
    }
)


def narrative_profile(run: Run, narrative_id: str) -> dict[str, Any]:
    """How a narrative is found: its row of the ``narratives`` table (label, query and its recall,
    head threshold and expected precision, examples, counter-examples, confirmed and rejected
    decisions, passages carrying it, and how its shares are estimated: share_method,
    calibration_source, n_calibration_positives/negatives, tpr, fpr); {} when the run has no such
    narrative."""
    if not has_narratives(run):
        return {}
    row = run.table("narratives").filter(pl.col("narrative_id") == narrative_id)
    return row.row(0, named=True) if row.height else {}


def _with_articles(run: Run, scores: pl.DataFrame) -> pl.DataFrame:
    """Score rows (passage_id, doc_id, evidence, score) with their text and their article."""
    ids = scores["passage_id"].implode()
    texts = (
        run.scan("passages")
        .filter(pl.col("passage_id").is_in(ids))
        .select("passage_id", "position", "text")
        .collect()
    )
    docs = run.table("documents", columns=["doc_id", "date", "source", "title", "url"])
    return (
        scores.join(texts, on="passage_id", how="left")
        .join(docs, on="doc_id", how="left")
        .select(PASSAGE_COLUMNS)
    )


def narrative_passages(run: Run, narrative_id: str, limit: int | None = 50) -> pl.DataFrame:
    """The passages that carry a narrative, with their evidence, score, text and article, newest
    article first (``limit`` None: all of them)."""
    if not has_narratives(run):
        return _EMPTY
    carried = (
        run.scan("narrative_scores")
        .filter((pl.col("narrative_id") == narrative_id) & pl.col("tagged"))
        .select("passage_id", "doc_id", "evidence", "score")
        .collect()
    )
    dates = run.table("documents", columns=["doc_id", "date"])
    ordered = carried.join(dates, on="doc_id", how="left").sort(
        ["date", "doc_id", "passage_id"], descending=[True, False, False], nulls_last=True
    )
    if limit is not None:
        ordered = ordered.head(limit)
    return _with_articles(run, ordered.drop("date"))


def narrative_candidates(run: Run, narrative_id: str, limit: int = 10) -> pl.DataFrame:
    """The highest-scoring passages that do not carry a narrative (score descending): where the
    detector may have missed it, for an analyst to confirm."""
    if not has_narratives(run):
        return _EMPTY
    missed = (
        run.scan("narrative_scores")
        .filter((pl.col("narrative_id") == narrative_id) & ~pl.col("tagged"))
        .select("passage_id", "doc_id", "evidence", "score")
        .sort(["score", "passage_id"], descending=[True, False])
        .head(limit)
        .collect()
    )
    return _with_articles(run, missed)


def _labels(run: Run) -> pl.DataFrame:
    names = series_names(run).filter(pl.col("kind") == "narrative")
    return names.select(pl.col("series").alias("narrative_id"), "name", "order")


def document_narratives(run: Run, doc_id: str) -> pl.DataFrame:
    """The catalogued narratives one article carries (one of its passages does): narrative_id,
    name, n_passages carrying it and the highest passage score, in catalog order."""
    schema = {
        "narrative_id": pl.String,
        "name": pl.String,
        "n_passages": pl.UInt32,
        "score": pl.Float32,
    }
    if not has_narratives(run):
        return pl.DataFrame(schema=schema)
    return (
        run.scan("narrative_scores")
        .filter((pl.col("doc_id") == doc_id) & pl.col("tagged"))
        .group_by("narrative_id")
        .agg(pl.len().cast(pl.UInt32).alias("n_passages"), pl.col("score").max())
        .collect()
        .join(_labels(run), on="narrative_id", how="left")
        .sort("order")
        .select(list(schema))
    )


def passage_narratives(run: Run, doc_id: str) -> pl.DataFrame:
    """Every passage of one article x catalogued narrative: passage_id, narrative_id, name,
    tagged, evidence and score, in catalog order (empty for a run without narratives)."""
    schema = {
        "passage_id": pl.String,
        "narrative_id": pl.String,
        "name": pl.String,
        "tagged": pl.Boolean,
        "evidence": pl.String,
        "score": pl.Float32,
    }
    if not has_narratives(run):
        return pl.DataFrame(schema=schema)
    return (
        run.scan("narrative_scores")
        .filter(pl.col("doc_id") == doc_id)
        .collect()
        .join(_labels(run), on="narrative_id", how="left")
        .sort("passage_id", "order")
        .select(list(schema))
    )


def topic_narratives(run: Run, topic_id: int) -> pl.DataFrame:
    """The catalogued narratives a discovered topic's passages carry: narrative_id, name,
    n_passages and their share of the topic's passages, most carried first."""
    schema = {"narrative_id": pl.String, "name": pl.String, "n_passages": pl.UInt32}
    if not run.has_table("topic_narratives"):
        return pl.DataFrame(schema={**schema, "share": pl.Float64})
    return (
        run.table("topic_narratives")
        .filter(pl.col("topic_id") == topic_id)
        .join(_labels(run), on="narrative_id", how="left")
        .sort(["n_passages", "order"], descending=[True, False])
        .select(*schema, "share")
    )
