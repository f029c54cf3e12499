"""The dashboard, driven by Streamlit's AppTest on real runs: every page renders, and widgets
change what is shown. Its queries (dashboard/data.py, dashboard/articles.py) are checked against
the run's tables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from narratives_dashboard import articles, data
from streamlit.testing.v1 import AppTest

from narratives.drift import drift_tables
from narratives.drift.compare import compare_counts
from narratives.drift.stats import two_proportion_test
from narratives.runs import load_run

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
PAGES = ("views/narrative.py", "views/outlets.py", "views/documents.py", "views/compare.py")


def open_app(monkeypatch, run: Path | None, models: Path, page: str | None = None) -> AppTest:
    """The app on ``run`` (as `narratives dashboard RUN` would open it), on ``page``."""
    monkeypatch.setenv("NARRATIVES_MODELS_DIR", str(models))
    if run is None:
        monkeypatch.delenv("NARRATIVES_RUN", raising=False)
    else:
        monkeypatch.setenv("NARRATIVES_RUN", str(run))
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.run()
    if page is not None:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def widget(elements, label: str):
    """The widget with this label among ``elements`` (e.g. ``app.selectbox``)."""
    found = [e for e in elements if e.label == label]
    assert found, f"no widget labelled {label!r}: {[e.label for e in elements]}"
    return found[0]


def chart_traces(app: AppTest, index: int = 0) -> list[dict]:
    """The Plotly traces of the index-th chart on the page."""
    return json.loads(app.get("plotly_chart")[index].proto.spec)["data"]


def captions(app: AppTest) -> list[str]:
    return [c.value for c in app.caption]


@pytest.fixture
def seeds_models(seeds_run: Path, tmp_path: Path) -> Path:
    """A models dir holding a copy of the seeds run (tests may add runs beside it)."""
    models = tmp_path / "models"
    shutil.copytree(seeds_run, models / "seeds")
    return models


# --- the queries behind the pages -------------------------------------------------------------


def test_shares_are_the_prevalence_table_with_names(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    frame = data.shares(run, source="RT DE")
    prevalence = run.table("prevalence").filter(pl.col("source") == "RT DE")
    assert frame.height == prevalence.height
    joined = frame.join(prevalence, on=["period", "topic_id"], suffix="_p")
    assert joined.height == prevalence.height
    assert (joined["n"] == joined["n_docs"]).all()
    names = data.topic_names(run)
    assert set(frame["name"]) <= set(names["name"])
    assert names["name"].n_unique() == names.height


def test_articles_behind_a_point_carry_the_topic_in_that_period(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    assignments = run.table("assignments")
    documents = run.table("documents")
    for topic_id in run.table("topics")["topic_id"]:
        for period in data.periods(run):
            found = articles.articles(run, topic_id=topic_id, period=period)
            expected = (
                assignments.filter(pl.col("topic_id") == topic_id)
                .join(documents, on="doc_id")
                .filter(pl.col("date").dt.truncate("1mo") == period)["doc_id"]
                .unique()
            )
            assert sorted(found["doc_id"]) == sorted(expected)


def test_search_is_case_insensitive_and_carries_each_articles_mix(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    texts = run.table("documents").select("doc_id", "text", "title")
    found = articles.search_documents(run, text="stoltenberg")
    expected = texts.filter(
        pl.col("text").str.contains("(?i)stoltenberg")
        | pl.col("title").str.contains("(?i)stoltenberg")
    )
    assert sorted(found["doc_id"]) == sorted(expected["doc_id"])
    assert found["narrative mix"].null_count() == 0
    welt = articles.search_documents(run, sources=["WELT"])
    assert welt["source"].unique().to_list() == ["WELT"]
    nothing = articles.search_documents(run, start=date(2030, 1, 1))
    assert nothing.is_empty()


def test_compare_counts_tests_each_difference() -> None:
    left = pl.DataFrame({"topic_id": [0, 1], "name": ["a", "b"], "k": [10, 50], "n": [100, 100]})
    right = pl.DataFrame({"topic_id": [0, 2], "name": ["a", "c"], "k": [40, 5], "n": [100, 100]})
    table = compare_counts(left, right).sort("topic_id")
    assert table["topic_id"].to_list() == [0, 1, 2]
    assert table["difference"].to_list() == pytest.approx([0.30, -0.50, 0.05])
    expected = two_proportion_test(np.array([40]), np.array([100]), np.array([10]), np.array([100]))
    assert table["p_value"][0] == pytest.approx(expected[0])
    assert (table["p_adjusted"] >= table["p_value"]).all()


def test_run_card_reads_the_span_outlets_and_figures(seeds_run: Path) -> None:
    card = data.run_card(load_run(seeds_run))
    assert (card.first_date, card.last_date) == (date(2022, 10, 11), date(2024, 12, 3))
    assert {"RT DE", "WELT"} <= set(card.sources)
    assert card.n_documents == 5 and card.embedder == "use-multilingual"
    assert "outlier share" in card.quality


# --- the pages, driven by AppTest -------------------------------------------------------------


def test_overview_filters_change_the_chart(monkeypatch, seeds_models: Path) -> None:
    app = open_app(monkeypatch, None, seeds_models)
    assert app.title[0].value == "How the narratives drift"
    assert captions(app)[0].startswith("Showing: All outlets · documents")
    everyone = chart_traces(app)
    widget(app.selectbox, "Outlet").set_value("RT DE").run()
    assert captions(app)[0].startswith("Showing: RT DE · documents")
    rt = chart_traces(app)
    assert [t.get("y") for t in rt] != [t.get("y") for t in everyone]

    names = data.topic_names(load_run(seeds_models / "seeds"))
    first = names.filter(pl.col("kind") == "narrative")["topic_id"][0]
    widget(app.multiselect, "Narratives").set_value([first]).run()
    lines = [t["name"] for t in chart_traces(app) if t.get("mode") == "lines+markers"]
    assert lines == names.filter(pl.col("topic_id") == first)["name"].to_list()

    widget(app.radio, "Chart").set_value("Stacked area").run()
    assert all(t.get("stackgroup") == "shares" for t in chart_traces(app))
    labels = [b.label for b in app.get("download_button")]
    assert {"Download table (CSV)", "Download table (Parquet)", "Download chart (HTML)"} <= set(
        labels
    )


def test_overview_leads_to_the_articles_and_the_narrative_page(
    monkeypatch, seeds_models: Path
) -> None:
    app = open_app(monkeypatch, None, seeds_models)
    run = load_run(seeds_models / "seeds")
    names = data.topic_names(run)
    topic = widget(app.selectbox, "Narrative of the articles")
    target = names.filter(pl.col("kind") != "outliers")["topic_id"][-1]
    topic.set_value(target).run()
    shown = app.main.dataframe[-1].value
    assert sorted(shown["doc_id"]) == sorted(articles.articles(run, topic_id=target)["doc_id"])
    widget(app.button, "Open this narrative's page").click().run()
    assert app.header[0].value == names.filter(pl.col("topic_id") == target)["name"][0]


def test_narrative_page_follows_the_selection(monkeypatch, seeds_models: Path) -> None:
    app = open_app(monkeypatch, None, seeds_models, "views/narrative.py")
    names = data.topic_names(load_run(seeds_models / "seeds"))
    assert app.header[0].value == names["name"][0]
    other = names["topic_id"][1]
    widget(app.selectbox, "Narrative").set_value(other).run()
    assert app.header[0].value == names["name"][1]
    run = load_run(seeds_models / "seeds")
    passages = articles.representative_passages(run, other)
    shown = " ".join(m.value for m in app.markdown)
    assert passages["text"][0][:60] in shown
    assert any("per outlet" in s.value for s in app.subheader)


def test_outlets_page_shows_both_heatmaps_and_a_head_to_head(
    monkeypatch, seeds_models: Path
) -> None:
    app = open_app(monkeypatch, None, seeds_models, "views/outlets.py")
    shares = chart_traces(app, 0)[0]
    assert shares["type"] == "heatmap" and {"RT DE", "WELT"} <= set(shares["y"])
    widget(app.selectbox, "Outlet A").set_value("RT DE").run()
    widget(app.selectbox, "Outlet B").set_value("WELT").run()
    table = app.main.dataframe[-1].value
    assert {"share_a", "share_b", "p_adjusted"} <= set(table.columns)
    first = data.outlet_periods(load_run(seeds_models / "seeds"))[0]
    widget(app.selectbox, "Period").set_value(first).run()
    title = json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    assert f"({first:%Y-%m})" in title


def test_documents_page_searches_and_filters(monkeypatch, seeds_models: Path) -> None:
    app = open_app(monkeypatch, None, seeds_models, "views/documents.py")
    assert captions(app)[0].startswith("Found 5 documents")
    widget(app.text_input, "Search text").input("Gegenoffensive").run()
    run = load_run(seeds_models / "seeds")
    expected = articles.search_documents(run, text="Gegenoffensive").height
    assert 0 < expected < 5
    assert captions(app)[0].startswith(f"Found {expected} documents")
    widget(app.text_input, "Search text").input("").run()
    widget(app.multiselect, "Outlets").set_value(["WELT"]).run()
    assert captions(app)[0].startswith("Found 1 documents")
    assert app.subheader[0].value.startswith("UKRAINE-KRIEG")


def test_compare_page_compares_periods_and_runs(monkeypatch, seeds_models: Path) -> None:
    shutil.copytree(seeds_models / "seeds", seeds_models / "seeds-copy")
    app = open_app(monkeypatch, seeds_models / "seeds", seeds_models, "views/compare.py")
    table = app.main.dataframe[-1].value
    assert len(table) > 0 and {"share_a", "share_b"} <= set(table.columns)
    widget(app.radio, "Compare").set_value("Two runs").run()
    assert not app.exception
    table = app.main.dataframe[-1].value
    assert (table["difference"].abs() < 1e-12).all()  # a run against its copy: no difference


def test_no_runs_says_how_to_train_one(monkeypatch, tmp_path: Path) -> None:
    app = open_app(monkeypatch, None, tmp_path / "empty")
    assert "narratives train" in app.info[0].value


def test_a_corrupt_run_is_named_not_crashed(monkeypatch, seeds_models: Path) -> None:
    broken = seeds_models / "broken"
    shutil.copytree(seeds_models / "seeds", broken)
    (broken / "topics.parquet").write_bytes(b"not parquet at all")
    app = open_app(monkeypatch, broken, seeds_models)
    assert "topics.parquet" in app.error[0].value
    assert "not a readable Parquet file" in app.error[0].value


def test_a_run_without_dates_shows_overall_shares(monkeypatch, seeds_models: Path) -> None:
    undated = seeds_models / "undated"
    shutil.copytree(seeds_models / "seeds", undated)
    run = load_run(undated)
    documents = run.table("documents").with_columns(pl.lit(None, pl.Date).alias("date"))
    documents.write_parquet(undated / "documents.parquet")
    tables = drift_tables(documents, run.table("passages"), run.table("assignments")).tables
    for name, frame in tables.items():
        frame.write_parquet(undated / f"{name}.parquet")
    app = open_app(monkeypatch, undated, seeds_models)
    assert "no dates" in app.info[0].value
    bars = chart_traces(app)[0]
    assert bars["type"] == "bar" and len(bars["y"]) >= 1
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)


@pytest.mark.slow
def test_every_page_on_a_real_corpus_run(monkeypatch, diary_run: Path) -> None:
    app = open_app(monkeypatch, diary_run, diary_run.parent)
    outlets = widget(app.selectbox, "Outlet").options
    assert "RT.DE" in outlets
    widget(app.selectbox, "Outlet").set_value("RT.DE").run()
    assert captions(app)[0].startswith("Showing: RT.DE")
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
    app.switch_page("views/outlets.py").run()
    assert len(chart_traces(app, 0)[0]["y"]) >= 5
    app.switch_page("views/documents.py").run()
    widget(app.text_input, "Search text").input("NATO").run()
    assert captions(app)[0].startswith("Found ")
    assert int(captions(app)[0].split()[1].replace(",", "")) > 10


def test_the_dashboard_never_imports_the_modelling_stack(seeds_models: Path) -> None:
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({str(APP)!r}, default_timeout=90).run()\n"
        "assert not app.exception, app.exception\n"
        "heavy = [m for m in ('bertopic', 'torch', 'umap', 'hdbscan', 'sentence_transformers')"
        " if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "NARRATIVES_MODELS_DIR": str(seeds_models),
            "NARRATIVES_RUN": "seeds",
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"


def test_dashboard_command_checks_the_run_before_serving(tmp_path: Path, capsys) -> None:
    from narratives.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["dashboard", "no-such-run", "--models-dir", str(tmp_path)])
    assert exit_info.value.code == 3
    assert "no-such-run: no such run" in capsys.readouterr().err
    main(["dashboard", "--help"])
    assert "--port" in capsys.readouterr().out


def test_run_card_shows_the_evaluation_once_there_is_one(seeds_models: Path) -> None:
    from narratives.evaluate import evaluate_run
    from narratives.runs import replace_tables

    path = seeds_models / "seeds"
    labels = pl.DataFrame(
        {"doc_id": [f"seed-00{i}" for i in range(5)], "label": ["a", "a", "b", "b", "b"]}
    )
    result = evaluate_run(load_run(path), labels, label_column="label", stability_seeds=[])
    replace_tables(path, result.tables, lambda r: replace(r, evaluation=result.record))
    quality = data.run_card(load_run(path)).quality
    assert quality["coherence (NPMI)"] == pytest.approx(result.record["coherence_npmi"])
    assert quality["NMI with labels"] == pytest.approx(result.record["labels"]["topics"]["nmi"])
    assert "stability ARI" not in quality  # skipped, so not shown
