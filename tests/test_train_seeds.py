"""Training on the bundled seeds, end to end: narratives found, deterministic, complete run."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import SEEDS

from narratives.config import TrainConfig
from narratives.pipeline import train
from narratives.runs import load_run

pytestmark = pytest.mark.slow


def _main_narrative(run, doc_id: str) -> str | None:
    """The catalogued narrative carried by most of a document's passages."""
    topics = run.table("topics").select("topic_id", "narrative_id")
    ranked = (
        run.table("assignments")
        .filter(pl.col("doc_id") == doc_id)
        .join(topics, on="topic_id")
        .filter(pl.col("narrative_id").is_not_null())
        .group_by("narrative_id")
        .len()
        .sort(["len", "narrative_id"], descending=[True, False])
    )
    return ranked["narrative_id"][0] if ranked.height else None


def test_seeds_run_is_complete(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    for name in ("documents", "passages", "topics", "assignments", "prevalence", "drift"):
        assert (seeds_run / f"{name}.parquet").is_file(), name
    assert (seeds_run / "model" / "bertopic").is_dir()
    record = json.loads((seeds_run / "run.json").read_text())
    assert record["embedder"]["name"] == "use-multilingual"
    assert record["corpus"]["report"]["n_kept"] == 5
    assert set(record["timings"]) >= {"load", "passages", "embed", "fit"}
    assert run.table("documents").height == 5
    assert run.table("assignments").height == run.table("passages").height


def test_catalog_names_appear_in_topic_table(seeds_run: Path) -> None:
    topics = load_run(seeds_run).table("topics")
    named = topics.filter(pl.col("narrative_id").is_not_null())
    assert named.height >= 2
    from narratives.catalog import load_catalog

    labels = {n.id: n.label_de for n in load_catalog().narratives}
    for row in named.iter_rows(named=True):
        assert row["label"] == labels[row["narrative_id"]]
        assert row["keywords"], "a narrative topic has keywords"


def test_counteroffensive_and_rutte_seeds_carry_different_narratives(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    counteroffensive = _main_narrative(run, "seed-000")
    rutte = _main_narrative(run, "seed-004")
    assert counteroffensive is not None and rutte is not None
    assert counteroffensive != rutte
    assert rutte == "peace-talks-vs-military-aid"


def test_same_seed_gives_identical_topics_and_assignments(seeds_run: Path, tmp_path: Path) -> None:
    again = train(
        SEEDS,
        TrainConfig(cache_dir=str(tmp_path / "cache")),
        run_name="again",
        models_dir=tmp_path / "models",
        progress=False,
        log=None,
    ).run_path
    first, second = load_run(seeds_run), load_run(again)
    assert first.table("topics").equals(second.table("topics"))
    assert first.table("assignments").equals(second.table("assignments"))
    assert first.table("prevalence").equals(second.table("prevalence"))


def test_saved_bertopic_model_loads_offline_and_transforms(seeds_run: Path) -> None:
    from bertopic import BERTopic

    from narratives.embed import get_embedder
    from narratives.model import bertopic_backend

    run = load_run(seeds_run)
    model = BERTopic.load(
        str(run.model_dir / "bertopic"),
        embedding_model=bertopic_backend(get_embedder("use-multilingual")),
    )
    topics = run.table("topics").filter(pl.col("topic_id") >= 0)
    assert set(model.get_topics()) - {-1} == set(topics["topic_id"].to_list())
    passages = run.table("passages")
    assigned = run.table("assignments")["topic_id"].to_list()
    predicted, _ = model.transform(passages["text"].to_list())
    agreement = sum(p == a for p, a in zip(predicted, assigned, strict=True)) / len(assigned)
    assert agreement >= 0.6, "a passage is mostly given back its own topic"
