"""Lineage across retrains: each relation on planted topics, ids that never come back, and a
retrain of the seeds on themselves that keeps every topic's id."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from narratives.lineage import first_free_id, topic_lineage
from tests.conftest import SEEDS, run_cli


def _unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=float)
    return vector / np.linalg.norm(vector)


def _axis(i: int, dim: int = 16) -> np.ndarray:
    return _unit(np.eye(dim)[i])


def test_each_relation_is_found_on_planted_topics() -> None:
    pairs = (
        [(0, 5)] * 20  # continued
        + [(1, 6)] * 10
        + [(1, 7)] * 10  # split
        + [(2, 8)] * 10
        + [(3, 8)] * 10  # merged
        + [(-1, 5)] * 4
        + [(0, -1)] * 3  # outliers on either side are left out
    )
    shared = pl.DataFrame(
        pairs, schema={"parent_topic_id": pl.Int64, "topic_id": pl.Int64}, orient="row"
    )
    parent = {p: _axis(p) for p in (0, 1, 2, 3, 4, 11)}
    new = {t: _axis(t) for t in (5, 6, 7, 8, 9)}
    new[5], new[12] = _axis(0), _unit(_axis(11) + 0.3 * _axis(15))  # 12: close to 11, no shared
    table, ids = topic_lineage(shared, parent, new, first_new_id=20)
    relation = {(r["parent_topic_id"], r["topic_id"]): r["relation"] for r in table.to_dicts()}
    assert relation[(0, 0)] == "continued" and ids[5] == 0
    assert relation[(11, 11)] == "continued" and ids[12] == 11, "by centroid cosine"
    assert relation[(1, ids[6])] == relation[(1, ids[7])] == "split"
    assert relation[(2, ids[8])] == relation[(3, ids[8])] == "merged"
    assert relation[(None, ids[9])] == "new" and relation[(4, None)] == "gone"
    assert {ids[t] for t in (6, 7, 8, 9)} == {20, 21, 22, 23}, "new ids above every old one"
    split = table.filter(pl.col("relation") == "split")
    assert split["overlap"].to_list() == [0.5, 0.5]


def test_a_few_stray_shared_passages_neither_merge_nor_block_a_continuation() -> None:
    # Parent topic 0 goes almost whole to new topic 5; three of its passages and one of topic 1's
    # land in topic 6, a subject the parent never had (few shared passages, many new ones).
    pairs = [(0, 5)] * 68 + [(0, 6)] * 3 + [(1, 6)] * 1 + [(1, 7)] * 30
    shared = pl.DataFrame(
        pairs, schema={"parent_topic_id": pl.Int64, "topic_id": pl.Int64}, orient="row"
    )
    parent = {0: _axis(0), 1: _axis(1)}
    new = {5: _axis(0), 6: _axis(6), 7: _axis(1)}
    table, ids = topic_lineage(shared, parent, new, first_new_id=10)
    relation = {(r["parent_topic_id"], r["topic_id"]): r["relation"] for r in table.to_dicts()}
    assert relation[(0, 0)] == "continued" and ids[5] == 0
    assert relation[(1, 1)] == "continued" and ids[7] == 1
    assert relation[(None, ids[6])] == "new"
    assert "merged" not in relation.values()


def test_new_ids_skip_every_id_the_lineage_used() -> None:
    topics = pl.DataFrame({"topic_id": [-1, 0, 3]})
    lineage = pl.DataFrame({"parent_topic_id": [7, None], "topic_id": [None, 5]})
    assert first_free_id(topics, lineage) == 8
    assert first_free_id(topics, None) == 4


@pytest.mark.slow
def test_a_retrain_with_a_parent_keeps_every_topic_id(
    seeds_run: Path, tmp_path: Path, capsys
) -> None:
    models = tmp_path / "models"
    shutil.copytree(seeds_run, models / "seeds")
    code, _, err = run_cli(
        ["train", str(SEEDS), "--run", "again", "--parent", "seeds", "--models-dir", str(models)],
        capsys,
    )
    assert code == 0, err
    assert "lineage: " in err
    import narratives

    parent, child = narratives.open_run(models / "seeds"), narratives.open_run(models / "again")
    lineage = child.lineage()
    assert set(lineage["relation"]) == {"continued"}, lineage
    assert lineage["parent_topic_id"].to_list() == lineage["topic_id"].to_list()
    assert set(lineage["parent"]) == {"seeds"} and child.record.parent == "seeds"
    assert (
        child.table("topics")["topic_id"].to_list() == parent.table("topics")["topic_id"].to_list()
    )
    code, out, _ = run_cli(["runs", "--models-dir", str(models)], capsys)
    assert code == 0 and "| again " in out and "seeds" in out.split("| again ")[1].split("\n")[0]
    exported = child.export(tmp_path / "out", format="json")
    assert "lineage.json" in {p.name for p in exported}
