"""Run directories under models/: written atomically, listed, loaded and validated.

A run is everything one training produced (docs/architecture.md, "Runs"): its tables, the
model, and run.json, the :class:`~narratives.record.RunRecord` written and read here. It is
written into a hidden temporary directory beside its final place and renamed into place only when
complete, so a crash or an interrupt never leaves half a run and never touches older runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from narratives.config import TrainConfig
from narratives.errors import InputError, RunError
from narratives.record import RunRecord
from narratives.schemas import REQUIRED_TABLES, TABLE_SCHEMAS

if TYPE_CHECKING:
    from narratives.catalog import Catalog
    from narratives.embed import Embedder

RUN_RECORD = "run.json"
MODEL_DIR = "model"
OWNER_FILE = ".owner"
"""In a staging directory: the PID of the training that writes it (a lock: while that process
lives, nobody sweeps the directory)."""
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STAGING = re.compile(r"^\.(tmp|old)-(.+)-[0-9a-f]{8}$")
_UNOWNED_GRACE_S = 300
"""A staging directory without an owner file is left alone this long (its training may be
between creating it and writing the file)."""


def default_models_dir() -> Path:
    """``$NARRATIVES_MODELS_DIR`` or ``./models``."""
    return Path(os.environ.get("NARRATIVES_MODELS_DIR", "models"))


def new_run_name(corpus: Path, now: datetime | None = None) -> str:
    """A readable, sortable default name: ``<corpus>-<UTC timestamp>``."""
    now = now or datetime.now(UTC)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", corpus.stem or corpus.name or "corpus").strip("-")
    return f"{stem or 'corpus'}-{now:%Y%m%d-%H%M%S}"


def check_writable_dir(path: Path, field: str) -> Path:
    """Create ``path`` if needed and prove it takes a file (a test write), before any expensive
    work; an InputError naming the folder, the option and the reason otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("not a directory (it is a file)", path=path, field=field)
    probe = path / f".write-test-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"cannot write here ({exc.strerror or exc})", path=path, field=field
        ) from None
    return path


def prepare_target(
    models_dir: Path,
    name: str | None,
    *,
    overwrite: bool,
    option: str = "--run",
    say: Callable[[str], None] | None = None,
) -> None:
    """Before any expensive work on a new run: its name is valid, ``models_dir`` takes a file,
    no run of that name is there (unless ``overwrite``), and what killed trainings left is
    swept (each note to ``say``)."""
    if name is not None:
        check_run_name(name)
    check_writable_dir(models_dir, "models_dir")
    if name and (models_dir / name).exists() and not overwrite:
        raise InputError(
            f"a run of this name exists; choose another {option} or pass --overwrite",
            path=models_dir / name,
            field="run",
        )
    for note in sweep_leftovers(models_dir):
        if say is not None:
            say(note)


def check_run_name(name: str) -> str:
    """A run name must be a plain directory name."""
    if not _NAME_PATTERN.match(name):
        raise InputError(
            f"run name {name!r} may only hold letters, digits, '.', '_' and '-'", field="run"
        )
    return name


