"""Training on the bundled seeds, end to end: narratives found, deterministic, complete run."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT, SEEDS

from narratives.config import TrainConfig
from narratives.pipeline import train
from narratives.runs import load_run

pytestmark = pytest.mark.slow


DESIGN_CARD = (
    "failed-counteroffensive",
    "ammunition-shortage",
    "peace-talks-vs-military-aid",
    "ukraine-nato-membership",
)
"""The four narratives of the design card."""


def _expected() -> dict[str, set[str]]:
    """The narratives each seed carries, read by us (benchmarks/labels/seeds.jsonl)."""
    path = ROOT / "benchmarks" / "labels" / "seeds.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["doc_id"]: set(row["narratives"]) for row in rows}


def _carried(run) -> dict[str, set[str]]:
    from narratives.detect import document_narratives

    carried = document_narratives(run.table("narrative_scores"))
    grouped = carried.group_by("doc_id").agg(pl.col("narrative_id"))
    return {doc: set(ids) for doc, ids in grouped.iter_rows()}


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


def test_the_design_card_narratives_are_found_in_the_seeds_that_carry_them(
    seeds_run: Path,
) -> None:
    expected, carried = _expected(), _carried(load_run(seeds_run))
    for narrative in DESIGN_CARD:
        should = {doc for doc, ids in expected.items() if narrative in ids}
        found = {doc for doc, ids in carried.items() if narrative in ids}
        assert found == should, (
            f"{narrative}: found in {sorted(found)}, carried by {sorted(should)}"
        )


def test_topics_are_named_by_their_keywords_never_after_a_narrative(seeds_run: Path) -> None:
    from narratives.catalog import load_catalog

    run = load_run(seeds_run)
    topics = run.table("topics").filter(pl.col("topic_id") >= 0)
    labels = {n.label_de for n in load_catalog().narratives}
    assert topics.height >= 2 and not set(topics["label"]) & labels
    for row in topics.iter_rows(named=True):
        assert row["keywords"] and row["label"] == ", ".join(row["keywords"][:3])
    shares = run.table("topic_narratives")
    assert shares.height and shares["share"].is_between(0, 1).all()
    tagged = run.table("narrative_scores").filter(pl.col("tagged"))
    assert set(shares["narrative_id"]) == set(tagged["narrative_id"])


def test_every_tag_says_why(seeds_run: Path) -> None:
    scores = load_run(seeds_run).table("narrative_scores")
    tagged = scores.filter(pl.col("tagged"))
    assert tagged.height and tagged["evidence"].is_in(["query", "head", "feedback"]).all()
    assert (
        scores.filter(~pl.col("tagged"))["evidence"].null_count() == scores.height - tagged.height
    )


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
    assert first.table("narrative_scores").equals(second.table("narrative_scores"))
    assert first.table("narrative_prevalence").equals(second.table("narrative_prevalence"))


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


def test_saved_models_load_and_give_the_passages_back_their_tags(seeds_run: Path) -> None:
    from narratives.detect import NarrativeDetector
    from narratives.embed import embed
    from narratives.model import TopicModel

    run = load_run(seeds_run)
    passages = run.table("passages")
    embeddings = embed(passages["text"].to_list(), run.embedder(), progress=False)
    detector = NarrativeDetector.load(run)
    again = detector.transform(passages, embeddings)
    assert again.select("passage_id", "narrative_id", "tagged").equals(
        run.table("narrative_scores").select("passage_id", "narrative_id", "tagged")
    )
    topics = TopicModel.load(run).transform(passages, embeddings)
    same = (topics["topic_id"] == run.table("assignments")["topic_id"]).mean()
    assert same >= 0.6, "a passage is mostly given back its own topic"
