"""Shared fixtures: paths, an isolated models dir and embedding cache, one trained seeds run."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED_CORPORA = ROOT.parent / "shared" / "corpora"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network: any outbound connection fails loudly."""

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    cache = tmp_path_factory.getbasetemp() / "embedding-cache"
    monkeypatch.setenv("NARRATIVES_CACHE_DIR", str(cache))


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds trained once per test session with the default configuration."""
    from narratives.config import TrainConfig
    from narratives.pipeline import train

    models = tmp_path_factory.mktemp("models")
    config = TrainConfig(cache_dir=str(tmp_path_factory.mktemp("cache")))
    return train(
        SEEDS, config, run_name="seeds", models_dir=models, progress=False, log=None
    ).run_path


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run `narratives ARGS` in-process: (exit code, stdout, stderr)."""
    from narratives.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def shared_corpus(relative: str) -> Path:
    """A corpus under ../shared/corpora, or skip the test with the reason."""
    path = SHARED_CORPORA / relative
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/corpora is absent in a plain clone)")
    return path


@pytest.fixture(scope="session")
def diary_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real run: the 622 German Propaganda Diary quotes (outlets and dates, 2012-2022)."""
    from narratives.config import TrainConfig
    from narratives.pipeline import train

    corpus = shared_corpus("propaganda_diary/de.jsonl")
    models = tmp_path_factory.mktemp("diary-models")
    config = TrainConfig(
        cache_dir=str(tmp_path_factory.mktemp("diary-cache")), columns={"source": "outlet"}
    )
    return train(
        corpus, config, run_name="diary", models_dir=models, progress=False, log=None
    ).run_path
