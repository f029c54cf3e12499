"""The bad-input catalogue: hostile but fair things a user does, each with the exit code and the
message it must get (README, "What happens with bad input"). No case may print a traceback, and
none may cost a training: every check runs before the expensive work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SEEDS, run_cli

GOOD_CSV = "doc_id,date,text\n1,2022-01-01,Munition wird knapp\n2,2022-02-01,Mehr Granaten\n"


def _write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def _all(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for step in steps:
            step(root)

    return setup


def _parquet(name: str, frame: pl.DataFrame) -> Callable[[Path], None]:
    return lambda root: frame.write_parquet(root / name)


def _outside_link(root: Path) -> None:
    (root / "corpus").mkdir()
    (root / "secret.txt").write_text("geheim", encoding="utf-8")
    (root / "corpus" / "a.txt").symlink_to(root / "secret.txt")


def _two_manifests(root: Path) -> None:
    _write("corpus/a.txt", "Text")(root)
    _write("corpus/manifest.csv", "file\na.txt\n")(root)
    _write("corpus/manifest.jsonl", '{"file": "a.txt"}\n')(root)


GOOD = _write("good.csv", GOOD_CSV)
TRAIN = ["train", "good.csv", "-q"]

# (id, setup, argv, exit code, message fragment)
CASES: list[tuple[str, Callable[[Path], None] | None, list[str], int, str]] = [
    # corpus files
    ("missing-corpus", None, ["train", "nope.csv"], 2, "does not exist"),
    ("unsupported-type", _write("c.xlsx", "x"), ["train", "c.xlsx"], 2, "unsupported file type"),
    ("empty-file", _write("c.csv", ""), ["train", "c.csv"], 2, "no documents"),
    ("header-only", _write("c.csv", "doc_id,text\n"), ["train", "c.csv"], 2, "no documents"),
    (
        "no-text-column",
        _write("c.csv", "id,body\n1,x\n"),
        ["train", "c.csv"],
        2,
        "c.csv, field 'text': no column 'text' (columns: id, body); pass --column text=NAME",
    ),
    (
        "german-excel-semicolons",
        _write("c.csv", "id;body\n1;Munition\n"),
        ["train", "c.csv"],
        2,
        "no column 'text' (columns: id, body)",
    ),
    (
        "ragged-row",
        _write("c.csv", "doc_id,text\n1,a\n2,b,c,d\n"),
        ["train", "c.csv"],
        2,
        "cannot read CSV",
    ),
    (
        "bad-date",
        _write("c.csv", "doc_id,date,text\n1,2022-01-01,a\n2,gestern,b\n"),
        ["train", "c.csv"],
        2,
        "c.csv, row 2, field 'date': cannot parse date 'gestern'",
    ),
    (
        "impossible-date",
        _write("c.csv", "doc_id,date,text\n1,2022-02-30,a\n"),
        ["train", "c.csv"],
        2,
        "row 1, field 'date': cannot parse date '2022-02-30'",
    ),
    (
        "latin-1-bytes",
        _write("c.csv", b"doc_id,text\n1,M\xfcnchen\n"),
        ["train", "c.csv"],
        2,
        "c.csv, row 1: not valid UTF-8",
    ),
    (
        "duplicate-id-other-text",
        _write("c.csv", "doc_id,text\n1,a\n1,b\n"),
        ["train", "c.csv"],
        2,
        "row 2, field 'doc_id': duplicate doc_id '1' (first at row 1) with a different text",
    ),
    (
        "empty-doc-id",
        _write("c.csv", "doc_id,text\n,a\n"),
        ["train", "c.csv"],
        2,
        "row 1, field 'doc_id': empty doc_id",
    ),
    (
        "no-text-anywhere",
        _write("c.csv", "doc_id,text\n1,\n2,  \n"),
        ["train", "c.csv"],
        2,
        "no documents with text",
    ),
    (
        "invalid-json-line",
        _write("c.jsonl", '{"text": "a"}\n{"text": \n'),
        ["train", "c.jsonl"],
        2,
        "c.jsonl, row 2: invalid JSON",
    ),
    (
        "json-array-line",
        _write("c.jsonl", '["a"]\n'),
        ["train", "c.jsonl"],
        2,
        "row 1: expected a JSON object, got list",
    ),
    (
        "json-text-number",
        _write("c.jsonl", '{"text": "a"}\n{"text": 5}\n'),
        ["train", "c.jsonl"],
        2,
        "row 2, field 'text': the text is a JSON number, not a string",
    ),
    (
        "json-text-object",
        _write("c.jsonl", '{"text": {"de": "a"}}\n'),
        ["train", "c.jsonl"],
        2,
        "row 1, field 'text': the text is a JSON object, not a string",
    ),
    (
        "parquet-text-numbers",
        _parquet("c.parquet", pl.DataFrame({"text": [1, 2]})),
        ["train", "c.parquet"],
        2,
        "field 'text': the text column holds Int64 values, not strings",
    ),
    (
        "parquet-garbage",
        _write("c.parquet", b"PAR1 not really"),
        ["train", "c.parquet"],
        2,
        "cannot read Parquet",
    ),
    (
        "folder-without-txt",
        _write("corpus/readme.md", "x"),
        ["train", "corpus"],
        2,
        "no .txt files",
    ),
    (
        "manifest-escapes-folder",
        _all(
            _write("secret.txt", "geheim"), _write("corpus/manifest.csv", "file\n../secret.txt\n")
        ),
        ["train", "corpus"],
        2,
        "row 1, field 'file': file '../secret.txt' is outside the corpus folder",
    ),
    (
        "manifest-missing-file",
        _write("corpus/manifest.csv", "file\nnope.txt\n"),
        ["train", "corpus"],
        2,
        "manifest.csv, row 1, field 'file': file 'nope.txt' not found",
    ),
    (
        "manifest-without-file-column",
        _all(_write("corpus/a.txt", "x"), _write("corpus/manifest.csv", "name\na.txt\n")),
        ["train", "corpus"],
        2,
        "no column 'file'",
    ),
    ("two-manifests", _two_manifests, ["train", "corpus"], 2, "several manifests"),
    ("link-outside-folder", _outside_link, ["train", "corpus"], 2, "outside the corpus folder"),
    (
        "txt-bad-bytes",
        _write("corpus/a.txt", b"ung\xfcltig"),
        ["train", "corpus"],
        2,
        "corpus/a.txt: not valid UTF-8 at byte 3",
    ),
    (
        "column-option-form",
        GOOD,
        [*TRAIN, "--column", "text"],
        2,
        "--column expects FIELD=NAME, got 'text'",
    ),
    (
        "column-option-field",
        GOOD,
        [*TRAIN, "--column", "body=text"],
        2,
        "unknown column key 'body'",
    ),
    # configuration
    ("config-missing", GOOD, [*TRAIN, "--config", "nope.toml"], 2, "config file not found"),
    (
        "config-not-toml",
        _all(GOOD, _write("c.toml", "seed = = 1\n")),
        [*TRAIN, "--config", "c.toml"],
        2,
        "c.toml: not valid TOML",
    ),
    (
        "config-unknown-key",
        _all(GOOD, _write("c.toml", "sed = 1\n")),
        [*TRAIN, "--config", "c.toml"],
        2,
        "c.toml, field 'sed': unknown setting",
    ),
    (
        "config-seed-negative",
        _all(GOOD, _write("c.toml", "seed = -1\n")),
        [*TRAIN, "--config", "c.toml"],
        2,
        "field 'seed': seed must be an integer in [0, 4294967295], got -1",
    ),
    (
        "config-seed-float",
        _all(GOOD, _write("c.toml", "seed = 1.5\n")),
        [*TRAIN, "--config", "c.toml"],
        2,
        "field 'seed': seed must be an integer",
    ),
    (
        "config-seed-text",
        _all(GOOD, _write("c.toml", 'seed = "abc"\n')),
        [*TRAIN, "--config", "c.toml"],
        2,
        "field 'seed': seed must be an integer",
    ),
    (
        "config-number-as-text",
        _all(GOOD, _write("c.toml", '[model]\nmin_topic_size = "5"\n')),
        [*TRAIN, "--config", "c.toml"],
        2,
        "field 'model.min_topic_size': min_topic_size must be an integer >= 2, got '5' (str)",
    ),
    ("seed-option-negative", GOOD, [*TRAIN, "--seed", "-1"], 2, "field 'seed'"),
    ("unknown-embedder", GOOD, [*TRAIN, "--embedder", "nope"], 2, "unknown embedder 'nope'"),
    # catalogs
    ("catalog-missing", GOOD, [*TRAIN, "--catalog", "nope.toml"], 2, "not found"),
    (
        "catalog-field-missing",
        _all(GOOD, _write("cat.toml", '[[narrative]]\nid = "x"\n')),
        [*TRAIN, "--catalog", "cat.toml"],
        2,
        "cat.toml, row 1, field 'label_de': missing",
    ),
    (
        "catalog-bad-query",
        _all(
            GOOD,
            _write(
                "cat.toml",
                '[[narrative]]\nid = "x"\nlabel_de = "X"\nlabel_en = "X"\ndescription = "d"\n'
                'examples = ["a b c"]\nquery = "(munition AND"\n',
            ),
        ),
        [*TRAIN, "--catalog", "cat.toml"],
        2,
        "cat.toml, row 1, field 'query'",
    ),
    # folders, names and ports
    (
        "models-dir-is-a-file",
        _all(GOOD, _write("afile", "")),
        [*TRAIN, "--models-dir", "afile"],
        2,
        "is a file",
    ),
    (
        "models-dir-under-a-file",
        _all(GOOD, _write("afile", "")),
        [*TRAIN, "--models-dir", "afile/sub"],
        2,
        "afile/sub, field 'models_dir': cannot write here",
    ),
    ("run-name-path", GOOD, [*TRAIN, "--run", "../x"], 2, "run name '../x' may only hold"),
    ("dashboard-port-high", None, ["dashboard", "--port", "70000"], 2, "not in the range"),
    ("dashboard-port-negative", None, ["dashboard", "--port", "-5"], 2, "not in the range"),
    ("no-runs-yet", None, ["topics"], 3, "no runs yet"),
]


@pytest.mark.parametrize(
    ("setup", "argv", "code", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_gets_its_exit_code_and_message(
    setup, argv: list[str], code: int, message: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NARRATIVES_MODELS_DIR", str(tmp_path / "models"))
    if setup is not None:
        setup(tmp_path)
    started = time.perf_counter()
    got, out, err = run_cli(argv, capsys)
    assert (got, message in err) == (code, True), err
    assert "Traceback" not in out + err
    assert time.perf_counter() - started < 30, "rejected before any expensive work"
    runs = tmp_path / "models"
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]


def test_the_catalogue_holds_at_least_forty_cases() -> None:
    assert len(CASES) + len(RUN_CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.fixture
def models(seeds_run: Path, tmp_path: Path, monkeypatch) -> Path:
    """A models folder holding a copy of the seeds run, as the working folder's ./models."""
    models = tmp_path / "models"
    shutil.copytree(seeds_run, models / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NARRATIVES_MODELS_DIR", str(models))
    (tmp_path / "afile").write_text("", encoding="utf-8")
    return models


def _truncate(models: Path) -> None:
    path = models / "seeds" / "topics.parquet"
    path.write_bytes(path.read_bytes()[:100])


def _drop_rows(models: Path) -> None:
    path = models / "seeds" / "topics.parquet"
    pl.read_parquet(path).head(1).write_parquet(path)


def _corrupt_record(models: Path) -> None:
    (models / "seeds" / "run.json").write_text("{", encoding="utf-8")


# (id, damage, argv, exit code, message fragment): commands on an existing run
RUN_CASES: list[tuple[str, Callable[[Path], None] | None, list[str], int, str]] = [
    ("export-under-a-file", None, ["export", "seeds", "--out", "afile/sub"], 2, "cannot write"),
    ("drift-out-under-a-file", None, ["drift", "seeds", "--out", "afile/x"], 2, "cannot write"),
    ("export-unknown-run", None, ["export", "nope", "--out", "x"], 3, "no such run"),
    ("run-exists", None, ["train", str(SEEDS), "--run", "seeds", "-q"], 2, "a run of this name"),
    ("topics-corrupt-record", _corrupt_record, ["topics", "seeds"], 3, "run.json: corrupt"),
    ("topics-truncated-table", _truncate, ["topics", "seeds"], 3, "not a readable Parquet"),
    (
        "runs-check-rows",
        _drop_rows,
        ["runs", "--check"],
        3,
        "topics.parquet: 1 rows, run.json recorded",
    ),
    ("runs-check-truncated", _truncate, ["runs", "--check"], 3, "damaged or incomplete"),
    (
        "label-unknown-passage",
        None,
        ["label", "seeds", "nope", "ammunition-shortage", "--yes"],
        2,
        "no passage 'nope'",
    ),
    ("evaluate-labels-missing", None, ["evaluate", "seeds", "--labels", "x.csv"], 2, "not found"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "argv", "code", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in RUN_CASES],
)
def test_commands_on_a_run_get_their_exit_code_and_message(
    damage, argv: list[str], code: int, message: str, models: Path, capsys
) -> None:
    if damage is not None:
        damage(models)
    got, out, err = run_cli(argv, capsys)
    assert (got, message in err) == (code, True), err
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_runs_names_a_damaged_run_and_stops_listing_it(models: Path, capsys) -> None:
    _truncate(models)
    code, out, err = run_cli(["runs"], capsys)
    assert code == 0 and out.startswith("no runs in")
    assert "damaged or incomplete:" in err and "topics.parquet" in err


def _leftover(models: Path, kind: str, name: str, pid: int) -> Path:
    staging = models / f".{kind}-{name}-0123abcd"
    staging.mkdir(parents=True)
    (staging / "documents.parquet").write_bytes(b"partial")
    if kind == "tmp":
        (staging / ".owner").write_text(str(pid), encoding="utf-8")
    return staging


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.slow
def test_what_a_killed_training_left_is_named_and_swept_by_the_next(models: Path, capsys) -> None:
    dead = _leftover(models, "tmp", "killed", _dead_pid())
    alive = _leftover(models, "tmp", "running", os.getpid())
    retired = models / ".old-seeds-0123abcd"
    (models / "seeds").rename(retired)
    code, _, err = run_cli(["runs"], capsys)
    assert code == 0 and f"unfinished: {dead}" in err and f"unfinished: {retired}" in err
    assert str(alive) not in err, "a live training's folder is not a leftover"

    from narratives.runs import load_run, sweep_leftovers

    notes = sweep_leftovers(models)
    assert not dead.exists() and alive.exists() and not retired.exists()
    assert any("restored" in note for note in notes), "the run being replaced is put back"
    assert load_run(models / "seeds").table("topics").height > 0


@pytest.mark.slow
def test_a_sigkill_leaves_nothing_unnamed_and_the_next_training_cleans_up(
    models: Path, tmp_path: Path
) -> None:
    """Killed at whatever stage it reached: every folder left is a listed run or is named."""
    env = {**os.environ, "NARRATIVES_MODELS_DIR": str(models)}
    command = [sys.executable, "-m", "narratives.cli", "train", str(SEEDS), "--run", "k", "-q"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.name.startswith(".tmp-k-") for p in models.iterdir()):
            break
        time.sleep(0.01)
    process.kill()
    process.wait()
    listing = subprocess.run(
        [sys.executable, "-m", "narratives.cli", "runs"], env=env, capture_output=True, text=True
    )
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    named = listing.stdout + listing.stderr
    for path in models.iterdir():
        if path.name.startswith(".write-test"):
            continue
        assert path.name in named, f"{path} is neither listed nor named"
    from narratives.pipeline import train as train_run
    from narratives.runs import leftovers

    notes: list[str] = []
    train_run(SEEDS, run_name="after", models_dir=models, progress=False, log=notes.append)
    assert leftovers(models) == []


@pytest.mark.slow
def test_concurrent_trainings_into_one_name_leave_one_sound_run(
    models: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "NARRATIVES_MODELS_DIR": str(models)}
    command = [sys.executable, "-m", "narratives.cli", "train", str(SEEDS), "--run", "twin", "-q"]
    processes = [
        subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "a run of this name" in loser and "Traceback" not in loser
    from narratives.runs import leftovers, run_problems

    assert run_problems(models / "twin") == [] and leftovers(models) == []


def test_an_unexpected_error_is_one_line_and_a_saved_traceback(
    monkeypatch, tmp_path: Path, capsys
) -> None:
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("narratives.config.load_config", broken)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "good.csv").write_text(GOOD_CSV, encoding="utf-8")
    code, _, err = run_cli(["train", str(tmp_path / "good.csv")], capsys)
    assert code == 70 and "Traceback" not in err
    assert "internal error (a bug in narratives" in err and "ZeroDivisionError" in err
    saved = Path(err.rsplit("the traceback is in ", 1)[1].strip())
    assert saved.parent == tmp_path and "Traceback" in saved.read_text(encoding="utf-8")


def test_a_refusing_file_system_is_one_line_with_exit_4(monkeypatch, capsys) -> None:
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", "/data/models/x.parquet")

    monkeypatch.setattr("narratives.config.load_config", full)
    code, _, err = run_cli(["train", str(SEEDS)], capsys)
    assert code == 4 and err.strip() == "error: /data/models/x.parquet: No space left on device"


def test_exit_codes_are_documented_in_the_readme() -> None:
    from narratives.cli import EXIT_CODES

    readme = (SEEDS.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What happens with bad input", 1)[1].split("\n## ", 1)[0]
    for code in EXIT_CODES:
        assert f"| {code} |" in section, f"exit code {code} is not in the README"
    for case in CASES + RUN_CASES:
        assert f"`{case[0]}`" in section, f"case {case[0]} is not listed in the README"


def test_write_run_keeps_a_run_written_meanwhile(tmp_path: Path) -> None:
    """The race of two trainings: the second to finish never replaces the first's run."""
    from narratives.errors import InputError
    from narratives.runs import _swap_into_place

    staging, final = tmp_path / ".tmp-x-0123abcd", tmp_path / "x"
    for folder, content in ((staging, "second"), (final, "first")):
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"who": content}), encoding="utf-8")
    with pytest.raises(InputError, match="another training wrote a run of this name"):
        _swap_into_place(staging, final)
    assert json.loads((final / "run.json").read_text())["who"] == "first"
