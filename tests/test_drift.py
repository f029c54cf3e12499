"""The drift engine against corpora with a known truth (real seed passages, assigned dates)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from drift_corpora import NARRATIVE, OUTLETS, planted_corpus

from narratives.drift import (
    ALL_SOURCES,
    DriftSettings,
    choose_period,
    compute_drift,
    compute_prevalence,
    drift_tables,
    headline_changes,
)
from narratives.drift.keywords import keyword_drift
from narratives.drift.outlets import compare_outlets
from narratives.schemas import ASSIGNMENTS, DOCUMENTS, conform
from narratives.vectorizer import TopicWordAnalyzer

STEP = date(2023, 7, 1)


def _topic_rows(drift: pl.DataFrame, topic: int = NARRATIVE) -> pl.DataFrame:
    return drift.filter((pl.col("source") == ALL_SOURCES) & (pl.col("topic_id") == topic)).sort(
        "period"
    )


def test_planted_step_is_found_at_its_month_and_significant() -> None:
    documents, _, assignments = planted_corpus(np.random.default_rng(1), [0.1] * 6 + [0.4] * 6)
    drift = compute_drift(compute_prevalence(documents, assignments, period="month"))
    rows = _topic_rows(drift)
    assert rows.filter(pl.col("change_point"))["period"].to_list() == [STEP]
    step = rows.filter(pl.col("period") == STEP).row(0, named=True)
    assert step["status"] == "emerging"
    assert step["p_adjusted"] < 0.05 and step["change_p_value"] < 0.05
    assert 0.15 < step["share_change"] < 0.4


@pytest.mark.parametrize("after", [0.2, 0.4])
def test_planted_steps_are_found_across_draws(after: float) -> None:
    found = 0
    for seed in range(10):
        rng = np.random.default_rng(500 + seed)
        documents, _, assignments = planted_corpus(rng, [0.1] * 6 + [after] * 6)
        drift = compute_drift(compute_prevalence(documents, assignments, period="month"))
        found += _topic_rows(drift).filter(pl.col("change_point"))["period"].to_list() == [STEP]
    assert found >= 8


def test_no_change_yields_no_significant_change_in_most_draws() -> None:
    draws, false_alarms = 30, 0
    for seed in range(draws):
        documents, _, assignments = planted_corpus(np.random.default_rng(900 + seed), [0.1] * 12)
        drift = compute_drift(compute_prevalence(documents, assignments, period="month"))
        alarms = drift.filter(
            (pl.col("p_adjusted") < 0.05)
            | pl.col("change_point")
            | pl.col("status").is_in(["emerging", "fading", "new", "gone"])
        )
        false_alarms += alarms.height > 0
    assert false_alarms / draws <= 0.10, f"{false_alarms} of {draws} draws raised an alarm"


def test_shares_are_consistent_and_intervals_contain_them() -> None:
    documents, _, assignments = planted_corpus(np.random.default_rng(3), [0.2] * 4)
    prevalence = compute_prevalence(documents, assignments, period="month")
    for (source, period), group in prevalence.group_by(["source", "period"]):
        # one passage per document and one topic per passage: the shares of a period sum to 1
        assert group["share"].sum() == pytest.approx(1.0), (source, period)
    assert (prevalence["ci_low"] <= prevalence["share"]).all()
    assert (prevalence["share"] <= prevalence["ci_high"]).all()
    assert set(prevalence["source"].unique()) == {ALL_SOURCES, *OUTLETS}
    passages = compute_prevalence(documents, assignments, period="month", unit="passage")
    assert passages["n_passages"].sum() == prevalence["n_docs"].sum()


def _two_document_tables(
    dates: list[date | None], topics: list[int], texts: list[str], sources: list[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Documents "a" and "b", one passage each, with the given dates, topics and texts."""
    ids = ["a", "b"]
    passage_ids = ["a#0", "b#0"]
    documents = conform(
        pl.DataFrame({"doc_id": ids, "date": dates, "source": sources, "text": texts}),
        DOCUMENTS,
    )
    passages = pl.DataFrame(
        {"passage_id": passage_ids, "doc_id": ids, "position": [0, 0], "text": texts}
    ).with_columns(pl.col("position").cast(pl.UInt32))
    assignments = conform(
        pl.DataFrame(
            {"passage_id": passage_ids, "doc_id": ids, "topic_id": topics, "probability": [1.0] * 2}
        ),
        ASSIGNMENTS,
    )
    return documents, passages, assignments


def test_empty_and_one_document_periods_do_not_crash() -> None:
    documents, passages, assignments = _two_document_tables(
        [date(2023, 1, 10), date(2023, 4, 2)],
        [0, 1],
        ["Munition wird knapp.", "Friedensgespräche beginnen."],
        ["X", "Y"],
    )
    result = drift_tables(documents, passages, assignments, DriftSettings(period="month"))
    prevalence = result.tables["prevalence"].filter(pl.col("source") == ALL_SOURCES)
    assert prevalence["period"].n_unique() == 4, "February and March are kept, empty"
    empty = prevalence.filter(pl.col("n_period_docs") == 0)
    assert empty.height == 4 and empty["share"].null_count() == 4
    assert prevalence["small_period"].all()
    drift = result.tables["drift"]
    assert drift.filter(pl.col("n_period_docs") == 0)["status"].unique().to_list() == ["no data"]
    assert result.tables["keyword_drift"].height == 2


