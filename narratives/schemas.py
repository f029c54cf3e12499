"""The polars schemas that are the contract between modules (see DESIGN.md, "Tables")."""

from __future__ import annotations

import polars as pl

DOCUMENTS = pl.Schema(
    {
        "doc_id": pl.String,
        "date": pl.Date,
        "source": pl.String,
        "title": pl.String,
        "text": pl.String,
        "url": pl.String,
        "lang": pl.String,
    }
)

PASSAGES = pl.Schema(
    {
        "passage_id": pl.String,
        "doc_id": pl.String,
        "position": pl.UInt32,
        "text": pl.String,
    }
)

TOPICS = pl.Schema(
    {
        "topic_id": pl.Int32,
        "label": pl.String,
        "narrative_id": pl.String,
        "keywords": pl.List(pl.String),
        "size": pl.UInt32,
        "representative_passage_ids": pl.List(pl.String),
    }
)

ASSIGNMENTS = pl.Schema(
    {
        "passage_id": pl.String,
        "doc_id": pl.String,
        "topic_id": pl.Int32,
        "probability": pl.Float32,
    }
)

# The drift tables every run carries besides the four above (narratives/analysis.py builds them).
DRIFT_TABLES = ("prevalence", "passage_prevalence", "drift", "outlets", "keyword_drift")

UNKNOWN_SOURCE = "unknown"
OUTLIER_TOPIC = -1


def conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Select and cast ``df`` to ``schema`` (order and dtypes); absent columns become null."""
    return df.select(
        [
            (pl.col(name) if name in df.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
