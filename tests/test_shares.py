"""Narrative shares corrected for the detector's errors: the estimators, their intervals, the
fallback to counting, and drift on corrected shares with planted changes and planted noise."""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import polars as pl
import pytest

from narratives.drift import DriftSettings
from narratives.drift.narrative_tables import narrative_drift_tables, narrative_tags
from narratives.shares import ShareEstimate, error_rates, narrative_rates
from narratives.shares.estimate import estimate
from narratives.shares.rates import ErrorRates, Items


def _detector(rng, truth: np.ndarray, tpr: float, fpr: float) -> Items:
    """What a detector with these rates says of items whose truth is given."""
    tagged = np.where(truth, rng.random(truth.size) < tpr, rng.random(truth.size) < fpr)
    score = np.clip(np.where(tagged, 0.8, 0.2) + rng.normal(0, 0.1, truth.size), 0, 1)
    return Items(truth, tagged, tagged, score, "test")


def _rates(rng, n_pos: int, n_neg: int, tpr: float = 0.8, fpr: float = 0.05) -> ErrorRates:
    truth = np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]
    return error_rates(_detector(rng, truth, tpr, fpr))


def _cell(items: Items, rates: ErrorRates, method: str, **kwargs) -> dict:
    p = rates.posterior(items.query, items.score)
    out = estimate(
        method,
        np.array([items.carries.size]),
        np.array([items.tagged.sum()]),
        np.array([p.sum()]),
        np.array([(p**2).sum()]),
        rates,
        **kwargs,
    )
    return {k: float(v[0]) for k, v in out.items()}


def test_correction_recovers_a_rare_share_that_counting_inflates() -> None:
    rng = np.random.default_rng(0)
    rates = _rates(rng, 200, 2000)
    truth = rng.random(20_000) < 0.01
    corpus = _detector(rng, truth, 0.8, 0.05)
    counted = corpus.tagged.mean()
    assert counted > 0.05, "1% read with 5% false positives looks like 6%"
    for method in ("acc", "pacc"):
        got = _cell(corpus, rates, method)
        assert abs(got["share"] - 0.01) < 0.01, method
        assert got["ci_low"] <= 0.01 <= got["ci_high"] + 0.005
        assert 0 <= got["ci_low"] <= got["share"] <= got["ci_high"] <= 1


def test_a_period_without_tags_gets_no_invented_share_by_default() -> None:
    """Documents that score unlike the labelled items (long articles, another outlet) and carry
    no tag: the default correction does not read a share into their scores, and its interval
    still says how large a share could hide among them."""
    from narratives.shares import DEFAULT_METHOD

    rng = np.random.default_rng(3)
    rates = _rates(rng, 30, 220, tpr=0.7, fpr=0.0)
    n = 300
    shifted = Items(
        carries=np.zeros(n, bool),
        tagged=np.zeros(n, bool),
        query=np.zeros(n, bool),
        score=np.full(n, 0.6),
        source="test",
    )
    got = _cell(shifted, rates, DEFAULT_METHOD)
    assert got["share"] == 0.0 and got["ci_low"] == 0.0
    assert 0.0 < got["ci_high"] < 0.05, "no tag in 300: a few percent could hide, not more"


def test_no_false_positive_among_few_negatives_is_not_a_certain_zero() -> None:
    """100 negatives without a false positive bound the rate below about 2.5%, not at 0: with
    the true-positive rate known well and a large corpus, that alone must widen the band."""
    rng = np.random.default_rng(4)
    rates = _rates(rng, 20_000, 100, tpr=0.8, fpr=0.0)
    assert rates.fpr == 0.0
    corpus = _detector(rng, rng.random(200_000) < 0.02, 0.8, 0.0)
    got = _cell(corpus, rates, "acc")
    assert got["share"] == pytest.approx(0.02, abs=0.002)
    assert got["ci_low"] < 0.8 * got["share"]