def test_single_period_and_undated_corpus() -> None:
    documents, passages, assignments = _two_document_tables(
        [None, date(2023, 1, 1)], [0, 0], ["x", "y"]
    )
    result = drift_tables(documents, passages, assignments)
    assert result.n_undated_documents == 1
    assert result.tables["prevalence"]["n_period_docs"].max() == 1
    undated_only = documents.with_columns(pl.lit(None, dtype=pl.Date).alias("date"))
    empty = drift_tables(undated_only, passages, assignments)
    assert empty.n_undated_documents == 2
    assert empty.tables["prevalence"].is_empty() and empty.tables["drift"].is_empty()


def test_keywords_of_a_period_come_from_that_periods_passages_only() -> None:
    documents, passages, assignments = planted_corpus(
        np.random.default_rng(5), [0.1] * 3 + [0.4] * 3, docs_per_month=40
    )
    table = keyword_drift(passages, assignments, documents, period="month")
    analyzer = TopicWordAnalyzer(ngram_range=(1, 1))
    texts = assignments.join(passages.select("passage_id", "text"), on="passage_id").join(
        documents.select("doc_id", pl.col("date").dt.truncate("1mo").alias("period")), on="doc_id"
    )
    assert table.height > 0
    for row in table.iter_rows(named=True):
        own = texts.filter(
            (pl.col("topic_id") == row["topic_id"]) & (pl.col("period") == row["period"])
        )["text"]
        words = {term for text in own for term in analyzer(text)}
        assert row["keywords"], row
        for keyword in row["keywords"]:
            assert keyword.lower() in words, (keyword, row["topic_id"], row["period"])
    later = table.filter(pl.col("entered").list.len() > 0)
    for row in later.iter_rows(named=True):
        assert set(row["entered"]) <= set(row["keywords"])


def test_outlet_comparison_finds_the_outlet_that_pushes_a_narrative() -> None:
    documents, _, assignments = planted_corpus(np.random.default_rng(7), [0.1] * 6)
    rt_docs = documents.filter(pl.col("source") == "RT DE")["doc_id"]
    pushed = assignments.with_columns(
        pl.when(pl.col("doc_id").is_in(rt_docs.implode()) & (pl.int_range(pl.len()) % 2 == 0))
        .then(NARRATIVE)
        .otherwise(pl.col("topic_id"))
        .alias("topic_id")
    )
    outlets = compare_outlets(documents, pushed, period="quarter")
    overall = outlets.filter(pl.col("period").is_null() & (pl.col("topic_id") == NARRATIVE))
    rt = overall.filter(pl.col("source") == "RT DE").row(0, named=True)
    assert rt["representation"] == "over" and rt["lift"] > 2 and rt["p_adjusted"] < 0.05
    others = overall.filter(pl.col("source") != "RT DE")["representation"].to_list()
    assert set(others) <= {"under", "as expected"}
    assert outlets.filter(pl.col("period").is_not_null()).height > 0
    rt_jsd = overall.filter(pl.col("source") == "RT DE")["jsd_to_others"][0]
    assert rt_jsd > overall.filter(pl.col("source") == "WELT")["jsd_to_others"][0]


def test_headlines_name_the_planted_change() -> None:
    documents, _, assignments = planted_corpus(np.random.default_rng(1), [0.1] * 6 + [0.4] * 6)
    drift = compute_drift(compute_prevalence(documents, assignments, period="month"))
    topics = pl.DataFrame(
        {"topic_id": [0, 1, 2, 3, 4], "label": list("ABCDE"), "narrative_id": [None] * 5}
    ).with_columns(pl.col("topic_id").cast(pl.Int32))
    top = headline_changes(drift, topics, limit=3).row(0, named=True)
    assert (top["period"], top["label"], top["status"]) == (STEP, "A", "emerging")


@pytest.mark.parametrize(
    ("days", "period"), [(20, "day"), (120, "week"), (800, "month"), (4000, "quarter")]
)
def test_period_is_picked_from_the_span(days: int, period: str) -> None:
    dates = pl.Series([date(2020, 1, 1), date.fromordinal(date(2020, 1, 1).toordinal() + days)])
    assert choose_period(dates) == period


def test_vectorised_fisher_matches_scipy_on_small_and_wide_tables() -> None:
    from scipy.stats import fisher_exact

    from narratives.drift.stats import fisher_two_sided

    rng = np.random.default_rng(3)
    tables = np.concatenate(
        [rng.integers(0, 12, (400, 4)), rng.integers(0, 300, (60, 4)), [[0, 300, 2, 5000]]]
    )
    margins = np.stack(
        [
            tables[:, :2].sum(1),
            tables[:, 2:].sum(1),
            tables[:, [0, 2]].sum(1),
            tables[:, [1, 3]].sum(1),
        ]
    )
    tables = tables[(margins > 0).all(axis=0)]
    expected = [fisher_exact([[t[0], t[1]], [t[2], t[3]]])[1] for t in tables]
    assert np.allclose(fisher_two_sided(tables), expected, rtol=1e-9, atol=1e-12)
