"""A training that fails or is interrupted writes nothing and leaves older runs intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEEDS

from narratives.config import TrainConfig
from narratives.model import TopicModel
from narratives.pipeline import train
from narratives.runs import list_runs, load_run

pytestmark = pytest.mark.slow


def test_interrupt_while_writing_keeps_the_older_run(
    seeds_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = seeds_run.parent
    before = {p.name for p in models.iterdir()}
    topics_before = load_run(seeds_run).table("topics")

    def interrupted(self, directory: Path) -> None:
        directory.mkdir(parents=True)
        (directory / "partial.safetensors").write_bytes(b"\0" * 16)
        raise KeyboardInterrupt

    monkeypatch.setattr(TopicModel, "save", interrupted)
    config = TrainConfig(cache_dir=str(tmp_path / "cache"))
    for name, overwrite in (("new-run", False), (seeds_run.name, True)):
        with pytest.raises(KeyboardInterrupt):
            train(
                SEEDS,
                config,
                run_name=name,
                models_dir=models,
                overwrite=overwrite,
                progress=False,
                log=None,
            )
    assert {p.name for p in models.iterdir()} == before
    assert load_run(seeds_run).table("topics").equals(topics_before)
    assert [r.name for r in list_runs(models)] == [seeds_run.name]
