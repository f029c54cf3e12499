"""Model pieces that need no training: size-adaptive parameters and the neighbour search."""

from __future__ import annotations

import numpy as np
import pytest

from narratives import model
from narratives.model import adapt_min_topic_size, adapt_n_neighbors, exact_knn, umap_for


def _unit_rows(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_exact_knn_matches_brute_force_and_puts_self_first() -> None:
    rows = _unit_rows(300)
    indices, distances = exact_knn(rows, 7, chunk=64)
    sims = rows @ rows.T
    np.fill_diagonal(sims, np.inf)
    expected = np.argsort(-sims, axis=1, kind="stable")[:, :7]
    assert np.array_equal(indices, expected)
    assert np.array_equal(indices[:, 0], np.arange(300))
    assert np.allclose(distances[:, 0], 0.0)
    assert (np.diff(distances, axis=1) >= -1e-6).all()


def test_umap_gets_exact_neighbours_only_below_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _unit_rows(50)
    small = umap_for(rows, 5, 2, seed=1)
    assert small.precomputed_knn[0] is not None and small.precomputed_knn[0].shape == (50, 5)
    monkeypatch.setattr(model, "EXACT_KNN_MAX_PASSAGES", 10)
    large = umap_for(rows, 5, 2, seed=1)
    assert large.precomputed_knn == (None, None, None)


@pytest.mark.parametrize(("n", "size"), [(10, 3), (50, 4), (1_000, 16), (100_000, 158)])
def test_min_topic_size_grows_with_the_corpus(n: int, size: int) -> None:
    assert adapt_min_topic_size(n) == size


def test_neighbourhood_shrinks_for_tiny_corpora() -> None:
    assert adapt_n_neighbors(16) == 5
    assert adapt_n_neighbors(10_000) == 15
