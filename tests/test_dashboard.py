"""The dashboard, driven by Streamlit's AppTest on real runs: every page renders, widgets change
what is shown, and the Confirm / Reject buttons record feedback. Its queries
(dashboard/data.py, series.py, articles.py, passages.py) are checked against the run's tables."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from narratives_dashboard import articles, charts, data, figures, passages, state, vegalite
from narratives_dashboard.text import (
    WORD_JOINER,
    escape_markdown,
    markdown_link,
    markdown_table,
    safe_url,
)
from streamlit.testing.v1 import AppTest

from narratives.catalog import default_catalog_path, load_catalog
from narratives.drift import drift_tables, is_headline
from narratives.drift.compare import compare_counts
from narratives.drift.stats import two_proportion_test, wilson_interval
from narratives.runs import load_run, replace_tables
from narratives.schemas import NARRATIVE_DRIFT_TABLES, NARRATIVE_TABLES

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
PAGES = ("views/narrative.py", "views/outlets.py", "views/documents.py", "views/compare.py")
EVIL = "[click](https://evil.example/x) ![pixel](https://evil.example/p.png) **bold** "


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


def overview_chart(app: AppTest):
    """The Overview's Vega-Lite chart element."""
    charts_drawn = app.get("vega_lite_chart")
    assert charts_drawn, "the overview drew no chart"
    return charts_drawn[0]


def overview_spec(app: AppTest) -> dict:
    """The Vega-Lite spec of the Overview's chart (Streamlit sends its data apart)."""
    return json.loads(overview_chart(app).proto.spec)


def overview_rows(app: AppTest, layer: str = "share") -> list[dict]:
    """The Overview chart's data rows of one layer: "share" (a point of a series' line) or
    "event" (a headline change)."""
    import pyarrow as pa

    table = pa.ipc.open_stream(overview_chart(app).proto.data.data).read_all()
    return [row for row in pl.from_arrow(table).to_dicts() if row["layer"] == layer]


def line_names(app: AppTest) -> list[str]:
    """The Overview's series with a line, in the order drawn."""
    return list(dict.fromkeys(row["name"] for row in overview_rows(app)))


def plain(value: str) -> str:
    """Markdown escaped by the dashboard, as the reader sees it."""
    return re.sub(r"\\(.)", r"\1", value).replace(WORD_JOINER, "")


def captions(app: AppTest) -> list[str]:
    return [plain(c.value) for c in app.caption]


def markdown_bodies(app: AppTest) -> list[str]:
    """Every text the page renders as Markdown."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "success")
    return [e.value for kind in kinds for e in getattr(app, kind)] + [e.value for e in app.error]


def narrative_lines(app: AppTest) -> dict[str, dict[str, list]]:
    """The overview's lines by series key: each column of its points, in period order."""
    lines: dict[str, dict[str, list]] = {}
    for row in sorted(overview_rows(app), key=lambda r: r["date"]):
        line = lines.setdefault(row["series"], {})
        for column, value in row.items():
            line.setdefault(column, []).append(value)
    return lines


def expected_line(frame: pl.DataFrame, series: str, value: str) -> pl.DataFrame:
    """The points a series' line draws: its periods with a ``value``, in order."""
    return frame.filter(pl.col("series") == series).drop_nulls(value).sort("period")


def counted(frame: pl.DataFrame) -> pl.DataFrame:
    """Narrative prevalence rows as counted tags: share = share_raw with its Wilson interval."""
    low, high = wilson_interval(frame["n_docs"].to_numpy(), frame["n_period_docs"].to_numpy())
    return frame.with_columns(
        pl.col("share_raw").alias("share"),
        pl.Series("ci_low", low).fill_nan(None),
        pl.Series("ci_high", high).fill_nan(None),
    )


def feedback_entries(models: Path) -> list[dict]:
    """The [[feedback]] tables of the models directory's catalog."""
    return tomllib.loads((models / "catalog.toml").read_text(encoding="utf-8"))["feedback"]


@pytest.fixture
def seeds_models(seeds_run: Path, tmp_path: Path) -> Path:
    """A models dir holding a copy of the seeds run (tests may add runs beside it)."""
    models = tmp_path / "models"
    shutil.copytree(seeds_run, models / "seeds")
    return models


@pytest.fixture
def old_run(seeds_models: Path) -> Path:
    """The seeds run as a run trained before narrative detection wrote it: no narrative tables,
    topics with a narrative_id column, the old metrics in run.json."""
    old = seeds_models / "old"
    shutil.copytree(seeds_models / "seeds", old)
    for name in (*NARRATIVE_TABLES, *NARRATIVE_DRIFT_TABLES):
        (old / f"{name}.parquet").unlink()
    topics = pl.read_parquet(old / "topics.parquet")
    topics.with_columns(pl.lit(None, pl.String).alias("narrative_id")).write_parquet(
        old / "topics.parquet"
    )
    record = json.loads((old / "run.json").read_text())
    record["metrics"].pop("n_documents_with_narrative", None)
    record["metrics"]["n_new_topics"] = topics.height
    gone = {f"{name}.parquet" for name in (*NARRATIVE_TABLES, *NARRATIVE_DRIFT_TABLES)}
    record["files"] = [f for f in record.get("files", []) if f not in gone]
    record.pop("table_rows", None)
    (old / "run.json").write_text(json.dumps(record))
    return old


@pytest.fixture
def moved_run(seeds_models: Path) -> Path:
    """The seeds run with its corrected narrative shares set apart from the counted ones (on five
    articles, one a period, the adjusted count of a 0 or 1 share is that share): the dashboard
    must draw what the table says, whichever it is."""
    path = seeds_models / "seeds"
    prevalence = pl.read_parquet(path / "narrative_prevalence.parquet")
    corrected = pl.col("method") != "cc"
    prevalence.with_columns(
        pl.when(corrected).then(pl.col(c) * 0.6).otherwise(pl.col(c)).alias(c)
        for c in ("share", "ci_low", "ci_high")
    ).write_parquet(path / "narrative_prevalence.parquet")
    return seeds_models


