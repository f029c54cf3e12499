"""Prevalence and drift tables written into each run: shares, intervals, undated documents."""

from __future__ import annotations

from datetime import date

import polars as pl

from narratives.drift import (
    ALL_SOURCES,
    STATUSES,
    DriftSettings,
    compute_drift,
    compute_prevalence,
)
from narratives.schemas import ASSIGNMENTS, DOCUMENTS, conform


def _corpus() -> tuple[pl.DataFrame, pl.DataFrame]:
    documents = conform(
        pl.DataFrame(
            {
                "doc_id": ["a", "b", "c", "d", "e"],
                "date": [
                    date(2023, 1, 5),
                    date(2023, 1, 20),
                    date(2023, 2, 1),
                    None,
                    date(2023, 2, 9),
                ],
                "source": ["RT DE", "WELT", "WELT", "WELT", "RT DE"],
                "text": ["x"] * 5,
            }
        ),
        DOCUMENTS,
    )
    assignments = conform(
        pl.DataFrame(
            {
                "passage_id": ["a#0", "a#1", "b#0", "c#0", "d#0", "e#0"],
                "doc_id": ["a", "a", "b", "c", "d", "e"],
                "topic_id": [0, 1, 0, 1, 0, 1],
                "probability": [1.0] * 6,
            }
        ),
        ASSIGNMENTS,
    )
    return documents, assignments


def test_prevalence_counts_each_document_once_per_topic() -> None:
    documents, assignments = _corpus()
    prevalence = compute_prevalence(documents, assignments, period="month")
    overall = prevalence.filter(pl.col("source") == ALL_SOURCES)
    january = overall.filter(pl.col("period") == date(2023, 1, 1)).sort("topic_id")
    assert january["n_docs"].to_list() == [2, 1]
    assert january["n_period_docs"].to_list() == [2, 2]
    assert january["share"].to_list() == [1.0, 0.5]
    february = overall.filter(pl.col("period") == date(2023, 2, 1)).sort("topic_id")
    assert february["share"].to_list() == [0.0, 1.0]
    assert overall["n_period_docs"].max() == 2, "the undated document is not placed in a period"
    assert (prevalence["ci_low"] <= prevalence["share"]).all()
    assert (prevalence["share"] <= prevalence["ci_high"]).all()
    assert prevalence["small_period"].all()


def test_prevalence_per_outlet() -> None:
    documents, assignments = _corpus()
    prevalence = compute_prevalence(documents, assignments, period="month")
    rt = prevalence.filter((pl.col("source") == "RT DE") & (pl.col("period") == date(2023, 2, 1)))
    assert rt.sort("topic_id")["share"].to_list() == [0.0, 1.0]


def test_drift_compares_each_period_with_the_previous() -> None:
    documents, assignments = _corpus()
    drift = compute_drift(compute_prevalence(documents, assignments, period="month"))
    topic0 = drift.filter((pl.col("source") == ALL_SOURCES) & (pl.col("topic_id") == 0)).sort(
        "period"
    )
    assert topic0["share_change"].to_list() == [None, -1.0]
    assert topic0["status"].to_list() == ["stable", "stable"], "2 documents are too few to call"
    assert set(drift["status"].unique()) <= set(STATUSES)
    lenient = compute_drift(
        compute_prevalence(documents, assignments, period="month"), DriftSettings(min_docs=1)
    )
    gone = lenient.filter((pl.col("source") == ALL_SOURCES) & (pl.col("topic_id") == 0))
    assert gone.sort("period")["status"].to_list() == ["stable", "gone"]
    assert drift["p_value"].drop_nulls().is_between(0, 1).all()
