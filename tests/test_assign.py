"""Assigning new articles to a run without refitting: own passages come back with their topics
and tags (also from a copied run in a fresh process), new subjects stay unassigned and form
candidate topics, and the signal classes follow BERTrend's rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from narratives.novelty import TopicAssigner, candidate_topics, signals
from tests.conftest import ROOT, SEEDS, run_cli


def _blobs(rng, centres: np.ndarray, per: int, spread: float = 0.05) -> np.ndarray:
    points = np.repeat(centres, per, axis=0) + rng.normal(0, spread, (len(centres) * per, 32))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_stored_passages_get_their_topics_back_and_strangers_stay_unassigned() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    stored = _blobs(rng, centres, 40)
    topics = np.repeat([0, 1, 2], 40)
    assigner = TopicAssigner.fit(stored, topics)
    again, similarity, unassigned = assigner.transform(stored)
    assert (again == topics).all() and not unassigned.any()
    assert np.allclose(similarity, 1.0, atol=1e-5)
    near = _blobs(rng, centres, 5)
    assert (assigner.transform(near)[0] == np.repeat([0, 1, 2], 5)).all()
    stranger = _blobs(rng, rng.normal(size=(1, 32)), 12)
    topic, _, lost = assigner.transform(stranger)
    assert lost.all() and (topic == -1).all(), "a new subject is not forced into a topic"
    labels = candidate_topics(stranger, min_topic_size=5, first_id=3, join_threshold=0.9)
    assert set(labels.tolist()) <= {3, -1} and (labels == 3).mean() >= 0.75, labels


def test_signal_classes_follow_decayed_popularity() -> None:
    periods = [date(2024, m, 1) for m in range(1, 7)]
    counts = {0: [40, 40, 40, 40, 40, 40], 1: [0, 0, 2, 10, 30, 60], 2: [1, 0, 0, 0, 0, 1]}
    counts |= {t: [10] * 6 for t in range(3, 9)}
    rows = [
        {"period": p, "source": "*", "topic_id": t, "n_docs": c[i], "n_period_docs": 200}
        for t, c in counts.items()
        for i, p in enumerate(periods)
    ]
    prevalence = pl.DataFrame(rows).with_columns(
        (pl.col("n_docs") / pl.col("n_period_docs")).alias("share"),
        pl.col("topic_id").cast(pl.Int32),
    )
    table = signals(prevalence, candidates={1})
    last = table.filter(pl.col("period") == periods[-1])
    signal = dict(zip(last["topic_id"], last["signal"], strict=True))
    assert signal[0] == "strong" and signal[1] == "strong" and signal[2] == "noise"
    trend = dict(zip(last["topic_id"], last["trend"], strict=True))
    assert trend[1] > 2 * trend[0] > 0, "the rising topic climbs fastest"
    assert set(table.filter(pl.col("topic_id") == 1)["kind"]) == {"candidate"}


OWN_PASSAGES = """
import sys
import polars as pl
from narratives.assign import assign_passages
from narratives.detect import NarrativeDetector
from narratives.embed import embed
from narratives.runs import load_run