@pytest.fixture
def thin_run(seeds_models: Path) -> tuple[Path, str]:
    """The seeds run with one narrative counted (method cc) as too few labelled items back its
    correction: the path and that narrative's id."""
    path = seeds_models / "seeds"
    narratives = pl.read_parquet(path / "narratives.parquet")
    thin = narratives["narrative_id"][1]
    mine = pl.col("narrative_id") == thin
    narratives.with_columns(
        pl.when(mine).then(pl.lit("cc")).otherwise("share_method").alias("share_method"),
        pl.when(mine)
        .then(pl.lit(3, pl.UInt32))
        .otherwise("n_calibration_positives")
        .alias("n_calibration_positives"),
    ).write_parquet(path / "narratives.parquet")
    prevalence = pl.read_parquet(path / "narrative_prevalence.parquet")
    pl.concat(
        [
            prevalence.filter(~mine),
            counted(prevalence.filter(mine)).with_columns(
                pl.lit("cc").alias("method"),
                pl.lit(None, pl.Float64).alias("se_sampling"),
                pl.lit(None, pl.Float64).alias("se_calibration"),
            ),
        ]
    ).write_parquet(path / "narrative_prevalence.parquet")
    return path, thin


# --- the queries behind the pages -------------------------------------------------------------


def test_series_names_list_narratives_then_topics_then_outliers(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    names = data.series_names(run)
    narratives = run.table("narratives")
    assert names["name"].n_unique() == names.height
    lead = names.head(narratives.height)
    assert lead["series"].to_list() == narratives["narrative_id"].to_list()
    assert lead["name"].to_list() == narratives["label_de"].to_list()
    assert set(lead["kind"]) == {"narrative"}
    topics = names.filter(pl.col("kind") == "topic")
    assert topics["series"].to_list() == [f"topic:{t}" for t in topics["topic_id"]]
    assert all(
        n.startswith(f"#{t} ") for n, t in zip(topics["name"], topics["topic_id"], strict=True)
    )
    assert topics["size"].to_list() == sorted(topics["size"], reverse=True)
    assert names["order"].to_list() == list(range(names.height))
    assert data.default_series(names) == narratives["narrative_id"].to_list()


def test_shares_are_the_prevalence_tables_with_names(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    frame = data.shares(run, source="RT DE")
    names = data.series_names(run)
    assert set(frame["name"]) <= set(names["name"])
    topics = frame.filter(pl.col("kind") != "narrative").with_columns(
        pl.col("series").str.strip_prefix("topic:").cast(pl.Int32).alias("topic_id")
    )
    prevalence = run.table("prevalence").filter(pl.col("source") == "RT DE")
    joined = topics.join(prevalence, on=["period", "topic_id"], suffix="_p")
    assert joined.height == prevalence.height == topics.height
    assert (joined["n"] == joined["n_docs"]).all()
    narratives = frame.filter(pl.col("kind") == "narrative")
    expected = run.table("narrative_prevalence").filter(pl.col("source") == "RT DE")
    joined = narratives.join(
        expected, left_on=["period", "series"], right_on=["period", "narrative_id"]
    )
    assert joined.height == expected.height == narratives.height
    assert (joined["n"] == joined["n_docs"]).all()
    one = data.shares(run, series=["topic:0"])
    assert set(one["series"]) == {"topic:0"}


def test_shares_carry_the_corrected_and_the_counted_share(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    frame = data.shares(run)
    assert {"share_raw", "share", "ci_low_raw", "ci_high_raw", "method"} <= set(frame.columns)
    narratives = frame.filter(pl.col("kind") == "narrative")
    table = run.table("narrative_prevalence").filter(pl.col("source") == "*")
    joined = narratives.join(
        table, left_on=["period", "series"], right_on=["period", "narrative_id"], suffix="_t"
    )
    assert joined.height == table.height == narratives.height
    for column in ("share", "share_raw", "ci_low", "ci_high", "method"):
        assert joined[column].equals(joined[f"{column}_t"], check_names=False), column
    rates = run.table("narratives").select("narrative_id", "share_method", "tpr", "fpr")
    adjusted = joined.join(rates, left_on="series", right_on="narrative_id").filter(
        pl.col("share_method") == "acc", pl.col("share_raw").is_not_null()
    )
    assert adjusted.height > 0  # the seeds' narratives are corrected (adjusted count)
    expected = (
        (adjusted["share_raw"] - adjusted["fpr"]) / (adjusted["tpr"] - adjusted["fpr"])
    ).clip(0, 1)
    assert adjusted["share"].to_numpy() == pytest.approx(expected.to_numpy())
    low, high = wilson_interval(joined["n"].to_numpy(), joined["n_period"].to_numpy())
    assert joined["ci_low_raw"].fill_null(np.nan).to_numpy() == pytest.approx(low, nan_ok=True)
    assert joined["ci_high_raw"].fill_null(np.nan).to_numpy() == pytest.approx(high, nan_ok=True)
    topics = frame.filter(pl.col("kind") == "topic")
    assert topics["share_raw"].equals(topics["share"], check_names=False)  # topics are counted
    assert topics["method"].null_count() == topics.height
    passages_frame = data.shares(run, unit="passages")
    assert passages_frame["share_raw"].equals(passages_frame["share"], check_names=False)
    narrative = table["narrative_id"][0]
    per_outlet = data.outlet_series(run, narrative)
    mine = run.table("narrative_prevalence").filter(pl.col("narrative_id") == narrative)
    assert per_outlet.height == mine.height
    assert sorted(per_outlet["share_raw"].drop_nulls()) == sorted(mine["share_raw"].drop_nulls())
    assert sorted(per_outlet["share"].drop_nulls()) == sorted(mine["share"].drop_nulls())


def test_articles_behind_a_point_carry_the_series_in_that_period(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    assignments = run.table("assignments")
    documents = run.table("documents")
    tags = run.table("narrative_scores").filter(pl.col("tagged"))
    carriers = [
        *((f"topic:{t}", assignments.filter(pl.col("topic_id") == t)) for t in range(3)),
        *((n, tags.filter(pl.col("narrative_id") == n)) for n in tags["narrative_id"].unique()),
    ]
    for series, carrying in carriers:
        for period in data.periods(run):
            found = articles.articles(run, series=series, period=period)
            expected = (
                carrying.join(documents, on="doc_id")
                .filter(pl.col("date").dt.truncate("1mo") == period)["doc_id"]
                .unique()
            )
            assert sorted(found["doc_id"]) == sorted(expected), (series, period)


def test_events_read_the_narrative_and_the_topic_drift(tmp_path: Path) -> None:
    from benchmarks.synthetic_run import make_run

    run = load_run(make_run(tmp_path, "synthetic", 1500))
    names = data.series_names(run)
    found = data.events(run, series=names["series"].to_list(), limit=1000)
    assert not found.is_empty() and found["series"].null_count() == 0
    narrative = run.table("narrative_drift").filter((pl.col("source") == "*") & is_headline())
    topic = run.table("drift").filter(
        (pl.col("source") == "*") & is_headline() & (pl.col("topic_id") >= 0)
    )
    expected = {(r["period"], r["narrative_id"]) for r in narrative.iter_rows(named=True)} | {
        (r["period"], f"topic:{r['topic_id']}") for r in topic.iter_rows(named=True)
    }
    assert set(zip(found["period"], found["series"], strict=True)) == expected
    only = data.events(run, series=["failed-counteroffensive"], limit=1000)
    assert set(only["series"]) <= {"failed-counteroffensive"}


def test_search_is_case_insensitive_and_carries_each_articles_narratives(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    texts = run.table("documents").select("doc_id", "text", "title")
    found = articles.search_documents(run, text="stoltenberg")
    expected = texts.filter(
        pl.col("text").str.contains("(?i)stoltenberg")
        | pl.col("title").str.contains("(?i)stoltenberg")
    )
    assert sorted(found["doc_id"]) == sorted(expected["doc_id"])
    assert found["topic mix"].null_count() == 0
    every = articles.search_documents(run)
    labels = dict(zip(*run.table("narratives")[["narrative_id", "label_de"]], strict=True))
    carried = run.table("narrative_scores").filter(pl.col("tagged"))
    for row in every.iter_rows(named=True):
        ids = set(carried.filter(pl.col("doc_id") == row["doc_id"])["narrative_id"])
        assert set(filter(None, row["narratives"].split("; "))) == {labels[i] for i in ids}
    welt = articles.search_documents(run, sources=["WELT"])
    assert welt["source"].unique().to_list() == ["WELT"]
    nothing = articles.search_documents(run, start=date(2030, 1, 1))
    assert nothing.is_empty()
    narrative = carried["narrative_id"][0]
    with_it = articles.search_documents(run, series=[narrative])
    assert set(with_it["doc_id"]) == set(
        carried.filter(pl.col("narrative_id") == narrative)["doc_id"]
    )


def test_passage_queries_follow_the_narrative_scores(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    scores = run.table("narrative_scores")
    narrative = scores.filter(pl.col("tagged"))["narrative_id"][0]
    carrying = passages.narrative_passages(run, narrative, limit=None)
    mine = scores.filter((pl.col("narrative_id") == narrative) & pl.col("tagged"))
    assert sorted(carrying["passage_id"]) == sorted(mine["passage_id"])
    assert carrying["evidence"].null_count() == 0 and carrying["text"].null_count() == 0
    assert carrying["date"].to_list() == sorted(carrying["date"], reverse=True)
    missed = passages.narrative_candidates(run, narrative, limit=5)
    assert missed.height == 5 and not set(missed["passage_id"]) & set(mine["passage_id"])
    assert missed["score"].to_list() == sorted(missed["score"], reverse=True)
    top = scores.filter((pl.col("narrative_id") == narrative) & ~pl.col("tagged"))["score"].max()
    assert missed["score"][0] == pytest.approx(top)
    doc = mine["doc_id"][0]
    assert narrative in passages.document_narratives(run, doc)["narrative_id"].to_list()
    assert (
        passages.passage_narratives(run, doc).height
        == scores.filter(pl.col("doc_id") == doc).height
    )
    topic_id = run.table("topic_narratives")["topic_id"][0]
    carried = passages.topic_narratives(run, topic_id)
    assert (
        carried["n_passages"].sum()
        == run.table("topic_narratives").filter(pl.col("topic_id") == topic_id)["n_passages"].sum()
    )
    assert passages.narrative_profile(run, narrative)["narrative_id"] == narrative


def test_compare_counts_tests_each_difference() -> None:
    left = pl.DataFrame({"topic_id": [0, 1], "name": ["a", "b"], "k": [10, 50], "n": [100, 100]})
    right = pl.DataFrame({"topic_id": [0, 2], "name": ["a", "c"], "k": [40, 5], "n": [100, 100]})
    table = compare_counts(left, right).sort("topic_id")
    assert table["topic_id"].to_list() == [0, 1, 2]
    assert table["difference"].to_list() == pytest.approx([0.30, -0.50, 0.05])
    expected = two_proportion_test(np.array([40]), np.array([100]), np.array([10]), np.array([100]))
    assert table["p_value"][0] == pytest.approx(expected[0])
    assert (table["p_adjusted"] >= table["p_value"]).all()


def test_run_card_reads_the_span_outlets_narratives_and_figures(seeds_run: Path) -> None:
    run = load_run(seeds_run)
    card = data.run_card(run)
    assert (card.first_date, card.last_date) == (date(2022, 10, 11), date(2024, 12, 3))
    assert {"RT DE", "WELT"} <= set(card.sources)
    assert card.n_documents == 5 and card.embedder == "use-multilingual"
    assert "outlier share" in card.quality
    narratives = run.table("narratives")
    assert card.has_narratives and card.n_catalogued == narratives.height
    assert card.n_narratives_found == (narratives["n_passages"] > 0).sum()
    carrying = run.table("narrative_scores").filter(pl.col("tagged"))["doc_id"].n_unique()
    assert card.narrative_doc_share == pytest.approx(carrying / 5)
    corrected = narratives.filter(pl.col("share_method") != "cc")
    items = corrected["n_calibration_positives"] + corrected["n_calibration_negatives"]
    assert card.n_corrected == corrected.height > 0
    assert card.calibration_items == (items.min(), items.max())


def test_markdown_escaping_renders_corpus_text_literally() -> None:
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark")
    for text in (
        EVIL,
        "# Titel: *wichtig* <b>fett</b> `code` $x$ :red[rot] :smile:",
        "1. Liste\n- Punkt\n> Zitat | Tabelle | \\ Backslash & &amp; www.evil.example",
    ):
        html = renderer.render(escape_markdown(text))
        assert not re.search(r"<(?!/?p>)[a-z]", html), html  # only the paragraph itself
        assert "https://" not in escape_markdown(text).replace("\\", "")  # no bare url to link
    assert safe_url("https://www.welt.de/a.html") == "https://www.welt.de/a.html"
    for bad in ("javascript:alert(1)", "https://x.example/a) [b](c", "https://x y", None, 3):
        assert safe_url(bad) is None
    assert markdown_link("article", "javascript:alert(1)") == ""
    assert markdown_link("a[b]", "http://x.example") == "[a\\[b\\]](http://x.example)"


def test_a_markdown_table_keeps_every_cell_in_its_column() -> None:
    from markdown_it import MarkdownIt

    table = markdown_table(
        ("outlet", "share"),
        [("taz | die\r\ntageszeitung", 0.125), ("[x](https://evil.example) **b**", None)],
        (None, lambda v: f"{v:.1%}"),
    )
    html = MarkdownIt("commonmark").enable("table").render(table)
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S) for row in rows]
    assert [len(c) for c in cells] == [2, 2, 2]
    assert cells[1] == ["taz | die tageszeitung", "12.5%"]
    assert "<a " not in html and "<strong>" not in html and cells[2][1] == ""


# --- the pages, driven by AppTest -------------------------------------------------------------


def test_overview_shows_the_catalogued_narratives_by_default(
    monkeypatch, seeds_models: Path
) -> None:
    app = open_app(monkeypatch, None, seeds_models)
    names = data.series_names(load_run(seeds_models / "seeds"))
    narratives = names.filter(pl.col("kind") == "narrative")
    assert widget(app.multiselect, "Narratives").value == narratives["series"].to_list()
    assert line_names(app) == narratives["name"].to_list()
    assert set(widget(app.multiselect, "Narratives").options) == set(narratives["name"])
    app.toggle(key="overview_topics").set_value(True).run()
    topics = names.filter(pl.col("kind") == "topic").sort("size", descending=True).head(8)
    assert line_names(app) == [*narratives["name"], *topics.sort("order")["name"]]


def test_overview_filters_change_the_chart(monkeypatch, seeds_models: Path) -> None:
    app = open_app(monkeypatch, None, seeds_models)
    assert app.title[0].value == "How the narratives drift"
    assert captions(app)[0].startswith("Showing: All outlets · documents")
    everyone = overview_rows(app)
    widget(app.selectbox, "Outlet").set_value("RT DE").run()
    assert captions(app)[0].startswith("Showing: RT DE · documents")
    rt = overview_rows(app)
    assert [r["share"] for r in rt] != [r["share"] for r in everyone]

    names = data.series_names(load_run(seeds_models / "seeds"))
    first = names.filter(pl.col("kind") == "narrative")["series"][0]
    widget(app.multiselect, "Narratives").set_value([first]).run()
    assert line_names(app) == names.filter(pl.col("series") == first)["name"].to_list()

    widget(app.radio, "Chart").set_value("Lines in one chart").run()
    assert line_names(app) == names.filter(pl.col("series") == first)["name"].to_list()
    assert "facet" not in overview_spec(app)
    widget(app.radio, "Chart").set_value("Stacked area").run()
    area = overview_spec(app)
    assert area["mark"]["type"] == "area" and area["encoding"]["y"]["stack"] == "zero"
    labels = [b.label for b in app.get("download_button")]
    assert {"Download table (CSV)", "Download table (Parquet)", "Download chart (HTML)"} <= set(
        labels
    )


def test_overview_leads_to_the_articles_and_the_narrative_page(
    monkeypatch, seeds_models: Path
) -> None:
    run = load_run(seeds_models / "seeds")
    names = data.series_names(run)
    for kind in ("narrative", "topic"):
        app = open_app(monkeypatch, None, seeds_models)
        if kind == "topic":
            app.toggle(key="overview_topics").set_value(True).run()
        topic = widget(app.selectbox, "Narrative of the articles")
        target = [s for s in topic.options if names.filter(pl.col("name") == s)["kind"][0] == kind]
        series = names.filter(pl.col("name") == target[-1])["series"][0]
        topic.set_value(series).run()
        shown = app.main.dataframe[-1].value
        expected = articles.articles(run, series=series)["doc_id"]
        assert sorted(shown["doc_id"]) == sorted(expected), kind
        widget(app.button, "Open this narrative's page").click().run()
        assert plain(app.header[0].value) == target[-1]


def test_narrative_page_follows_the_selection(monkeypatch, seeds_models: Path) -> None:
    app = open_app(monkeypatch, None, seeds_models, "views/narrative.py")
    run = load_run(seeds_models / "seeds")
    names = data.series_names(run)
    assert plain(app.header[0].value) == names["name"][0]
    assert "How it is found" in [s.value for s in app.subheader]
    profile = passages.narrative_profile(run, names["series"][0])
    found = [m.value for m in app.markdown if m.value.startswith("Query: ")]
    threshold = profile["head_threshold"]
    head = f"at least {threshold:.3f}" if threshold is not None else "Head: off"
    assert found and head in found[0] and ("yes" in found[0]) == profile["has_query"], found
    other = names.filter(pl.col("kind") == "narrative")["series"][1]
    widget(app.selectbox, "Narrative").set_value(other).run()
    assert plain(app.header[0].value) == names["name"][1]
    carried = passages.narrative_passages(run, other, limit=20)
    texts = [t.value for t in app.text]
    assert all(text in texts for text in carried["text"])
    assert any(c.startswith("Evidence: ") for c in captions(app))

    topic = names.filter(pl.col("kind") == "topic")["series"][1]
    widget(app.selectbox, "Narrative").set_value(topic).run()
    assert plain(app.header[0].value) == names.filter(pl.col("series") == topic)["name"][0]
    representative = articles.representative_passages(run, int(topic.split(":")[1]))
    assert representative["text"][0] in [t.value for t in app.text]
    assert any("per outlet" in s.value for s in app.subheader)
    assert "Narratives its passages carry" in [s.value for s in app.subheader]


def test_overview_draws_the_corrected_share_and_the_toggle_the_counted_one(
    monkeypatch, moved_run: Path
) -> None:
    app = open_app(monkeypatch, None, moved_run)
    run = load_run(moved_run / "seeds")
    frame = data.shares(run)
    narratives = frame.filter(pl.col("kind") == "narrative")["series"].unique().to_list()
    lines = narrative_lines(app)
    assert set(lines) == set(narratives)
    moved = 0
    for series in narratives:
        points = expected_line(frame, series, "share")
        assert lines[series]["share"] == pytest.approx(points["share"].to_list()), series
        moved += points["share"].to_list() != points["share_raw"].to_list()
    assert moved  # the corrected share is not the counted one
    assert "corrected for the detector's measured errors" in captions(app)[1]

    widget(app.toggle, "Counted tags (raw)").set_value(True).run()
    lines = narrative_lines(app)
    for series in narratives:
        points = expected_line(frame, series, "share_raw")
        assert lines[series]["share"] == pytest.approx(points["share_raw"].to_list()), series
        assert lines[series]["low"] == pytest.approx(points["ci_low_raw"].to_list())
    assert captions(app)[1].startswith("Counted tags (raw)")
    widget(app.radio, "Unit").set_value("passages").run()
    assert widget(app.toggle, "Counted tags (raw)").disabled


def test_a_share_whose_interval_includes_zero_is_an_open_marker(
    monkeypatch, seeds_models: Path
) -> None:
    app = open_app(monkeypatch, None, seeds_models)
    frame = data.shares(load_run(seeds_models / "seeds"))
    zeros = 0
    for series, line in narrative_lines(app).items():
        points = expected_line(frame, series, "share")
        zero = [low <= charts.ZERO for low in points["ci_low"]]
        small = points["small_period"].to_list()
        assert line["open"] == [z or s for z, s in zip(zero, small, strict=True)], series
        notes = [charts.ZERO_NOTE in (note or "") for note in line["note"]]
        assert notes == zero, series
        zeros += sum(zero)
    assert zeros  # the seeds have periods where a narrative is not distinguishable from zero
    assert "includes 0 (not distinguishable from zero)" in captions(app)[0]


def test_the_overview_names_the_narratives_counted_for_want_of_labelled_items(
    monkeypatch, seeds_models: Path, thin_run: tuple[Path, str]
) -> None:
    path, thin = thin_run
    run = load_run(path)
    label = run.table("narratives").filter(pl.col("narrative_id") == thin)["label_de"][0]
    app = open_app(monkeypatch, None, seeds_models)
    note = captions(app)[1]
    assert "too few labelled items back a correction" in note and label in note
    others = run.table("narratives").filter(pl.col("narrative_id") != thin)["label_de"]
    assert not any(other in note.split("correction:")[-1] for other in others)
    total = run.table("narratives").height
    card = plain(app.sidebar.markdown[0].value)
    assert f"**Shares** corrected for {total - 1} of {total} narratives (labelled items: " in card
    app.switch_page("views/narrative.py").run()
    widget(app.selectbox, "Narrative").set_value(thin).run()
    assert any("too few labelled items" in m.value for m in app.markdown)
    assert widget(app.metric, "Method").value == "CC"


def test_narrative_page_says_how_its_shares_are_estimated(monkeypatch, seeds_models: Path) -> None:
    app = open_app(monkeypatch, None, seeds_models, "views/narrative.py")
    run = load_run(seeds_models / "seeds")
    narrative = data.series_names(run)["series"][0]
    profile = passages.narrative_profile(run, narrative)
    assert "How its shares are estimated" in [s.value for s in app.subheader]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Method"] == profile["share_method"].upper()
    assert metrics["Labelled positives"] == str(profile["n_calibration_positives"])
    assert metrics["Labelled negatives"] == str(profile["n_calibration_negatives"])
    assert metrics["True-positive rate"] == f"{profile['tpr']:.1%}"
    assert metrics["False-positive rate"] == f"{profile['fpr']:.1%}"
    assert any(m.value.startswith("Method: ") and "catalog" in m.value for m in app.markdown)
    outlet = data.outlet_series(run, narrative).filter(pl.col("source") == "*")
    everyone = next(t for t in chart_traces(app, 0) if t["name"] == "All outlets")
    assert everyone["y"] == pytest.approx(outlet.drop_nulls("share")["share"].to_list())
    widget(app.toggle, "Counted tags (raw)").set_value(True).run()
    everyone = next(t for t in chart_traces(app, 0) if t["name"] == "All outlets")
    assert everyone["y"] == pytest.approx(outlet.drop_nulls("share_raw")["share_raw"].to_list())


def test_confirm_and_reject_write_feedback_into_the_models_catalog(
    monkeypatch, seeds_models: Path
) -> None:
    shipped = default_catalog_path().read_bytes()
    run = load_run(seeds_models / "seeds")
    narrative = run.table("narratives").filter(pl.col("n_passages") >= 2)["narrative_id"][0]
    app = open_app(monkeypatch, None, seeds_models, "views/narrative.py")
    widget(app.selectbox, "Narrative").set_value(narrative).run()
    carried = passages.narrative_passages(run, narrative)["passage_id"]
    app.button(key=f"confirm-carried-{narrative}-{carried[0]}").click().run()
    catalog = seeds_models / "catalog.toml"
    assert catalog.is_file()
    message = plain(app.success[0].value)
    assert str(catalog) in message and "retrain" in message
    assert app.toast and "retrain" in plain(app.toast[0].value)
    app.button(key=f"confirm-carried-{narrative}-{carried[0]}").click().run()
    assert "Already recorded" in app.info[0].value  # the same decision twice: recorded once
    app.button(key=f"reject-carried-{narrative}-{carried[1]}").click().run()
    missed = passages.narrative_candidates(run, narrative)["passage_id"][0]
    app.button(key=f"confirm-missed-{narrative}-{missed}").click().run()
    assert not app.exception
    entries = feedback_entries(seeds_models)
    decided = [(e["narrative"], e["passage_id"], e["carries"], e["run"]) for e in entries]
    assert decided == [
        (narrative, carried[0], True, "seeds"),
        (narrative, carried[1], False, "seeds"),
        (narrative, missed, True, "seeds"),
    ]
    texts = run.table("passages").filter(pl.col("passage_id") == carried[0])["text"][0]
    assert entries[0]["text"] == " ".join(texts.split())
    assert len(load_catalog(catalog).feedback) == 3
    assert default_catalog_path().read_bytes() == shipped  # the shipped catalog is never edited


def test_documents_page_rejects_and_adds_a_passages_narrative(
    monkeypatch, seeds_models: Path
) -> None:
    run = load_run(seeds_models / "seeds")
    tag = run.table("narrative_scores").filter(pl.col("tagged")).row(0, named=True)
    app = open_app(monkeypatch, None, seeds_models, "views/documents.py")
    widget(app.selectbox, "Article").set_value(tag["doc_id"]).run()
    carried = passages.document_narratives(run, tag["doc_id"])
    shown = [frame.value for frame in app.main.dataframe]
    assert any(set(carried["name"]) == set(f.get("name", [])) for f in shown)
    assert any(c.startswith("Carries ") and "evidence:" in c for c in captions(app))
    app.button(key=f"reject-doc-{tag['narrative_id']}-{tag['passage_id']}").click().run()
    assert "does not carry" in plain(app.success[0].value)
    picker = app.selectbox(key=f"add-{tag['passage_id']}")
    ids = dict(zip(*run.table("narratives")[["label_de", "narrative_id"]], strict=True))
    offered = [ids[name] for name in picker.options]
    assert tag["narrative_id"] not in offered
    other = offered[-1]
    picker.set_value(other).run()
    app.button(key=f"confirm-add-{tag['passage_id']}").click().run()
    decided = [(e["narrative"], e["carries"]) for e in feedback_entries(seeds_models)]
    assert decided == [(tag["narrative_id"], False), (other, True)]
    assert {e["passage_id"] for e in feedback_entries(seeds_models)} == {tag["passage_id"]}


def test_corpus_text_is_never_rendered_as_markdown(monkeypatch, seeds_models: Path) -> None:
    run_path = seeds_models / "seeds"
    documents = pl.read_parquet(run_path / "documents.parquet")
    documents.with_columns(
        (pl.lit(EVIL) + pl.col("title")).alias("title"),
        pl.lit("javascript:alert(1)").alias("url"),
    ).write_parquet(run_path / "documents.parquet")
    texts = pl.read_parquet(run_path / "passages.parquet")
    texts.with_columns((pl.lit(EVIL) + pl.col("text")).alias("text")).write_parquet(
        run_path / "passages.parquet"
    )
    app = open_app(monkeypatch, None, seeds_models, "views/documents.py")
    seen = markdown_bodies(app)
    links = [v for frame in app.main.dataframe for v in frame.value.get("url", [])]
    assert links and not any(isinstance(v, str) for v in links)  # no javascript: link column
    app.switch_page("views/narrative.py").run()
    assert not app.exception
    seen += markdown_bodies(app)
    assert any(t.value.startswith(EVIL) for t in app.text)  # passages: plain st.text
    assert any(plain(s).startswith(EVIL.strip()) for s in seen)  # titles: escaped
    for body in seen:
        assert "](https://evil" not in body and "javascript:" not in body, body


def test_outlets_page_shows_both_heatmaps_and_a_head_to_head(
    monkeypatch, seeds_models: Path
) -> None:
    app = open_app(monkeypatch, None, seeds_models, "views/outlets.py")
    shares = chart_traces(app, 0)[0]
    assert shares["type"] == "heatmap" and {"RT DE", "WELT"} <= set(shares["x"])
    names = data.series_names(load_run(seeds_models / "seeds"))
    narratives = names.filter(pl.col("kind") == "narrative")["name"].to_list()
    assert shares["y"] and set(shares["y"]) <= set(narratives)  # narratives by default
    app.toggle(key="outlets_topics").set_value(True).run()
    with_topics = set(chart_traces(app, 0)[0]["y"])
    assert set(shares["y"]) < with_topics and with_topics - set(narratives)
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
    assert plain(app.subheader[0].value).startswith("UKRAINE-KRIEG")


def test_compare_page_compares_periods_and_runs(monkeypatch, seeds_models: Path) -> None:
    shutil.copytree(seeds_models / "seeds", seeds_models / "seeds-copy")
    app = open_app(monkeypatch, seeds_models / "seeds", seeds_models, "views/compare.py")
    table = app.main.dataframe[-1].value
    assert len(table) > 0 and {"share_a", "share_b"} <= set(table.columns)
    names = data.series_names(load_run(seeds_models / "seeds"))
    labels = set(names.filter(pl.col("kind") == "narrative")["name"])
    assert set(table["name"]) <= labels
    widget(app.radio, "Compare").set_value("Two runs").run()
    assert not app.exception
    table = app.main.dataframe[-1].value
    found = set(names.filter((pl.col("kind") == "narrative") & (pl.col("size") > 0))["name"])
    assert set(table["name"]) == found  # the narratives found, matched by narrative id
    assert (table["difference"].abs() < 1e-12).all()  # a run against its copy: no difference
    app.toggle(key="compare_topics").set_value(True).run()
    table = app.main.dataframe[-1].value
    assert set(table["name"]) > found and (table["difference"].abs() < 1e-12).all()


def test_an_old_run_without_narrative_tables_still_opens(
    monkeypatch, seeds_models: Path, old_run: Path
) -> None:
    app = open_app(monkeypatch, old_run, seeds_models)
    assert "predates narrative detection" in plain(app.sidebar.warning[0].value)
    toggle = app.toggle(key="overview_topics")
    assert toggle.value and toggle.disabled
    names = data.series_names(load_run(old_run))
    assert set(names["kind"]) <= {"topic", "outliers"}
    expected = names.filter(pl.col("series").is_in(data.default_series(names)))["name"]
    assert line_names(app) == expected.to_list() and len(expected) > 0
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
    app.switch_page("views/narrative.py").run()
    assert plain(app.header[0].value) == names["name"][0]


def test_no_runs_says_how_to_train_one(monkeypatch, tmp_path: Path) -> None:
    app = open_app(monkeypatch, None, tmp_path / "empty")
    assert "narratives train" in app.info[0].value


def test_a_corrupt_run_is_named_not_crashed(monkeypatch, seeds_models: Path) -> None:
    broken = seeds_models / "broken"
    shutil.copytree(seeds_models / "seeds", broken)
    (broken / "topics.parquet").write_bytes(b"not parquet at all")
    app = open_app(monkeypatch, broken, seeds_models)
    assert "topics.parquet" in plain(app.error[0].value)
    assert "not a readable Parquet file" in plain(app.error[0].value)


def test_a_run_without_dates_shows_overall_shares(monkeypatch, seeds_models: Path) -> None:
    undated = seeds_models / "undated"
    shutil.copytree(seeds_models / "seeds", undated)
    run = load_run(undated)
    documents = run.table("documents").with_columns(pl.lit(None, pl.Date).alias("date"))
    documents.write_parquet(undated / "documents.parquet")
    tables = drift_tables(
        documents,
        run.table("passages"),
        run.table("assignments"),
        narrative_scores=run.table("narrative_scores"),
        narrative_ids=run.table("narratives")["narrative_id"].to_list(),
    ).tables
    for name, frame in tables.items():
        frame.write_parquet(undated / f"{name}.parquet")
    app = open_app(monkeypatch, undated, seeds_models)
    assert "no dates" in app.info[0].value
    bars = chart_traces(app)[0]
    assert bars["type"] == "bar" and len(bars["y"]) >= 1
    labels = set(run.table("narratives")["label_de"])
    assert set(bars["y"]) <= labels  # the narratives carried, by default
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)


def test_the_synthetic_benchmark_run_opens_with_its_narratives(monkeypatch, tmp_path: Path) -> None:
    from benchmarks.synthetic_run import make_run

    path = make_run(tmp_path, "synthetic", 1200)
    run = load_run(path)
    assert "narrative_id" not in run.table("topics").columns
    assert run.table("narrative_scores").height == run.table("passages").height * 8
    app = open_app(monkeypatch, path, tmp_path)
    assert len(line_names(app)) == run.table("narratives").height
    events = data.events(run, series=data.default_series(data.series_names(run)))
    assert "failed-counteroffensive" in events["series"].to_list()  # the planted step change
    marked = {(r["series"], r["change"]) for r in overview_rows(app, "event")}
    assert any(series == "failed-counteroffensive" for series, _ in marked)


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
    assert len(chart_traces(app, 0)[0]["x"]) >= 5, "one column per outlet"
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
        f"for page in {PAGES!r}:\n"
        "    app.switch_page(page).run()\n"
        "    assert not app.exception, (page, app.exception)\n"
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
        timeout=180,
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
    evaluation = {**result.record, "narratives": {"micro_f1": 0.625, "macro_f1": 0.5}}
    replace_tables(path, {}, lambda r: replace(r, evaluation=evaluation))
    quality = data.run_card(load_run(path)).quality
    assert quality["narratives micro F1"] == pytest.approx(0.625)
    assert quality["coherence (NPMI)"] == pytest.approx(result.record["coherence_npmi"])


def first_view(run_path: Path) -> tuple[pl.DataFrame, list[str], pl.DataFrame, pl.DataFrame]:
    """The Overview's first view of a run: its series names, the default series, and their
    document shares and headline changes over all outlets."""
    run = load_run(run_path)
    names = data.series_names(run)
    chosen = data.default_series(names)
    shares = data.shares(run, unit="documents", source="*", series=chosen)
    return names, chosen, shares, data.events(run, source="*", series=chosen)


def test_small_multiples_put_one_series_per_panel_with_no_text_but_the_titles(
    seeds_run: Path,
) -> None:
    names, chosen, shares, events = first_view(seeds_run)
    figure = charts.share_panels(shares, events)
    titles = [a.text for a in figure.layout.annotations]
    expected = names.filter(pl.col("series").is_in(chosen))["name"].to_list()
    assert titles == [charts.plain(charts.short_name(n)) for n in expected]
    assert all(len(t) <= charts.NAME_CHARS for t in titles)
    places = {(round(a.x, 3), round(a.y, 3)) for a in figure.layout.annotations}
    assert len(places) == len(titles), "each title has a grid place of its own"
    lines = [t for t in figure.data if t.mode == "lines+markers"]
    assert len(lines) == len(chosen) and len({t.xaxis for t in lines}) == len(chosen)
    assert charts.short_name("x" * 60).endswith("…") and len(charts.short_name("x" * 60)) == 38


def test_the_overviews_panels_are_one_per_series_with_its_points_pickable(
    seeds_run: Path,
) -> None:
    """The Vega-Lite small multiples the Overview draws: one panel per series in the series
    order, titled by its cut name (two names cut alike stay two panels), its points carrying
    their series and date for a click, and the headline changes on their series' panel."""
    names, chosen, shares, events = first_view(seeds_run)
    spec = vegalite.share_panels(shares, events)
    expected = names.filter(pl.col("series").is_in(chosen))["name"].to_list()
    titles = spec["facet"]["sort"]
    assert [t.strip("\u2009") for t in titles] == [charts.short_name(n) for n in expected]
    rows = spec["data"]["values"]
    drawn = [r for r in rows if r["layer"] == "share"]
    assert {r["panel"] for r in drawn} == set(titles)
    assert len(drawn) == shares.drop_nulls("share").height
    points = next(layer for layer in spec["spec"]["layer"] if layer.get("name") == "points")
    assert points["params"][0]["name"] == vegalite.PICK
    assert points["params"][0]["select"]["fields"] == ["series", "date"]
    axis = points["encoding"]["x"]["axis"]  # ticks at periods, never two alike
    periods = {p.isoformat() for p in shares["period"].unique()}
    assert 1 <= len(axis["values"]) <= vegalite.MAX_TICKS
    ticks = {date(v["year"], v["month"], v["date"]).isoformat() for v in axis["values"]}
    assert ticks <= periods
    marked = [r for r in rows if r["layer"] == "event"]
    assert len(marked) == events.height
    panel_of = {r["series"]: r["panel"] for r in drawn}
    assert all(r["panel"] == panel_of[r["series"]] for r in marked)

    first = shares["series"][0]
    unseen = shares.with_columns(
        pl.when(pl.col("series") == first).then(None).otherwise(pl.col("share")).alias("share")
    )
    blank = vegalite.share_panels(unseen, events.clear())
    assert {r["panel"] for r in blank["data"]["values"]} == set(titles)  # its panel stays

    twins = shares.with_columns(pl.lit("x" * 60).alias("name"))
    assert len(set(vegalite.share_panels(twins, events.clear())["facet"]["sort"])) == len(chosen)


def test_the_server_prefetches_the_overviews_first_view(monkeypatch, seeds_models: Path) -> None:
    """What the server computes while the browser loads the page is exactly what the Overview's
    first script run asks for: that run builds no frame and no figure itself."""
    import streamlit as st

    computed: list[str] = []
    query_function, overview_chart = state.query_function, figures.overview_chart

    def counted(name):
        computed.append(name)
        return query_function(name)

    def counted_chart(run, **kwargs):
        computed.append("overview_chart")
        return overview_chart(run, **kwargs)

    monkeypatch.setattr(state, "query_function", counted)
    monkeypatch.setattr(figures, "overview_chart", counted_chart)
    for prefetch in (False, True):
        st.cache_data.clear()
        st.cache_resource.clear()
        if prefetch:
            args = state.app_args(["--models-dir", str(seeds_models)])
            state.prefetch_overview(data.run_key(state.default_run(args)))
            assert "overview_chart" in computed and "shares" in computed
        computed.clear()
        app = open_app(monkeypatch, None, seeds_models)
        overview_spec(app)
        if prefetch:
            assert computed == [], f"the first view computed {computed} despite the prefetch"
        else:
            assert "overview_chart" in computed  # the counting sees a cold first view


def test_the_overviews_first_view_lists_changes_without_a_data_grid(
    monkeypatch, seeds_models: Path
) -> None:
    """The headline changes are a plain table and the articles wait for a pick, so the browser
    loads no data grid before it draws the first chart."""
    app = open_app(monkeypatch, None, seeds_models)
    assert not app.main.dataframe
    assert widget(app.selectbox, "Narrative of the articles").value is None
    changes = data.events(
        load_run(seeds_models / "seeds"),
        series=data.default_series(data.series_names(load_run(seeds_models / "seeds"))),
    )
    tables = [m.value for m in app.markdown if m.value.startswith("| period | narrative")]
    if changes.is_empty():
        assert not tables
    else:
        assert len(tables) == 1 and tables[0].count("\n") == changes.height + 1


def test_many_headline_changes_list_the_largest_and_all_on_request(
    monkeypatch, seeds_models: Path
) -> None:
    """Past 40 changes the first view still loads no data grid: it lists the 40 largest as a
    plain table and says so; "List all" shows every change in a grid."""
    import streamlit as st

    events = data.events

    def many(run, **kwargs):
        found = events(run, **kwargs)
        copies = [found.with_columns(pl.col("share_change") * (1 + k)) for k in range(45)]
        return pl.concat(copies).head(45).sort("period", "series")  # data.events' order

    monkeypatch.setattr(data, "events", many)
    st.cache_data.clear()
    st.cache_resource.clear()
    app = open_app(monkeypatch, None, seeds_models)
    assert "List all 45 changes" in [t.label for t in app.toggle], "the seeds have a change"
    assert not app.main.dataframe
    tables = [m.value for m in app.markdown if m.value.startswith("| period | narrative")]
    assert len(tables) == 1 and tables[0].count("\n") == 40 + 1
    assert "The 40 largest changes, largest first." in captions(app)
    listed = many(load_run(seeds_models / "seeds"))
    top = listed.sort(pl.col("share_change").abs(), descending=True)["share_change"][0]
    assert f"| {top:+.1%} |" in plain(tables[0].splitlines()[2]), "the largest change first"
    widget(app.toggle, "List all 45 changes").set_value(True).run()
    assert app.main.dataframe and app.main.dataframe[0].value.shape[0] == 45
    st.cache_data.clear()


def test_the_run_list_follows_runs_added_and_removed(tmp_path: Path, seeds_run: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(seeds_run, models / "first")
    assert [r.name for r in state.runs_in(models)[0]] == ["first"]
    shutil.copytree(seeds_run, models / "second")
    (models / "broken").mkdir()
    runs, broken = state.runs_in(models)
    assert sorted(r.name for r in runs) == ["first", "second"] and broken == [models / "broken"]
    shutil.rmtree(models / "first")
    assert [r.name for r in state.runs_in(models)[0]] == ["second"]
    table = next((models / "second").glob("*.parquet"))
    table.write_bytes(b"not parquet")  # overwritten in place: the directory's mtime stays
    runs, broken = state.runs_in(models)
    assert runs == [] and models / "second" in broken
