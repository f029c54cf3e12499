"""The Python API (narratives.train, open_run, Run's queries) on the seeds: the same run as the
CLI, DataFrames validated like files, and errors raised from the call, not the internals."""

from __future__ import annotations

import doctest
import os
import shutil
import traceback
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import narratives
from tests.conftest import SEEDS, run_cli

pytestmark = pytest.mark.slow

API_FILE = Path(narratives.__file__).with_name("api.py")


def _seeds_frame() -> pl.DataFrame:
    """The seed articles as a user would build them: manifest.csv plus each file's text."""
    manifest = pl.read_csv(SEEDS / "manifest.csv")
    texts = [(SEEDS / name).read_text(encoding="utf-8") for name in manifest["file"]]
    return manifest.with_columns(pl.Series("text", texts)).drop("file", "note")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-models")


@pytest.fixture(scope="module")
def path_run(seeds_run: Path) -> narratives.Run:
    return narratives.open_run(seeds_run)


def _only_outer_frames(exc: BaseException) -> list[str]:
    """The files of the frames an exception's traceback passes through, past this test."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f.filename for f in frames if not f.filename.endswith("test_api.py")]


def test_a_polars_and_a_pandas_dataframe_train_the_same_run_as_the_folder(
    models: Path, path_run: narratives.Run
) -> None:
    frame = _seeds_frame()
    from_polars = narratives.train(
        frame.rename({"text": "body"}),
        columns={"text": "body"},
        run="polars",
        models_dir=models,
        progress=False,
        verbose=False,
    )
    from_pandas = narratives.train(
        frame.to_pandas(), run="pandas", models_dir=models, progress=False, verbose=False
    )
    expected = path_run.prevalence()
    assert expected.height > 0 and expected["n_docs"].sum() > 0
    assert_frame_equal(from_polars.prevalence(), expected)
    assert_frame_equal(from_pandas.prevalence(), expected)
    assert_frame_equal(from_polars.prevalence(of="topics"), path_run.prevalence(of="topics"))
    assert from_polars.record.corpus.path == "DataFrame"
    assert from_polars.record.corpus.fingerprint == path_run.record.corpus.fingerprint


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pl.DataFrame({"body": ["Munition wird knapp."]}),
            "DataFrame, field 'text': no column 'text' (columns: body); "
            "pass columns={'text': NAME}",
        ),
        (
            pl.DataFrame(
                {
                    "text": ["Erster Text.", "Zweiter Text.", "Dritter Text."],
                    "date": ["2023-01-05", "2023-02", "gestern"],
                }
            ),
            "DataFrame, row 3, field 'date': cannot parse date 'gestern'",
        ),
    ],
    ids=["no-text-column", "bad-date-row-3"],
)
def test_a_bad_dataframe_gets_the_file_message_raised_from_the_call(
    frame: pl.DataFrame, message: str, models: Path
) -> None:
    with pytest.raises(narratives.InputError) as caught:
        narratives.train(frame, run="bad", models_dir=models, progress=False, verbose=False)
    assert str(caught.value).startswith(message)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert _only_outer_frames(caught.value) == [str(API_FILE)], "no frames from the internals"
    assert not (models / "bad").exists()
    with pytest.raises(narratives.InputError) as from_pandas:
        narratives.train(frame.to_pandas(), run="bad", models_dir=models, progress=False)
    assert str(from_pandas.value).startswith(message)


def test_the_cli_and_the_api_write_identical_runs(models: Path, capsys) -> None:
    code, _, err = run_cli(
        ["train", str(SEEDS), "--run", "by-cli", "--models-dir", str(models), "-q"], capsys
    )
    assert code == 0, err
    by_api = narratives.train(SEEDS, run="by-api", models_dir=models, progress=False)
    by_cli = narratives.open_run("by-cli", models)
    from narratives.export import export_tables

    cli_tables, api_tables = export_tables(by_cli), export_tables(by_api)
    assert sorted(cli_tables) == sorted(api_tables) and len(api_tables) > 10
    for name, table in api_tables.items():
        assert_frame_equal(table, cli_tables[name], check_exact=True)
    assert by_api.record.config == by_cli.record.config


def test_run_queries_answer_with_labelled_polars_frames(path_run: narratives.Run) -> None:
    named = path_run.narratives()
    assert named["narrative_id"].to_list() == list(path_run.record.catalog.ids)
    found = dict(zip(named["narrative_id"], named["n_docs"], strict=True))
    assert found["failed-counteroffensive"] >= 1 and found["ukraine-nato-membership"] >= 3
    assert (named["ci_low"] <= named["share"]).all() and (named["share"] <= named["ci_high"]).all()
    assert (named["n_documents"] == 5).all()

    topics = path_run.topics()
    assert topics.height > 0 and (topics["topic_id"] >= 0).all()
    assert topics["size"].is_sorted(descending=True)

    by_outlet = path_run.prevalence(by="source")
    assert "*" not in by_outlet["source"].to_list() and {"RT DE", "WELT"} <= set(
        by_outlet["source"]
    )
    overall = path_run.prevalence()
    assert "source" not in overall.columns
    assert overall.columns[:3] == ["period", "narrative_id", "label"]
    nato = path_run.keywords("ukraine-nato-membership")
    assert nato.height >= 1 and set(nato["narrative_id"]) == {"ukraine-nato-membership"}
    first_topic = int(topics["topic_id"][0])
    assert set(path_run.keywords(first_topic)["topic_id"]) == {first_topic}

    carrying = path_run.documents(narrative="failed-counteroffensive")
    assert carrying["doc_id"].to_list() == ["seed-000"]
    assert path_run.documents(source="WELT")["doc_id"].to_list() == ["seed-003"]
    from narratives.drift.changes import STATUSES

    assert set(path_run.drift()["status"]) <= set(STATUSES)
    assert path_run.outlets().filter(pl.col("period").is_null()).height > 0
    assert path_run.narratives().to_pandas().shape[0] == len(path_run.record.catalog.ids)


def test_another_period_is_computed_in_memory_and_leaves_the_run_alone(
    path_run: narratives.Run,
) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in path_run.path.iterdir()}
    yearly = path_run.prevalence(period="year")
    assert yearly["period"].dt.month().unique().to_list() == [1]
    per_year = yearly.group_by("period").agg(pl.col("n_period_docs").first()).sort("period")
    assert per_year["n_period_docs"].to_list() == [1, 2, 2]
    assert path_run.drift(period="year", of="topics")["period"].n_unique() == 3
    assert {p.name: p.stat().st_mtime_ns for p in path_run.path.iterdir()} == before


def test_unknown_ids_and_choices_name_what_is_known(path_run: narratives.Run) -> None:
    with pytest.raises(narratives.InputError, match=r"no narrative 'nope' .*known: failed-"):
        path_run.keywords("nope")
    with pytest.raises(narratives.InputError, match="no topic 999"):
        path_run.documents(topic=999)
    with pytest.raises(narratives.InputError, match="of must be 'narratives' or 'topics'"):
        path_run.prevalence(of="outlets")  # type: ignore[arg-type]
    with pytest.raises(narratives.InputError, match="unknown format 'xlsx'"):
        path_run.export("out", format="xlsx")
    with pytest.raises(narratives.RunError, match="no such run"):
        narratives.open_run("no-such-run", path_run.path.parent)


def test_export_list_and_open_the_newest(path_run: narratives.Run, tmp_path: Path) -> None:
    written = path_run.export(tmp_path / "out", format="parquet")
    assert {p.name for p in written} >= {"documents.parquet", "narrative_prevalence.parquet"}
    assert_frame_equal(
        pl.read_parquet(tmp_path / "out" / "topics.parquet"), path_run.table("topics")
    )
    listed = narratives.list_runs(path_run.path.parent)
    assert path_run.name in listed["name"].to_list()
    newest = narratives.open_run(models_dir=path_run.path.parent)
    assert newest.name == listed["name"][0]
    assert repr(path_run).startswith(f"Run('{path_run.name}'")


def test_assign_takes_a_run_read_by_load_run_too(path_run: narratives.Run, models: Path) -> None:
    from narratives.runs import load_run

    stored = load_run(path_run.path)
    with pytest.raises(narratives.InputError, match="nothing to add: every article is already"):
        narratives.assign(stored, SEEDS, name="again", models_dir=models, progress=False)


def test_config_and_catalog_can_be_read_and_tweaked_before_training() -> None:
    config = narratives.default_config().with_overrides(**{"model.min_topic_size": 3})
    assert config.model.min_topic_size == 3
    assert narratives.api._config({"seed": 7}).seed == 7
    with pytest.raises(narratives.InputError, match=r"field 'model\.min_topic_size'"):
        narratives.default_config().with_overrides(**{"model.min_topic_size": -1})
    catalog = narratives.load_catalog()
    assert "ammunition-shortage" in catalog.ids


def test_every_public_name_is_documented() -> None:
    import pydoc

    for name in narratives.__all__:
        value = getattr(narratives, name)
        if name != "__version__":
            assert (value.__doc__ or "").strip(), f"narratives.{name} has no docstring"
    for name in ("topics", "narratives", "documents", "prevalence", "drift", "outlets"):
        assert getattr(narratives.Run, name).__doc__, name
    text = pydoc.render_doc(narratives, renderer=pydoc.plaintext)
    assert "open_run" in text and "prevalence" in text


def test_the_docstring_examples_run(
    seeds_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples of train, open_run and Run.prevalence, as a user runs them: in a folder with
    seeds/, runs under ./models."""
    (tmp_path / "seeds").symlink_to(SEEDS, target_is_directory=True)
    shutil.copytree(seeds_run, tmp_path / "models" / "seeds-demo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NARRATIVES_MODELS_DIR", raising=False)
    import narratives.api

    result = doctest.testmod(narratives.api, extraglobs={"pl": pl}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
    assert os.path.isdir("models/seeds-demo")


def test_a_run_opened_twice_follows_what_the_other_rewrote(seeds_run: Path, tmp_path: Path) -> None:
    shutil.copytree(seeds_run, tmp_path / "seeds")
    reader, writer = (narratives.open_run(tmp_path / "seeds") for _ in range(2))
    assert reader == writer and len({reader, writer}) == 1
    assert reader.prevalence()["period"].dt.month().n_unique() > 1, "monthly to begin with"
    writer.compute_drift(period="year", save=True)
    assert reader.record.drift is not None
    yearly = reader.prevalence()
    assert reader.record.drift.period == "year"
    assert yearly["period"].dt.month().unique().to_list() == [1]
    assert reader.prevalence(period="month")["period"].dt.month().n_unique() > 1


def test_another_period_keeps_the_runs_outlet_setting_as_the_cli_does(
    seeds_run: Path, tmp_path: Path, capsys
) -> None:
    shutil.copytree(seeds_run, tmp_path / "seeds")
    run = narratives.open_run(tmp_path / "seeds")
    run.compute_drift(by_source=False, save=True)
    code, _, err = run_cli(
        ["drift", str(run.path), "--period", "year", "--out", str(tmp_path / "d")], capsys
    )
    assert code == 0, err
    by_cli = pl.read_parquet(tmp_path / "d" / "narrative_prevalence.parquet").drop("source")
    by_api = run.prevalence(period="year").drop("label")
    assert_frame_equal(by_api, by_cli)


def test_queries_reject_what_they_cannot_answer(path_run: narratives.Run) -> None:
    with pytest.raises(narratives.InputError, match="unknown share method 'foo'"):
        path_run.compute_drift(shares="foo")
    with pytest.raises(narratives.InputError, match=r"no outlet 'Nope' .*outlets: RT DE"):
        path_run.documents(source="Nope")
    with pytest.raises(narratives.InputError, match="no topic True"):
        path_run.keywords(True)  # type: ignore[arg-type]
    assert "label" in path_run.keywords("ammunition-shortage").columns
