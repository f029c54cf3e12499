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


def test_a_second_process_loads_umaps_kernels_instead_of_compiling_them(tmp_path) -> None:
    """UMAP's numba kernels are compiled once and cached on disk (narratives.jit_cache)."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, numpy as np, umap.umap_ as u\n"
        "from narratives.model import umap_for\n"
        "x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)\n"
        "x /= np.linalg.norm(x, axis=1, keepdims=True)\n"
        "umap_for(x, 10, 2, 0).fit(x)\n"
        "s = u.smooth_knn_dist.stats\n"
        "print(json.dumps({'hits': sum(s.cache_hits.values()),"
        " 'misses': sum(s.cache_misses.values())}))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        for _ in range(2)
    ]
    assert runs[0]["misses"] >= 1, "the first process compiles (and writes the cache)"
    assert runs[1] == {"hits": runs[0]["misses"], "misses": 0}, "the second one loads it"
    assert any(tmp_path.rglob("*.nbi"))


def test_centred_rows_project_as_the_centred_matrix_does() -> None:
    from narratives.detect.head import CentredRows, centred

    rows = _unit_rows(400, d=32)
    mean = rows.mean(axis=0)
    rows[7] = mean  # the corpus mean itself centres to a zero row
    weights = np.random.default_rng(1).normal(size=(32, 5)).astype(np.float32)
    expected = centred(rows, mean) @ weights
    got = CentredRows(rows, mean) @ weights
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not got[7].any()
    np.testing.assert_allclose(CentredRows(rows, mean) @ weights[:, 0], expected[:, 0], atol=1e-5)
