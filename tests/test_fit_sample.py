"""Fitting a large corpus on a sample: the sample is stratified by month and outlet, and every
passage outside it still gets the topic of the passages it is nearest to."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from narratives.config import ModelSettings, TrainConfig
from narratives.defaults import DEFAULT_FIT_SAMPLE
from narratives.embed import get_embedder
from narratives.errors import InputError
from narratives.model import TopicModel
from narratives.sampling import passage_strata, stratified_sample


def test_sample_is_proportional_to_each_stratum_and_seeded() -> None:
    strata = pl.Series(["a"] * 700 + ["b"] * 200 + ["c"] * 97 + ["d"] * 3)
    rows = stratified_sample(strata, 100, seed=1)
    assert len(rows) == 100 and len(set(rows.tolist())) == 100
    assert (np.diff(rows) > 0).all()
    drawn = strata.gather(rows).value_counts().sort("")
    counts = dict(zip(drawn[""].to_list(), drawn["count"].to_list(), strict=True))
    assert counts == {"a": 70, "b": 20, "c": 10}
    assert np.array_equal(rows, stratified_sample(strata, 100, seed=1))
    assert not np.array_equal(rows, stratified_sample(strata, 100, seed=2))
    assert np.array_equal(stratified_sample(strata, 5000, seed=1), np.arange(1000))


def test_strata_are_month_and_outlet_of_the_document() -> None:
    documents = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c"],
            "date": [date(2024, 1, 5), date(2024, 2, 1), None],
            "source": ["WELT", "RT DE", None],
        }
    )
    passages = pl.DataFrame({"doc_id": ["b", "a", "a", "c"]})
    assert passage_strata(passages, documents).to_list() == [
        "2024-02|RT DE",
        "2024-01|WELT",
        "2024-01|WELT",
        "|",
    ]


def _clustered(n_per: int, k: int = 4, d: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 3
    truth = np.repeat(np.arange(k), n_per)
    vectors = (centres[truth] + rng.normal(size=(len(truth), d))).astype(np.float32)
    words = [["panzer", "front"], ["gas", "preis"], ["wahl", "partei"], ["fussball", "tor"]]
    texts = [f"{' '.join(words[t])} bericht nummer {i}" for i, t in enumerate(truth)]
    passages = pl.DataFrame({"passage_id": [f"p{i}" for i in range(len(truth))], "text": texts})
    passages = passages.with_columns(pl.col("passage_id").alias("doc_id"))
    return passages, vectors, truth


@pytest.mark.slow
def test_passages_outside_the_sample_join_their_neighbours_topic() -> None:
    passages, vectors, truth = _clustered(150)
    config = TrainConfig(embedder="tfidf-svd", model=ModelSettings(min_topic_size=20))
    sample = stratified_sample(pl.Series(["x"] * passages.height), 240, seed=3)
    model = TopicModel.from_config(config, get_embedder("tfidf-svd")).fit(passages, vectors, sample)
    assert model.params_.n_fit == 240 and model.params_.n_passages == 600
    topics = model.assignments_["topic_id"].to_numpy()
    assert model.assignments_["passage_id"].to_list() == passages["passage_id"].to_list()
    rest = np.setdiff1d(np.arange(600), sample)
    kept = topics[rest] >= 0
    assert abs((1 - kept.mean()) - (topics[sample] < 0).mean()) < 0.05
    assert adjusted_rand_score(truth[rest][kept], topics[rest][kept]) > 0.95
    sizes = model.topics_.select("topic_id", "size")
    counted = model.assignments_.group_by("topic_id").len().sort("topic_id")
    assert sizes.sort("topic_id")["size"].to_list() == counted["len"].to_list()


def test_fit_sample_below_a_hundred_is_refused() -> None:
    with pytest.raises(InputError, match="fit_sample"):
        ModelSettings(fit_sample=10)
    assert ModelSettings(fit_sample=None).fit_sample is None
    assert ModelSettings(fit_sample=0).fit_sample is None


def test_a_large_reference_votes_through_a_sample_stratified_by_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from narratives import novelty

    _, vectors, truth = _clustered(150)
    order = np.random.default_rng(4).permutation(len(truth))
    stored, new = order[:400], order[400:]
    monkeypatch.setattr(novelty, "MAX_REFERENCE", 120)
    assigner = novelty.TopicAssigner.fit(vectors[stored], truth[stored], seed=1)
    assert len(assigner.embeddings) == 120
    expected = np.bincount(truth[stored]) * 120 / 400
    assert np.abs(np.bincount(assigner.topics) - expected).max() <= 1
    topics, _, _ = assigner.transform(vectors[new])
    assert (topics >= 0).mean() > 0.9
    assert (topics[topics >= 0] == truth[new][topics >= 0]).mean() > 0.97


def test_a_full_fit_survives_the_config_round_trip() -> None:
    config = TrainConfig(model=ModelSettings(fit_sample=None))
    assert TrainConfig.from_dict(config.to_dict()).model.fit_sample is None
    assert TrainConfig.from_dict(TrainConfig().to_dict()).model.fit_sample == DEFAULT_FIT_SAMPLE