def test_closed_forms_are_what_quapy_computes() -> None:
    from quapy.method.aggregative import ACC, PACC, PCC
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    truth = np.r_[np.ones(60, bool), np.zeros(300, bool)]
    calibration = _detector(rng, truth, 0.7, 0.08)
    rates = error_rates(calibration)
    test = _detector(rng, rng.random(2000) < 0.15, 0.7, 0.08)
    dummy = LogisticRegression().fit([[0], [1]], [0, 1])
    p_cal = rates.posterior(calibration.query, calibration.score)
    p_test = rates.posterior(test.query, test.score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acc = ACC(dummy, fit_classifier=False)
        acc.aggregation_fit(calibration.tagged.astype(int), calibration.carries.astype(int))
        pcc = PCC(dummy, fit_classifier=False)
        pcc.aggregation_fit(np.column_stack([1 - p_cal, p_cal]), calibration.carries.astype(int))
    assert _cell(test, rates, "acc")["share"] == pytest.approx(
        acc.aggregate(test.tagged.astype(int))[1], abs=1e-6
    ), "QuaPy solves the same adjustment numerically"
    assert _cell(test, rates, "pcc")["share"] == pytest.approx(
        pcc.aggregate(np.column_stack([1 - p_test, p_test]))[1], abs=1e-6
    )
    pacc = PACC(dummy, fit_classifier=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pacc.aggregation_fit(np.column_stack([1 - p_cal, p_cal]), calibration.carries.astype(int))
    quapy = pacc.aggregate(np.column_stack([1 - p_test, p_test]))[1]
    assert _cell(test, rates, "pacc")["share"] == pytest.approx(quapy, abs=0.02), (
        "the same correction; QuaPy's means are in-sample, ours out-of-fold"
    )


def test_the_band_widens_when_the_calibration_is_thin() -> None:
    rng = np.random.default_rng(2)
    corpus = _detector(rng, rng.random(3000) < 0.1, 0.8, 0.05)
    thin = _cell(corpus, _rates(rng, 12, 40), "acc", seed=3)
    thick = _cell(corpus, _rates(rng, 400, 4000), "acc", seed=3)
    assert thin["ci_high"] - thin["ci_low"] > 2 * (thick["ci_high"] - thick["ci_low"])
    assert thin["se_calibration"] > 3 * thick["se_calibration"]


def test_too_few_labelled_items_fall_back_to_counting() -> None:
    rng = np.random.default_rng(4)
    items = {
        "rich": _detector(rng, np.r_[np.ones(20, bool), np.zeros(60, bool)], 0.8, 0.05),
        "poor": _detector(rng, np.r_[np.ones(6, bool), np.zeros(60, bool)], 0.8, 0.05),
    }
    chosen = narrative_rates(items, method="pacc")
    assert chosen["rich"].method == "pacc" and chosen["poor"].method == "cc"
    assert narrative_rates(items, method="cc")["rich"].method == "cc", "--shares raw"


def _planted(rng, true_shares: list[float], on_subject: list[float]):
    """A corpus of 300 documents a month whose narrative share and on-subject share are given
    per month; the detector finds 80% of the carriers and tags 6% of the on-subject others."""
    rows = []
    for month, (share, subject) in enumerate(zip(true_shares, on_subject, strict=True)):
        for i in range(300):
            carries = rng.random() < share
            topical = carries or rng.random() < subject
            tagged = rng.random() < (0.8 if carries else 0.06 if topical else 0.0)
            rows.append((f"d{month}-{i}", date(2023, month + 1, 1), carries, tagged))
    frame = pl.DataFrame(rows, schema=["doc_id", "date", "carries", "tagged"], orient="row")
    documents = frame.select(
        "doc_id", "date", pl.lit("X").alias("source"), pl.lit("Krieg und Frieden").alias("text")
    )
    passages = frame.select(
        pl.format("{}#0", "doc_id").alias("passage_id"), "doc_id", pl.lit("Krieg").alias("text")
    )
    scores = passages.select("passage_id", "doc_id").with_columns(
        pl.lit("n").alias("narrative_id"),
        pl.when(frame["tagged"]).then(0.9).otherwise(0.1).alias("score"),
        frame["tagged"].alias("query"),
        frame["tagged"].alias("tagged"),
        pl.lit("query").alias("evidence"),
    )
    return documents, passages, scores


def _drift(documents, passages, scores, rates, method: str = "acc") -> pl.DataFrame:
    estimates = {"n": ShareEstimate("n", method, rates)}
    tables = narrative_drift_tables(
        documents,
        passages,
        narrative_tags(scores),
        ["n"],
        DriftSettings(period="month"),
        period="month",
        languages=("de",),
        scores=scores,
        estimates=estimates,
    )
    return tables["narrative_drift"].filter(pl.col("source") == "*").sort("period")


def test_a_step_from_5_to_20_percent_is_flagged_at_its_month_on_corrected_shares() -> None:
    rng = np.random.default_rng(5)
    calibration = _rates(rng, 40, 200, tpr=0.8, fpr=0.018)  # 6% of the 30% on-subject
    documents, passages, scores = _planted(rng, [0.05] * 6 + [0.2] * 6, [0.3] * 12)
    drift = _drift(documents, passages, scores, calibration)
    step = drift.filter(pl.col("period") == date(2023, 7, 1)).row(0, named=True)
    assert step["change_point"] and step["change_p_value"] < 0.05
    assert drift.filter(pl.col("period") != date(2023, 7, 1))["change_point"].sum() == 0
    before, after = drift["share"].head(6).mean(), drift["share"].tail(6).mean()
    assert abs(before - 0.05) < 0.05 and abs(after - 0.2) < 0.05 and after - before > 0.1


def test_detector_noise_that_tracks_the_news_alone_flags_nothing() -> None:
    rng = np.random.default_rng(6)
    calibration = _rates(rng, 40, 200, tpr=0.8, fpr=0.02)
    on_subject = [0.1, 0.1, 0.15, 0.3, 0.45, 0.5, 0.45, 0.3, 0.2, 0.1, 0.1, 0.15]
    documents, passages, scores = _planted(rng, [0.02] * 12, on_subject)
    drift = _drift(documents, passages, scores, calibration)
    raw = (
        scores.join(documents.select("doc_id", "date"), on="doc_id")
        .group_by("date")
        .agg(pl.col("tagged").mean())
    )
    assert raw["tagged"].max() - raw["tagged"].min() > 0.015, "the counted share does move"
    assert drift["change_point"].sum() == 0
    assert not drift["status"].is_in(["emerging", "fading", "new", "gone"]).any()


def test_a_counted_narrative_keeps_the_exact_test_of_its_counts() -> None:
    """Too few labelled items: the narrative is counted, and a change between two thin months is
    tested as a topic's would be (Fisher's exact test), not with a normal approximation."""
    from narratives.drift.stats import two_proportion_test

    rng = np.random.default_rng(7)
    documents, passages, scores = _planted(rng, [0.0, 0.3], [0.0, 0.0])
    keep = pl.concat(
        [documents.filter(pl.col("date") == d).head(10) for d in documents["date"].unique()]
    )["doc_id"]
    documents, passages, scores = (
        f.filter(pl.col("doc_id").is_in(keep.implode())) for f in (documents, passages, scores)
    )
    drift = _drift(documents, passages, scores, _rates(rng, 5, 20), method="cc")
    first, second = drift.row(0, named=True), drift.row(1, named=True)
    expected = two_proportion_test(
        np.array([second["n_docs"]]), np.array([10]), np.array([first["n_docs"]]), np.array([10])
    )[0]
    assert second["n_docs"] > first["n_docs"] == 0
    assert second["p_value"] == pytest.approx(expected)
