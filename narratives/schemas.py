"""Every table schema of a run: the polars contract between the modules that write and read it.

A run's tables are written by the pipeline (documents, passages, topics, assignments), the drift
engine (prevalence, passage_prevalence, drift, outlets, keyword_drift) and the evaluation
(evaluation_topics, evaluation_labels); ``TABLE_SCHEMAS`` maps each table name to its schema, and
``narratives.runs`` checks every table of a run against it when the run is opened.
See docs/architecture.md for what each column means.
"""

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


def _prevalence(count: str, total: str) -> pl.Schema:
    return pl.Schema(
        {
            "period": pl.Date,
            "source": pl.String,
            "topic_id": pl.Int32,
            count: pl.UInt32,
            total: pl.UInt32,
            "share": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "small_period": pl.Boolean,
        }
    )


PREVALENCE = _prevalence("n_docs", "n_period_docs")
PASSAGE_PREVALENCE = _prevalence("n_passages", "n_period_passages")

DRIFT = pl.Schema(
    {
        "source": pl.String,
        "topic_id": pl.Int32,
        "period": pl.Date,
        "n_docs": pl.UInt32,
        "n_period_docs": pl.UInt32,
        "share": pl.Float64,
        "share_change": pl.Float64,
        "jsd_to_previous": pl.Float64,
        "jsd_to_baseline": pl.Float64,
        "p_value": pl.Float64,
        "p_adjusted": pl.Float64,
        "change_point": pl.Boolean,
        "change_p_value": pl.Float64,
        "status": pl.String,
        "small_period": pl.Boolean,
    }
)

OUTLETS = pl.Schema(
    {
        "source": pl.String,
        "period": pl.Date,
        "topic_id": pl.Int32,
        "n_docs": pl.UInt32,
        "n_source_docs": pl.UInt32,
        "share": pl.Float64,
        "share_others": pl.Float64,
        "lift": pl.Float64,
        "p_value": pl.Float64,
        "p_adjusted": pl.Float64,
        "representation": pl.String,
        "jsd_to_others": pl.Float64,
    }
)

KEYWORD_DRIFT = pl.Schema(
    {
        "topic_id": pl.Int32,
        "period": pl.Date,
        "n_passages": pl.UInt32,
        "keywords": pl.List(pl.String),
        "entered": pl.List(pl.String),
        "left": pl.List(pl.String),
    }
)

EVALUATION_TOPICS = pl.Schema(
    {
        "topic_id": pl.Int32,
        "label": pl.String,
        "size": pl.UInt32,
        "terms": pl.List(pl.String),
        "npmi": pl.Float64,
    }
)

_PRF = {
    "n_gold": pl.UInt32,
    "n_predicted": pl.UInt32,
    "n_correct": pl.UInt32,
    "precision": pl.Float64,
    "recall": pl.Float64,
    "f1": pl.Float64,
}
"""Counts and precision, recall and F1 of a predicted class against gold labels."""

EVALUATION_LABELS = pl.Schema({"label": pl.String, "narratives": pl.List(pl.String), **_PRF})

NARRATIVE_SCORES = pl.Schema(
    {
        "passage_id": pl.String,
        "doc_id": pl.String,
        "narrative_id": pl.String,
        "score": pl.Float32,
        "query": pl.Boolean,
        "tagged": pl.Boolean,
        "evidence": pl.String,
    }
)
"""Every passage x catalogued narrative: the head's score, whether the query matched, whether
the passage carries the narrative and why (query, head, feedback)."""

NARRATIVES = pl.Schema(
    {
        "narrative_id": pl.String,
        "label_de": pl.String,
        "label_en": pl.String,
        "n_examples": pl.UInt32,
        "n_counter_examples": pl.UInt32,
        "n_confirmed": pl.UInt32,
        "n_rejected": pl.UInt32,
        "has_query": pl.Boolean,
        "query_recall": pl.Float64,
        "head_threshold": pl.Float64,
        "head_expected_precision": pl.Float64,
        "n_passages": pl.UInt32,
        "share_method": pl.String,
        "calibration_source": pl.String,
        "n_calibration_positives": pl.UInt32,
        "n_calibration_negatives": pl.UInt32,
        "tpr": pl.Float64,
        "fpr": pl.Float64,
        "mean_posterior_positive": pl.Float64,
        "mean_posterior_negative": pl.Float64,
        "posterior_query": pl.Float64,
        "posterior_score": pl.Float64,
        "posterior_intercept": pl.Float64,
    }
)
"""One row per catalogued narrative: its material, how the detector was calibrated, and the
error rates its shares are corrected with (measured on how many labelled items, from where)."""

TOPIC_NARRATIVES = pl.Schema(
    {
        "topic_id": pl.Int32,
        "narrative_id": pl.String,
        "n_passages": pl.UInt32,
        "share": pl.Float64,
    }
)
"""Which catalogued narratives a discovered topic's passages carry, and in what share."""


def _by_narrative(schema: pl.Schema) -> pl.Schema:
    """A topic table's schema keyed by catalogued narrative instead (narrative_id, a String)."""
    return pl.Schema(
        {
            ("narrative_id" if name == "topic_id" else name): (
                pl.String if name == "topic_id" else dtype
            )
            for name, dtype in schema.items()
        }
    )