def write_run(
    models_dir: Path,
    name: str,
    tables: dict[str, pl.DataFrame],
    record: RunRecord,
    write_model: Callable[[Path], None] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a complete run to ``models_dir/name`` atomically and return its path.

    An existing run of that name is replaced only with ``overwrite``; it stays intact until the
    new one is complete.
    """
    check_run_name(name)
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / name
    if final.exists() and not overwrite:
        raise InputError(
            "a run of this name exists; choose another --run or pass --overwrite",
            path=final,
            field="run",
        )
    staging = models_dir / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        (staging / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
        for table_name, frame in tables.items():
            frame.write_parquet(staging / f"{table_name}.parquet")
        if write_model is not None:
            write_model(staging / MODEL_DIR)
        rows = {table_name: frame.height for table_name, frame in tables.items()}
        files = [p.name for p in staging.iterdir() if p.name != OWNER_FILE]
        record = record.with_files(name, files, rows)
        _write_record(staging / RUN_RECORD, record)
        _swap_into_place(staging, final, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # The owner file goes only once the run is in place: a staging directory without one reads
    # as a training that is still starting, so a kill just before the swap left it unnamed.
    (final / OWNER_FILE).unlink(missing_ok=True)
    return final


def _swap_into_place(staging: Path, final: Path, *, overwrite: bool = False) -> None:
    """Rename the complete staging directory to ``final``, replacing a run there only with
    ``overwrite``; a run another training wrote under the same name meanwhile is kept."""
    if not final.exists() or not overwrite:
        try:
            os.rename(staging, final)
        except OSError as exc:
            if not final.exists():
                raise
            raise InputError(
                "another training wrote a run of this name meanwhile (kept as it is); choose "
                "another --run or pass --overwrite",
                path=final,
                field="run",
            ) from exc
        return
    retired = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    os.replace(final, retired)
    try:
        os.replace(staging, final)
    except BaseException:
        os.replace(retired, final)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _owner_alive(staging: Path) -> bool:
    """Whether the process that owns a staging directory still runs (or might: no owner file
    yet and younger than the grace period)."""
    owner = staging / OWNER_FILE
    try:
        pid = int(owner.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        try:
            age = datetime.now(UTC).timestamp() - staging.stat().st_mtime
        except OSError:
            return False
        return owner.exists() or age < _UNOWNED_GRACE_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != 0


def leftovers(models_dir: Path) -> list[Path]:
    """Staging directories under ``models_dir`` that no live training owns: what a killed or
    crashed training left behind."""
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.iterdir()):
        match = _STAGING.match(path.name)
        if not match or not path.is_dir():
            continue
        if match.group(1) == "tmp" and _owner_alive(path):
            continue
        found.append(path)
    return found


def sweep_leftovers(models_dir: Path) -> list[str]:
    """Remove what killed trainings left under ``models_dir``; returns a note per directory.

    A ``.tmp-<run>-*`` directory is a run that was never complete: removed. An ``.old-<run>-*``
    directory is a run that was being replaced: put back when ``<run>`` is missing (the kill
    came between the two renames), else removed.
    """
    notes = []
    for path in leftovers(models_dir):
        kind, name = _STAGING.match(path.name).groups()
        final = models_dir / name
        if kind == "old" and not final.exists():
            os.replace(path, final)
            notes.append(f"restored {final} from {path.name} (a replacement was interrupted)")
            continue
        shutil.rmtree(path, ignore_errors=True)
        what = "an unfinished training" if kind == "tmp" else "an interrupted replacement"
        notes.append(f"removed {path} (left by {what})")
    return notes


def replace_tables(
    run_path: Path, tables: dict[str, pl.DataFrame], update: Callable[[RunRecord], RunRecord]
) -> RunRecord:
    """Replace some tables of an existing run and its record with ``update(record)``.

    Every new file is written under a temporary name first and only then renamed over the old one,
    so a failure while computing or writing leaves the run as it was. Returns the new record.
    """
    record = read_record(run_path)
    staged = []
    try:
        for name, frame in tables.items():
            tmp = run_path / f".{name}.parquet.tmp"
            frame.write_parquet(tmp)
            staged.append((tmp, run_path / f"{name}.parquet"))
        files = set(record.files) | {p.name for _, p in staged}
        rows = {name: frame.height for name, frame in tables.items()}
        record = update(record).with_files(record.name or run_path.name, list(files), rows)
        tmp_record = run_path / f".{RUN_RECORD}.tmp"
        _write_record(tmp_record, record)
        staged.append((tmp_record, run_path / RUN_RECORD))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        os.replace(tmp, final)
    return record


def _write_record(path: Path, record: RunRecord) -> None:
    path.write_text(
        json.dumps(record.to_dict(), indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )


@dataclass
class Run:
    """A validated run directory: its record, its tables (read on demand) and what the pipeline
    wrote beside them (``config``, ``embedder()``, ``catalog()``; ``TopicModel.load(run)`` and
    ``NarrativeDetector.load(run)``
    for the fitted model)."""

    path: Path
    record: RunRecord
    _cache: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> TrainConfig:
        """The configuration the run was trained with."""
        return self.record.config

    def embedder(self) -> Embedder:
        """The run's embedder: the fitted one stored in the run (TF-IDF+SVD), else the named
        packaged embedder (loaded on first use, never downloaded)."""
        from narratives.embed import get_embedder, load_fitted_embedder

        stored = load_fitted_embedder(self.model_dir / "embedder.pkl")
        if stored is not None:
            return stored
        return get_embedder(
            self.record.embedder.name or self.config.embedder, seed=self.config.seed
        )

    def catalog(self) -> Catalog:
        """The narrative catalog the run was trained with (the copy stored in the run)."""
        from narratives.catalog import load_catalog

        stored = self.model_dir / "catalog.toml"
        return load_catalog(stored if stored.is_file() else self.config.catalog)

    def table(self, name: str, columns: list[str] | None = None) -> pl.DataFrame:
        """Read ``<name>.parquet`` of this run, checking its columns against the contract.

        A whole table is read once and kept; ``columns`` reads just those columns (from the kept
        table when it is already in memory, else from disk, uncached).
        """
        if name in self._cache:
            frame = self._cache[name]
            return frame if columns is None else frame.select(columns)
        if columns is not None:
            return _read_table(self.path, name, columns)
        self._cache[name] = _read_table(self.path, name)
        return self._cache[name]

    def scan(self, name: str) -> pl.LazyFrame:
        """``<name>.parquet`` as a lazy frame, for a filter that should not load the whole table
        (a few passages out of a million); its kept copy when the table is already in memory."""
        if name in self._cache:
            return self._cache[name].lazy()
        return pl.scan_parquet(_table_path(self.path, name))

    def derived(self, name: str, compute: Callable[[Run], pl.DataFrame]) -> pl.DataFrame:
        """A table computed from this run's tables (say, each document's narrative mix),
        computed on first use and kept with them."""
        key = f"derived:{name}"
        if key not in self._cache:
            self._cache[key] = compute(self)
        return self._cache[key]

    def has_table(self, name: str) -> bool:
        return (self.path / f"{name}.parquet").is_file()

    @property
    def model_dir(self) -> Path:
        return self.path / MODEL_DIR

    def summary(self) -> RunSummary:
        """What `narratives runs` and the run picker say about this run."""
        return RunSummary.of(self.path, self.record)


def _table_path(run_path: Path, name: str) -> Path:
    path = run_path / f"{name}.parquet"
    if not path.is_file():
        raise RunError(f"{path}: missing; the run is incomplete, retrain it")
    return path


def check_table(run_path: Path, name: str) -> pl.Schema:
    """Check a table's columns against the contract from its Parquet footer alone (no data read).

    This is what makes opening a run of a million passages cheap: the rows are read only when a
    table is first used.
    """
    path = _table_path(run_path, name)
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:
        raise RunError(f"{path}: not a readable Parquet file ({exc.__class__.__name__})") from exc
    _check_columns(path, pl.Schema(schema), TABLE_SCHEMAS.get(name))
    return pl.Schema(schema)


def _check_columns(path: Path, actual: pl.Schema, expected: pl.Schema | None) -> None:
    for column, dtype in (expected or {}).items():
        if column not in actual:
            raise RunError(f"{path}, field '{column}': column missing")
        if actual[column] != dtype:
            raise RunError(f"{path}, field '{column}': type {actual[column]}, expected {dtype}")


def _read_table(run_path: Path, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    path = _table_path(run_path, name)
    try:
        frame = pl.read_parquet(path, columns=columns)
    except Exception as exc:
        raise RunError(f"{path}: not a readable Parquet file ({exc.__class__.__name__})") from exc
    expected = TABLE_SCHEMAS.get(name)
    if expected is not None and columns is not None:
        expected = pl.Schema({c: t for c, t in expected.items() if c in columns})
    _check_columns(path, frame.schema, expected)
    return frame


def table_rows_on_disk(path: Path) -> int:
    """The row count of a Parquet file from its footer alone; RunError when it is unreadable."""
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows
    except Exception as exc:
        raise RunError(f"{path}: not a readable Parquet file ({exc.__class__.__name__})") from exc


def run_problems(run_path: Path, *, full: bool = False) -> list[str]:
    """What is wrong with a run directory, one line each (empty: the run is sound).

    Checks run.json, that every required table is there, every table's footer, columns and row
    count against what run.json recorded; ``full`` also reads every table's data.
    """
    try:
        record = read_record(run_path)
    except RunError as exc:
        return [str(exc)]
    problems = []
    names = {*REQUIRED_TABLES, *(t for t in TABLE_SCHEMAS if (run_path / f"{t}.parquet").exists())}
    names |= {f[: -len(".parquet")] for f in record.files if f.endswith(".parquet")}
    for name in sorted(names):
        path = run_path / f"{name}.parquet"
        try:
            check_table(run_path, name)
            rows = table_rows_on_disk(path)
            expected = record.table_rows.get(name)
            if expected is not None and rows != expected:
                raise RunError(f"{path}: {rows} rows, run.json recorded {expected}")
            if full:
                read = pl.read_parquet(path)
                if read.height != rows:
                    raise RunError(f"{path}: {read.height} rows read, the footer says {rows}")
        except RunError as exc:
            problems.append(str(exc))
        except Exception as exc:
            problems.append(f"{path}: not a readable Parquet file ({exc.__class__.__name__})")
    return problems


def read_record(run_path: Path) -> RunRecord:
    """The run.json of ``run_path``; missing or corrupt is a RunError naming the file and field."""
    path = run_path / RUN_RECORD
    if not path.is_file():
        raise RunError(f"{path}: missing; not a complete run directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: corrupt ({exc})") from exc
    return RunRecord.from_dict(data, path)


def resolve_run(name_or_path: str | Path | None, models_dir: Path | None = None) -> Path:
    """A run's directory from a name under models/, a path, or None for the newest run; a bare
    name is looked up under models/ first (``seeds`` is the run, not the corpus folder)."""
    models_dir = models_dir or default_models_dir()
    if name_or_path is None:
        runs = list_runs(models_dir)
        if not runs:
            raise RunError(f"{models_dir}: no runs yet; train one with `narratives train seeds/`")
        return runs[0].path
    candidate = Path(name_or_path)
    under = models_dir / str(name_or_path)
    if under.is_dir() and len(candidate.parts) == 1:
        return under
    if candidate.is_dir():
        return candidate
    known = ", ".join(r.name for r in list_runs(models_dir)[:10]) or "none"
    raise RunError(f"{under}: no such run (runs in {models_dir}: {known})")


def load_run(name_or_path: str | Path | None = None, models_dir: Path | None = None) -> Run:
    """Load and validate a run; a corrupt or partial run raises RunError naming file and field."""
    path = resolve_run(name_or_path, models_dir)
    run = Run(path=path, record=read_record(path))
    for table in REQUIRED_TABLES:
        check_table(path, table)
    for table in TABLE_SCHEMAS:
        if table not in REQUIRED_TABLES and run.has_table(table):
            check_table(path, table)
    return run


@dataclass(frozen=True)
class RunSummary:
    """What `narratives runs` lists about a run."""

    name: str
    path: Path
    created_at: str
    corpus: str
    embedder: str
    n_documents: int
    n_passages: int
    n_topics: int
    n_narratives: int
    parent: str | None = None

    @classmethod
    def of(cls, path: Path, record: RunRecord) -> RunSummary:
        return cls(
            name=path.name,
            path=path,
            created_at=record.created_at,
            corpus=record.corpus.path,
            embedder=record.embedder.name,
            n_documents=record.metrics.n_documents,
            n_passages=record.metrics.n_passages,
            n_topics=record.metrics.n_topics,
            n_narratives=record.metrics.n_catalog_narratives_found,
            parent=record.parent,
        )


def scan_runs(models_dir: Path | None = None) -> tuple[list[RunSummary], list[Path]]:
    """One pass over ``models_dir``: its complete runs, newest first, and the visible directories
    that are not complete, sound runs (sorted by path)."""
    models_dir = models_dir or default_models_dir()
    if not models_dir.is_dir():
        return [], []
    summaries, broken = [], []
    for path in models_dir.iterdir():
        if path.name.startswith(".") or not path.is_dir():
            continue
        if run_problems(path):
            broken.append(path)
        else:
            summaries.append(RunSummary.of(path, read_record(path)))
    summaries.sort(key=lambda s: (s.created_at, s.name), reverse=True)
    return summaries, sorted(broken)


def list_runs(models_dir: Path | None = None) -> list[RunSummary]:
    """Complete runs under ``models_dir``, newest first; partial or hidden ones are skipped."""
    return scan_runs(models_dir)[0]


def broken_runs(models_dir: Path | None = None) -> list[Path]:
    """Visible directories under ``models_dir`` that are not complete, sound runs."""
    return scan_runs(models_dir)[1]
