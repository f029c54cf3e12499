"""`--engine ray`: embedding, query matching and assignment as Ray Data actors in local mode give
the same run as the local engine (one Ray start for the whole module)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.browser import loopback_only
from tests.conftest import run_cli, shared_corpus

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")
pytestmark = pytest.mark.slow

SLICE = 600
FIT_SAMPLE = 300


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray's processes talk over loopback; nothing else is reachable."""
    loopback_only(monkeypatch)


@pytest.fixture(scope="module")
def engine():
    from narratives.engine import get_engine

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield get_engine("ray", workers=2)
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 real German headlines, 2022-2026, from 15 outlets."""
    path = shared_corpus("headlines_de/headlines_de.jsonl")
    documents = pl.read_ndjson(path).select("doc_id", "date", "source", "title", "text", "url")
    sliced = tmp_path_factory.mktemp("ray-corpus") / "slice.jsonl"
    documents.sample(SLICE, seed=11).sort("date").write_ndjson(sliced)
    return sliced


def _config(cache: Path):
    from narratives.config import TrainConfig

    config = TrainConfig(cache_dir=str(cache))
    return replace(config, model=replace(config.model, fit_sample=FIT_SAMPLE))


def _tables(run) -> dict[str, pl.DataFrame]:
    return {name: run.table(name) for name in ("topics", "assignments", "narrative_scores")}


def test_ray_engine_gives_the_local_engine_s_run(engine, corpus: Path, tmp_path: Path) -> None:
    import narratives

    cache = tmp_path / "cache"
    models = tmp_path / "models"
    local = narratives.train(
        corpus,
        config=_config(cache),
        run="local",
        models_dir=models,
        progress=False,
        verbose=False,
    )
    distributed = narratives.train(
        corpus,
        config=_config(cache),
        run="ray",
        models_dir=models,
        engine=engine,
        progress=False,
        verbose=False,
    )
    assert local.record.model["n_fit"] == FIT_SAMPLE < local.record.metrics.n_passages
    for name, table in _tables(local).items():
        other = _tables(distributed)[name]
        assert table.equals(other), name
    assert local.prevalence().equals(distributed.prevalence())


def test_ray_embeddings_and_matches_equal_the_local_ones(engine, corpus: Path) -> None:
    from narratives.catalog import load_catalog
    from narratives.embed import get_embedder
    from narratives.engine import LOCAL
    from narratives.novelty import TopicAssigner

    texts = pl.read_ndjson(corpus)["title"].to_list()[:200]
    embedder = get_embedder()
    here = LOCAL.encode(texts, embedder, 64, False)
    there = engine.encode(texts, get_embedder(), 64, False)
    assert there.shape == here.shape and there.dtype == np.float32
    assert np.allclose(here, there, atol=1e-5)

    queries = load_catalog().queries
    assert np.array_equal(
        LOCAL.match(queries, texts, ("de", "en"), 3), engine.match(queries, texts, ("de", "en"), 3)
    )
    assigner = TopicAssigner.fit(here[:120], np.arange(120) % 4, seed=1)
    for mine, theirs in zip(
        LOCAL.assign(assigner, here[120:]), engine.assign(assigner, here[120:]), strict=True
    ):
        assert np.array_equal(mine, theirs)


def test_cli_takes_the_engine_and_refuses_an_address_without_ray(
    engine, tmp_path: Path, capsys
) -> None:
    from tests.conftest import SEEDS

    models = tmp_path / "models"
    args = ["train", str(SEEDS), "--models-dir", str(models), "--quiet"]
    code, _, err = run_cli([*args, "--run", "ray", "--engine", "ray", "--workers", "2"], capsys)
    assert code == 0, err
    assert (models / "ray" / "run.json").is_file()
    code, _, err = run_cli([*args, "--run", "x", "--address", "auto"], capsys)
    assert code == 2 and "--address needs --engine ray" in err
    assert not (models / "x").exists()
