"""The command line: --help everywhere, one-line errors with non-zero exits, export round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import run_cli

from narratives.export import read_table

COMMANDS = ["train", "runs", "topics", "export", "config"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command: str | None, capsys) -> None:
    code, out, _ = run_cli([command, "--help"] if command else ["--help"], capsys)
    assert code == 0 and "Usage:" in out


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "narratives"
    assert script.is_file(), "pip install -e . installs the `narratives` console script"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "narratives" in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id,body\n1,Text\n", r"data\.csv.*field 'text'"),
        (b"doc_id,text,date\n1,Eins,2022-01-01\n2,Zwei,gestern\n", r"row 2, field 'date'"),
        (b"", r"data\.csv.*no documents"),
        (b"doc_id,text\n1,Gr\xfc\xdfe\n", r"data\.csv.*UTF-8"),
        (b"doc_id,text\na,Eins\na,Zwei\n", r"row 2, field 'doc_id'.*duplicate"),
    ],
)
def test_bad_input_is_one_line_naming_file_row_field(
    tmp_path: Path, capsys, content: bytes, expected: str
) -> None:
    corpus = tmp_path / "data.csv"
    corpus.write_bytes(content)
    models = tmp_path / "models"
    code, _, err = run_cli(["train", str(corpus), "--models-dir", str(models), "-q"], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    import re

    assert re.search(expected, lines[0]), lines[0]
    assert not models.exists() or not any(models.iterdir())


def test_corrupt_run_is_reported(tmp_path: Path, capsys) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{")
    code, _, err = run_cli(["topics", "broken", "--models-dir", str(tmp_path)], capsys)
    assert code == 3 and "run.json" in err


@pytest.mark.slow
def test_topics_and_runs_show_the_seeds_run(seeds_run: Path, capsys) -> None:
    code, out, _ = run_cli(["topics", str(seeds_run)], capsys)
    assert code == 0
    assert "Friedensverhandlungen oder Militärhilfe" in out
    code, out, _ = run_cli(["runs", "--models-dir", str(seeds_run.parent)], capsys)
    assert code == 0 and "seeds" in out


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_export_round_trips(seeds_run: Path, tmp_path: Path, capsys, fmt: str) -> None:
    from narratives.export import export_tables
    from narratives.runs import load_run

    code, out, _ = run_cli(
        ["export", str(seeds_run), "--format", fmt, "--out", str(tmp_path)], capsys
    )
    assert code == 0
    expected = export_tables(load_run(seeds_run))
    written = {Path(line).stem: Path(line) for line in out.split()}
    assert (
        set(written) == set(expected) >= {"topics", "assignments", "documents", "document_topics"}
    )
    for stem, frame in expected.items():
        back = read_table(written[stem])
        assert back.columns == frame.columns, stem
        assert back.height == frame.height, stem
        if fmt == "parquet":
            assert back.equals(frame), stem
    documents = read_table(written["documents"])
    assert documents.filter(pl.col("narrative_mix").is_null()).height == 0


@pytest.mark.slow
def test_drift_command_prints_headlines_and_writes_tables(
    seeds_run: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "drift"
    code, stdout, _ = run_cli(
        ["drift", str(seeds_run), "--period", "quarter", "--out", str(out), "--format", "csv"],
        capsys,
    )
    assert code == 0 and "quarter periods" in stdout
    written = {p.stem for p in out.iterdir()}
    topic_tables = {"prevalence", "passage_prevalence", "drift", "outlets", "keyword_drift"}
    assert written == topic_tables | {f"narrative_{name}" for name in topic_tables}
    prevalence = read_table(out / "prevalence.csv")
    assert prevalence["period"].n_unique() >= 8, "quarters 2022-Q4 .. 2024-Q4, empty ones kept"


@pytest.mark.slow
def test_drift_command_rewrites_the_runs_tables_in_place(
    seeds_run: Path, tmp_path: Path, capsys
) -> None:
    import json
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(seeds_run, copy)
    code, _, _ = run_cli(["drift", str(copy), "--period", "year", "--by", "none"], capsys)
    assert code == 0
    record = json.loads((copy / "run.json").read_text())
    assert record["drift"]["period"] == "year"
    prevalence = pl.read_parquet(copy / "prevalence.parquet")
    assert prevalence["source"].unique().to_list() == ["*"]
    assert prevalence["period"].n_unique() == 3
    assert not list(copy.glob(".*.tmp"))


def test_drift_command_headlines_a_planted_change(tmp_path: Path, capsys) -> None:
    import numpy as np
    from drift_corpora import planted_corpus

    from narratives.record import RunRecord
    from narratives.runs import write_run
    from narratives.schemas import TOPICS

    documents, passages, assignments = planted_corpus(
        np.random.default_rng(1), [0.1] * 6 + [0.4] * 6
    )
    topics = pl.DataFrame(
        {
            "topic_id": [0, 1, 2, 3, 4],
            "label": ["Friedensabkommen, Waffenruhe", "B", "C", "D", "E"],
            "keywords": [["Friedensabkommen"], [], [], [], []],
            "size": [1, 1, 1, 1, 1],
            "representative_passage_ids": [[], [], [], [], []],
        },
        schema=TOPICS,
    )
    tables = {
        "documents": documents,
        "passages": passages,
        "topics": topics,
        "assignments": assignments,
    }
    write_run(tmp_path, "planted", tables, RunRecord(created_at="2026-01-01"))
    code, out, _ = run_cli(["drift", "planted", "--models-dir", str(tmp_path)], capsys)
    assert code == 0
    headline = next(line for line in out.splitlines() if line.startswith("2023-07-01"))
    assert "emerging*" in headline and "Friedensabkommen, Waffenruhe" in headline
