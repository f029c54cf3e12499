"""Reading the files a corpus or a labels file comes in: bytes without a BOM, UTF-8 with the line
and row of a bad byte, CSV as strings, Parquet, JSON Lines, and directories of .txt files with a
manifest. One reader per format, shared by ``narratives.corpus`` and ``narratives.labels``, so a
corpus file serves as its own labels file and both name the same rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import polars as pl

from narratives.errors import InputError
from narratives.schemas import DOCUMENTS

FIELDS: tuple[str, ...] = tuple(DOCUMENTS.names())
MANIFEST_NAMES: tuple[str, ...] = ("manifest.csv", "manifest.jsonl", "manifest.json")
ROW = "_row"
"""Column of the 1-based data row (the line of a JSONL file) a record came from."""
PATH = "_path"
"""Column of the file a record came from."""

_BOM = b"\xef\xbb\xbf"


def generated_ids(path: Path, row: pl.Expr | None = None) -> pl.Expr:
    """The ids of a file without an id column: ``<file stem>-<row>``."""
    row = pl.col(ROW) if row is None else row
    return pl.concat_str(pl.lit(f"{path.stem}-"), row.cast(pl.String))


def read_bytes(path: Path) -> bytes:
    """The file's bytes without a leading UTF-8 BOM."""
    data = path.read_bytes()
    return data[len(_BOM) :] if data.startswith(_BOM) else data


def decode(data: bytes, path: Path, *, offset: int = 0, csv_rows: bool = False) -> str:
    """Decode UTF-8 or raise an InputError giving the byte offset, line and (for CSV) data row.

    ``offset`` is the number of bytes removed before ``data`` (a BOM), so offsets match the file.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            f"not valid UTF-8 at byte {exc.start + offset} (line {line}); re-save the file as UTF-8"
        )
        if csv_rows:
            row = _csv_row_at(data, exc.start)
        else:
            row = line if path.suffix.lower() in (".jsonl", ".ndjson") else None
        raise InputError(message, path=path, row=row or None) from None


def _csv_row_at(data: bytes, offset: int) -> int:
    """1-based data row of a CSV (header excluded) that holds byte ``offset``; 0 for the header."""
    prefix = data[:offset].decode("utf-8")
    records = sum(1 for _ in csv.reader(io.StringIO(prefix)))
    if not prefix or prefix.endswith("\n"):
        records += 1
    return records - 1


def read_csv_strings(path: Path) -> pl.DataFrame:
    """All columns as strings; empty cells are null."""
    data = read_bytes(path)
    decode(data, path, offset=path.stat().st_size - len(data), csv_rows=True)
    if not data.strip():
        raise InputError("no documents (the file is empty)", path=path)
    separator = csv_separator(data)
    try:
        return pl.read_csv(io.BytesIO(data), infer_schema=False, separator=separator)
    except pl.exceptions.PolarsError as exc:
        row = _csv_ragged_row(data.decode("utf-8"), separator)
        named = "" if separator == "," else f" (read with delimiter {separator!r})"
        raise InputError(f"cannot read CSV{named}: {first_line(exc)}", path=path, row=row) from None


SEPARATORS = (",", ";", "\t", "|")


def csv_separator(data: bytes) -> str:
    """The delimiter of a CSV from its header line: the candidate it holds most often outside
    quotes (``;`` for a German Excel export, a tab for TSV), a comma by default."""
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _csv_ragged_row(text: str, separator: str = ",") -> int | None:
    """1-based data row of the first CSV record with more fields than the header, if any."""
    try:
        records = csv.reader(io.StringIO(text), delimiter=separator)
        width = len(next(records, []))
        return next((i for i, rec in enumerate(records, start=1) if len(rec) > width), None)
    except csv.Error:
        return None


def read_parquet_file(path: Path) -> pl.DataFrame:
    """The parquet table as stored (types are cast later)."""
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read Parquet: {first_line(exc)}", path=path) from None


def first_line(exc: Exception) -> str:
    """First line of an exception message, to keep errors on one line."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_jsonl_records(path: Path) -> tuple[list[int], list[dict]]:
    """(line numbers, JSON objects) of a JSON Lines file; blank lines are skipped."""
    data = read_bytes(path)
    text = decode(data, path, offset=path.stat().st_size - len(data))
    rows: list[int] = []
    records: list[dict] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON ({exc.msg} at column {exc.colno})", path=path, row=lineno
            ) from None
        if not isinstance(obj, dict):
            raise InputError(
                f"expected a JSON object, got {type(obj).__name__}", path=path, row=lineno
            )
        rows.append(lineno)
        records.append(obj)
    return rows, records