NARRATIVE_PREVALENCE = pl.Schema(
    {
        "period": pl.Date,
        "source": pl.String,
        "narrative_id": pl.String,
        "n_docs": pl.UInt32,
        "n_period_docs": pl.UInt32,
        "share_raw": pl.Float64,
        "share": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "method": pl.String,
        "n_calibration": pl.UInt32,
        "se_sampling": pl.Float64,
        "se_calibration": pl.Float64,
        "small_period": pl.Boolean,
    }
)
"""Documents carrying each narrative per period and outlet view: the counted share (share_raw)
and the share corrected for the detector's errors (share, with a bootstrap interval over
documents and labelled items, the method and how many labelled items back it)."""
NARRATIVE_PASSAGE_PREVALENCE = _by_narrative(PASSAGE_PREVALENCE)
NARRATIVE_DRIFT = _by_narrative(DRIFT)
NARRATIVE_OUTLETS = _by_narrative(OUTLETS)
NARRATIVE_KEYWORD_DRIFT = _by_narrative(KEYWORD_DRIFT)

NOVELTY = pl.Schema(
    {
        "period": pl.Date,
        "kind": pl.String,
        "topic_id": pl.Int32,
        "n_docs": pl.UInt32,
        "n_period_docs": pl.UInt32,
        "share": pl.Float64,
        "popularity": pl.Float64,
        "signal": pl.String,
        "trend": pl.Float64,
    }
)
"""The novelty table: per period, one row of kind ``unassigned`` (new documents with a passage
that fits no topic, topic_id null) and one per topic of kind ``topic`` or ``candidate``."""

EVALUATION_NARRATIVES = pl.Schema(
    {
        "narrative_id": pl.String,
        **_PRF,
        "share_gold": pl.Float64,
        "share_raw": pl.Float64,
        "share": pl.Float64,
        "share_method": pl.String,
        "abs_error_raw": pl.Float64,
        "abs_error": pl.Float64,
    }
)
"""Per catalogued narrative, against gold labels that are catalog narratives (multi-label): the
tags' precision, recall and F1, and the narrative's share among the labelled items as the labels
give it, as counted (raw) and as corrected, with their absolute errors."""

REQUIRED_TABLES = ("documents", "passages", "topics", "assignments")
"""The tables every complete run has."""

DRIFT_TABLES = ("prevalence", "passage_prevalence", "drift", "outlets", "keyword_drift")
"""The drift engine's tables of the discovered topics, which every trained run carries."""

NARRATIVE_TABLES = ("narratives", "narrative_scores", "topic_narratives")
"""What the detector found: the catalogued narratives, every passage's scores, and which
narratives each topic's passages carry."""

NARRATIVE_DRIFT_TABLES = tuple(f"narrative_{name}" for name in DRIFT_TABLES)
"""The drift engine's tables of the catalogued narratives (keyed by narrative_id)."""

LINEAGE = pl.Schema(
    {
        "parent_topic_id": pl.Int32,
        "topic_id": pl.Int32,
        "relation": pl.String,
        "overlap": pl.Float64,
        "similarity": pl.Float64,
    }
)
"""How a retrain's topics continue its parent's (`train --parent`, narratives.lineage): one row
per relation (continued, split, merged, new, gone); ``overlap`` the share of the parent topic's
shared passages that went to the topic, ``similarity`` their centroids' cosine."""

REPEATS = pl.Schema({"doc_id": pl.String, "kept_doc_id": pl.String})
"""The corpus rows the loader dropped as repeats (the same text in the same outlet) and the
document each repeats, so that a label given to a repeated row is scored by that document."""

NOVELTY_TABLES = ("novelty", "lineage")
"""What `narratives assign` adds (the unassigned share, candidate topics and signal classes) and
what `train --parent` adds (the lineage of the topics)."""

EVALUATION_TABLES = ("evaluation_topics", "evaluation_labels", "evaluation_narratives")
"""The tables `narratives evaluate` adds."""

TABLE_SCHEMAS: dict[str, pl.Schema] = {
    "documents": DOCUMENTS,
    "passages": PASSAGES,
    "topics": TOPICS,
    "assignments": ASSIGNMENTS,
    "prevalence": PREVALENCE,
    "passage_prevalence": PASSAGE_PREVALENCE,
    "drift": DRIFT,
    "outlets": OUTLETS,
    "keyword_drift": KEYWORD_DRIFT,
    "narratives": NARRATIVES,
    "narrative_scores": NARRATIVE_SCORES,
    "topic_narratives": TOPIC_NARRATIVES,
    "narrative_prevalence": NARRATIVE_PREVALENCE,
    "narrative_passage_prevalence": NARRATIVE_PASSAGE_PREVALENCE,
    "narrative_drift": NARRATIVE_DRIFT,
    "narrative_outlets": NARRATIVE_OUTLETS,
    "narrative_keyword_drift": NARRATIVE_KEYWORD_DRIFT,
    "novelty": NOVELTY,
    "lineage": LINEAGE,
    "repeats": REPEATS,
    "evaluation_topics": EVALUATION_TOPICS,
    "evaluation_labels": EVALUATION_LABELS,
    "evaluation_narratives": EVALUATION_NARRATIVES,
}

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