run = load_run(sys.argv[1])
passages = run.table("passages")
vectors = embed(passages["text"].to_list(), run.embedder(), progress=False)
rows, unassigned, _ = assign_passages(run, passages, vectors, vectors)
tags = NarrativeDetector.load(run).transform(passages, vectors)
rows.select("passage_id", "topic_id").write_parquet(sys.argv[2] + "/topics.parquet")
tags.select("passage_id", "narrative_id", "tagged").write_parquet(sys.argv[2] + "/tags.parquet")
"""


@pytest.mark.slow
def test_own_passages_come_back_from_a_copied_run_in_a_fresh_process(
    seeds_run: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(seeds_run, tmp_path / "elsewhere" / "moved")
    script = tmp_path / "own.py"
    script.write_text(OWN_PASSAGES, encoding="utf-8")
    subprocess.run([sys.executable, str(script), str(copy), str(tmp_path)], check=True, cwd=ROOT)
    topics = pl.read_parquet(tmp_path / "topics.parquet")
    stored = pl.read_parquet(seeds_run / "assignments.parquet").select("passage_id", "topic_id")
    same = topics.join(stored, on="passage_id", suffix="_stored")
    assert same.height == stored.height
    assert (same["topic_id"] == same["topic_id_stored"]).mean() >= 0.99
    tags = pl.read_parquet(tmp_path / "tags.parquet")
    stored_tags = pl.read_parquet(seeds_run / "narrative_scores.parquet").select(tags.columns)
    assert tags.sort("passage_id", "narrative_id").equals(
        stored_tags.sort("passage_id", "narrative_id")
    )


NEW_ARTICLES = [
    (
        "neu-1",
        "2025-02-10",
        "WELT",
        "Die Ukraine meldet erneut Engpässe bei Artilleriemunition. Die Soldaten an der Front "
        "müssen Granaten rationieren, weil die Lieferungen aus Europa ausbleiben.",
    ),
    (
        "neu-2",
        "2025-03-04",
        "RT DE",
        "Die NATO-Außenminister beraten in Brüssel über weitere Militärhilfe für Kiew. "
        "Ein schneller Beitritt der Ukraine zum Bündnis steht nicht auf der Tagesordnung.",
    ),
]


@pytest.mark.slow
def test_assign_adds_articles_keeps_ids_and_skips_what_the_run_holds(
    seeds_run: Path, tmp_path: Path, capsys
) -> None:
    models = tmp_path / "models"
    shutil.copytree(seeds_run, models / "seeds")
    seed_text = (SEEDS / "000_18b0870a9ae24b3a.txt").read_text(encoding="utf-8")
    rows = [dict(zip(("doc_id", "date", "source", "text"), a, strict=True)) for a in NEW_ARTICLES]
    seed_source = {"doc_id": "copy-of-seed", "date": "2023-07-11", "source": "unattributed"}
    rows.append({**seed_source, "text": seed_text})
    elsewhere = {"doc_id": "seed-elsewhere", "date": "2023-07-11", "source": "other.example"}
    rows.append({**elsewhere, "text": seed_text})
    corpus = tmp_path / "new.jsonl"
    pl.DataFrame(rows).write_ndjson(corpus)
    code, out, err = run_cli(
        ["assign", "seeds", str(corpus), "--as", "seeds-plus", "--models-dir", str(models), "-q"],
        capsys,
    )
    assert code == 0, err
    assert "seeds-plus: 3 articles added to seeds's topics" in out, (
        "the same text in another outlet is new"
    )

    import narratives

    parent, child = (
        narratives.open_run(models / "seeds"),
        narratives.open_run(models / "seeds-plus"),
    )
    assert child.record.parent == "seeds"
    assert child.record.catalog.ids == parent.record.catalog.ids
    old_topics = parent.table("topics")["topic_id"].to_list()
    assert child.table("topics")["topic_id"].to_list()[: len(old_topics)] == old_topics
    kept = child.table("assignments").join(
        parent.table("assignments"), on="passage_id", suffix="_parent"
    )
    assert kept.height == parent.table("assignments").height
    assert (kept["topic_id"] == kept["topic_id_parent"]).all(), "old passages keep their topics"
    assert set(child.table("documents")["doc_id"]) == {
        *parent.table("documents")["doc_id"],
        "neu-1",
        "neu-2",
        "seed-elsewhere",
    }
    ammo = child.documents(narrative="ammunition-shortage")["doc_id"].to_list()
    assert "neu-1" in ammo, "the detector tags the new article"
    assert child.prevalence()["period"].max() == date(2025, 3, 1), "drift spans the new months"
    novelty = child.novelty()
    assert {"unassigned", "topic"} <= set(novelty["kind"])
    exported = child.export(tmp_path / "out", format="csv")
    assert "novelty.csv" in {p.name for p in exported}

    code, _, err = run_cli(
        ["assign", "seeds-plus", str(corpus), "--models-dir", str(models), "-q"], capsys
    )
    assert code == 2 and "nothing to add: every article is already in run seeds-plus" in err
