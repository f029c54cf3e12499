"""Run directories: atomic writes, listing, validation of partial and corrupt runs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from narratives.config import ModelSettings, TrainConfig
from narratives.errors import InputError, RunError
from narratives.record import RunMetrics, RunRecord
from narratives.runs import broken_runs, list_runs, load_run, resolve_run, write_run
from narratives.schemas import ASSIGNMENTS, DOCUMENTS, PASSAGES, TOPICS


def _tables() -> dict[str, pl.DataFrame]:
    return {
        "documents": pl.DataFrame({"doc_id": ["a"], "text": ["Text"], "source": ["X"]})
        .select(
            [
                pl.col(c) if c in ("doc_id", "text", "source") else pl.lit(None).alias(c)
                for c in DOCUMENTS
            ]
        )
        .cast(dict(DOCUMENTS)),
        "passages": pl.DataFrame(
            {"passage_id": ["a#0"], "doc_id": ["a"], "position": [0], "text": ["Text"]},
            schema=PASSAGES,
        ),
        "topics": pl.DataFrame(
            {
                "topic_id": [0],
                "label": ["t"],
                "keywords": [["w"]],
                "size": [1],
                "representative_passage_ids": [["a#0"]],
            },
            schema=TOPICS,
        ),
        "assignments": pl.DataFrame(
            {"passage_id": ["a#0"], "doc_id": ["a"], "topic_id": [0], "probability": [1.0]},
            schema=ASSIGNMENTS,
        ),
    }


def _record(created: str = "2026-01-01T00:00:00+00:00") -> RunRecord:
    return RunRecord(created_at=created, metrics=RunMetrics(n_documents=1, n_topics=1))


def test_write_then_load(tmp_path: Path) -> None:
    path = write_run(tmp_path, "r1", _tables(), _record())
    run = load_run("r1", tmp_path)
    assert run.path == path
    assert run.table("topics").height == 1
    assert json.loads((path / "run.json").read_text())["name"] == "r1"
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_interrupted_write_leaves_no_partial_run_and_keeps_older_runs(tmp_path: Path) -> None:
    write_run(tmp_path, "old", _tables(), _record())

    def crash(directory: Path) -> None:
        directory.mkdir()
        (directory / "half-written").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path, "new", _tables(), _record(), crash)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path, "old", _tables(), _record(), crash, overwrite=True)
    assert load_run("old", tmp_path).table("topics").height == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_existing_run_needs_overwrite(tmp_path: Path) -> None:
    write_run(tmp_path, "r", _tables(), _record())
    with pytest.raises(InputError, match="--overwrite"):
        write_run(tmp_path, "r", _tables(), _record())
    write_run(tmp_path, "r", _tables(), _record("2026-02-01"), overwrite=True)
    assert load_run("r", tmp_path).record.created_at == "2026-02-01"


def test_bad_run_names_are_rejected(tmp_path: Path) -> None:
    for name in ("../escape", "", ".hidden", "a/b"):
        with pytest.raises(InputError):
            write_run(tmp_path, name, _tables(), _record())


def test_listing_is_newest_first_and_skips_broken(tmp_path: Path) -> None:
    write_run(tmp_path, "early", _tables(), _record("2026-01-01"))
    write_run(tmp_path, "late", _tables(), _record("2026-03-01"))
    (tmp_path / "junk").mkdir()
    assert [r.name for r in list_runs(tmp_path)] == ["late", "early"]
    assert broken_runs(tmp_path) == [tmp_path / "junk"]
    assert resolve_run(None, tmp_path) == tmp_path / "late"


def test_corrupt_runs_give_errors_naming_the_file(tmp_path: Path) -> None:
    path = write_run(tmp_path, "r", _tables(), _record())
    (path / "topics.parquet").write_bytes(b"not parquet")
    with pytest.raises(RunError, match=r"topics\.parquet"):
        load_run("r", tmp_path)
    path = write_run(tmp_path, "r2", _tables(), _record())
    (path / "run.json").write_text("{broken")
    with pytest.raises(RunError, match=r"run\.json"):
        load_run("r2", tmp_path)
    path = write_run(tmp_path, "r3", _tables(), _record())
    pl.DataFrame({"passage_id": ["a#0"]}).write_parquet(path / "assignments.parquet")
    with pytest.raises(RunError, match=r"assignments\.parquet, field 'doc_id'"):
        load_run("r3", tmp_path)
    (path / "documents.parquet").unlink()
    with pytest.raises(RunError, match="missing"):
        load_run(path)
    path = write_run(tmp_path, "r4", _tables(), _record())
    pl.DataFrame({"period": [1]}).write_parquet(path / "prevalence.parquet")
    with pytest.raises(RunError, match=r"prevalence\.parquet, field 'period': type Int64"):
        load_run("r4", tmp_path)
    path = write_run(tmp_path, "r5", _tables(), _record())
    record = json.loads((path / "run.json").read_text())
    record["metrics"] = "lots"
    (path / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match=r"run\.json, field 'metrics': expected dict"):
        load_run("r5", tmp_path)


def test_no_runs_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="narratives train"):
        resolve_run(None, tmp_path)


def test_run_record_round_trips_and_old_flat_records_still_load(tmp_path: Path) -> None:
    record = RunRecord(
        created_at="2026-01-01",
        config=TrainConfig(seed=7, model=ModelSettings(min_topic_size=4)),
        parent="older-run",
    )
    path = write_run(tmp_path, "r", _tables(), record)
    loaded = load_run(path)
    rows = {name: frame.height for name, frame in _tables().items()}
    assert loaded.record == record.with_files("r", loaded.record.files, rows)
    assert loaded.record.table_rows == rows
    assert loaded.config.model.min_topic_size == 4 and loaded.record.parent == "older-run"
    old = json.loads((path / "run.json").read_text())
    old["config"] = {"seed": 3, "min_topic_size": 6, "period": "month", "drift_alpha": 0.01}
    (path / "run.json").write_text(json.dumps(old))
    config = load_run(path).config
    assert (config.seed, config.model.min_topic_size) == (3, 6)
    assert (config.drift.period, config.drift.alpha) == ("month", 0.01)