def json_text(value: object) -> str | None:
    """A JSON value as a string: strings as is, null as None, anything else as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_directory(root: Path) -> pl.DataFrame:
    """One row per .txt file (sorted by relative path) joined with its manifest rows."""
    manifest_path, manifest = _read_manifest(root)
    listed = {rel for rel, _, _ in manifest}
    files = [rel for rel in _txt_files(root) if rel not in listed]
    if not files and not manifest:
        raise InputError("no documents (no .txt files in the directory)", path=root)
    entries = sorted([(rel, None, {}) for rel in files] + manifest, key=lambda e: (e[0], e[1] or 0))
    texts = {rel: _read_txt(root / rel) for rel in {rel for rel, _, _ in entries}}
    columns: dict[str, list] = {name: [] for name in (*FIELDS, ROW, PATH)}
    for rel, row, record in entries:
        values = {name: json_text(record.get(name)) for name in FIELDS}
        values["doc_id"] = values["doc_id"] if (values["doc_id"] or "").strip() else Path(rel).stem
        values["text"] = texts[rel]
        values[ROW] = row
        values[PATH] = str(manifest_path if row is not None else root / rel)
        for name, value in values.items():
            columns[name].append(value)
    schema = {name: pl.String for name in columns} | {ROW: pl.Int64}
    return pl.DataFrame(columns, schema=schema)


def _inside(root: Path, file: Path) -> bool:
    """Whether ``file``, its links resolved, lies inside the folder ``root``."""
    return file.resolve().is_relative_to(root.resolve())


def _txt_files(root: Path) -> list[str]:
    """Relative POSIX paths of the .txt files under ``root``, sorted; hidden ones are skipped,
    and a link to a file outside the folder is an InputError."""
    found = []
    for file in root.rglob("*"):
        rel = file.relative_to(root)
        if file.suffix.lower() != ".txt" or not file.is_file():
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        if not _inside(root, file):
            raise InputError(
                f"links to {file.resolve()}, outside the corpus folder; copy the file in instead",
                path=file,
            )
        found.append(rel.as_posix())
    return sorted(found)


def _read_txt(file: Path) -> str:
    """A text file decoded as UTF-8, without its BOM."""
    data = read_bytes(file)
    return decode(data, file, offset=file.stat().st_size - len(data))


def _read_manifest(root: Path) -> tuple[Path | None, list[tuple[str, int, dict]]]:
    """(manifest path, [(relative file, manifest row, record)]); no manifest -> (None, [])."""
    found = [root / name for name in MANIFEST_NAMES if (root / name).is_file()]
    if not found:
        return None, []
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(f"several manifests ({names}); keep one", path=root)
    path = found[0]
    rows, records = _manifest_records(path)
    entries = []
    for row, record in zip(rows, records, strict=True):
        value = json_text(record.get("file"))
        if value is None or not value.strip():
            raise InputError("no file name", path=path, row=row, field="file")
        rel = Path(value.strip()).as_posix()
        if not _inside(root, root / rel):
            raise InputError(
                f"file '{rel}' is outside the corpus folder {root}; a manifest may only name "
                "files inside it",
                path=path,
                row=row,
                field="file",
            )
        if not (root / rel).is_file():
            raise InputError(f"file '{rel}' not found in {root}", path=path, row=row, field="file")
        entries.append((rel, row, record))
    return path, entries


def _manifest_records(path: Path) -> tuple[list[int], list[dict]]:
    """(rows, records) of a manifest.csv, manifest.jsonl or manifest.json (a list of objects)."""
    if path.stat().st_size == 0:
        return [], []
    if path.suffix == ".jsonl":
        return read_jsonl_records(path)
    if path.suffix == ".csv":
        table = read_csv_strings(path)
        if "file" not in table.columns:
            raise InputError(
                f"no column 'file' (columns: {', '.join(table.columns)})", path=path, field="file"
            )
        return list(range(1, table.height + 1)), table.to_dicts()
    data = read_bytes(path)
    try:
        records = json.loads(decode(data, path))
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg} at line {exc.lineno})", path=path) from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError("expected a JSON list of objects", path=path)
    return list(range(1, len(records) + 1)), records
