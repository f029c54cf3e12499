"""Catalogued narratives, found passage by passage: queries, learned heads, calibration, feedback.

``NarrativeDetector`` is the face (narratives.detect.detector); ``topic_narratives`` says which
narratives a discovered topic's passages carry. A document carries a narrative when at least
one of its passages does.
"""

from __future__ import annotations

import polars as pl

from narratives.detect.detector import EVIDENCE, NarrativeDetector, NarrativeFit, scores_table
from narratives.schemas import TOPIC_NARRATIVES

__all__ = [
    "EVIDENCE",
    "NarrativeDetector",
    "NarrativeFit",
    "document_narratives",
    "scores_table",
    "topic_narratives",
]


def topic_narratives(assignments: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """Per discovered topic and catalogued narrative: how many of the topic's passages carry the
    narrative, and their share of the topic's passages (only pairs with at least one)."""
    sizes = assignments.group_by("topic_id").agg(pl.len().alias("_size"))
    carried = scores.filter(pl.col("tagged")).select("passage_id", "narrative_id")
    return (
        assignments.select("passage_id", "topic_id")
        .join(carried, on="passage_id")
        .group_by("topic_id", "narrative_id")
        .agg(pl.len().alias("n_passages"))
        .join(sizes, on="topic_id")
        .with_columns((pl.col("n_passages") / pl.col("_size")).alias("share"))
        .sort(["topic_id", "n_passages", "narrative_id"], descending=[False, True, False])
        .select(list(TOPIC_NARRATIVES))
        .cast(dict(TOPIC_NARRATIVES))
    )


def document_narratives(scores: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, narrative_id, n_passages, score): the narratives each document carries (the rule:
    at least one of its passages does), with how many of its passages carry it and the highest
    passage score."""
    return (
        scores.group_by("doc_id", "narrative_id")
        .agg(
            pl.col("tagged").sum().cast(pl.UInt32).alias("n_passages"),
            pl.col("score").max().alias("score"),
        )
        .filter(pl.col("n_passages") > 0)
        .sort("doc_id", "narrative_id")
    )
