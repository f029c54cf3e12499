"""The "What's new" page and a topic's lineage on the Narrative page, on a run assigned new
articles and on a retrain with a parent (AppTest, no browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SEEDS
from tests.test_assign import NEW_ARTICLES

APP = ROOT / "dashboard" / "app.py"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def news_models(seeds_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds run, the seeds with two new articles assigned, and a retrain with a parent."""
    models = tmp_path_factory.mktemp("news-models")
    shutil.copytree(seeds_run, models / "seeds")
    corpus = models.parent / "new-articles.jsonl"
    rows = [dict(zip(("doc_id", "date", "source", "text"), a, strict=True)) for a in NEW_ARTICLES]
    pl.DataFrame(rows).write_ndjson(corpus)
    from narratives.cli import main

    main(["assign", "seeds", str(corpus), "--as", "plus", "--models-dir", str(models), "-q"])
    for args in (["train", str(SEEDS), "--run", "again", "--parent", "seeds"],):
        try:
            main([*args, "--models-dir", str(models), "-q"])
        except SystemExit as exc:
            assert not exc.code
    return models


def _open(monkeypatch, models: Path, run: str, page: str) -> AppTest:
    monkeypatch.setenv("NARRATIVES_MODELS_DIR", str(models))
    monkeypatch.setenv("NARRATIVES_RUN", str(models / run))
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def test_whats_new_shows_signals_candidates_and_the_unassigned_share(
    monkeypatch, news_models: Path
) -> None:
    app = _open(monkeypatch, news_models, "plus", "views/whats_new.py")
    headers = [h.value for h in app.subheader]
    assert "Candidate topics" in headers and "New articles that fit no topic" in headers
    assert any(h.startswith("Signals in") for h in headers), headers


def test_whats_new_on_a_retrain_shows_its_lineage_and_a_plain_run_says_how(
    monkeypatch, news_models: Path
) -> None:
    app = _open(monkeypatch, news_models, "again", "views/whats_new.py")
    assert any("Lineage from the parent run seeds" in h.value for h in app.subheader)
    plain = _open(monkeypatch, news_models, "seeds", "views/whats_new.py")
    assert "narratives assign" in plain.info[0].value


def test_a_topic_shows_its_lineage_on_the_narrative_page(monkeypatch, news_models: Path) -> None:
    app = _open(monkeypatch, news_models, "again", "views/narrative.py")
    choice = next(s for s in app.selectbox if s.label == "Narrative")
    topics = pl.read_parquet(news_models / "again" / "topics.parquet")
    topic = f"topic:{topics.filter(pl.col('topic_id') >= 0)['topic_id'][0]}"
    choice.set_value(topic).run()
    assert not app.exception, app.exception
    assert "Lineage through the parent runs" in [h.value for h in app.subheader]
