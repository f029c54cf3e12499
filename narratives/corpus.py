"""Load and validate a news corpus into the Documents table (see schemas.DOCUMENTS).

Formats, chosen by the path: a directory of ``.txt`` files with an optional manifest, a ``.csv``,
a ``.jsonl``/``.ndjson`` or a ``.parquet`` file. Every problem a user can fix is an InputError
naming the file, the 1-based data row and the field; rows that are merely unusable (empty text,
duplicates) are dropped and counted in the LoadReport, never silently.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from narratives.corpus_files import (
    FIELDS,
    PATH,
    ROW,
    generated_ids,
    json_text,
    read_csv_strings,
    read_directory,
    read_jsonl_records,
    read_parquet_file,
)
from narratives.errors import InputError
from narratives.schemas import DOCUMENTS, REPEATS, UNKNOWN_SOURCE, conform

DROP_REASONS: tuple[str, ...] = ("empty_text", "duplicate_row", "duplicate_text")
SUPPORTED = "a directory of .txt files, .csv, .jsonl, .ndjson or .parquet"
DATE_FORMATS = "expected YYYY-MM-DD, YYYY-MM, DD.MM.YYYY or an ISO datetime"

_MARKER_DATE = "_marker_date"
_NORM = "_norm"
_TIME = r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO_DAY = rf"^(\d{{4}}-\d{{2}}-\d{{2}}){_TIME}$"
_ISO_MONTH = r"^(\d{4}-\d{2})$"
_GERMAN = r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"
_MARKER = r"(?i)^\s*date:?\s+(\d{4}-\d{2}(?:-\d{2})?)(?:\s+|$)"


@dataclass(frozen=True)
class ColumnMap:
    """Names of the input columns (or JSON fields) that hold each Documents field."""

    doc_id: str = "doc_id"
    date: str = "date"
    source: str = "source"
    title: str = "title"
    text: str = "text"
    url: str = "url"
    lang: str = "lang"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str] | None) -> ColumnMap:
        """Build from ``{field: input column}``; unknown fields are an InputError naming the key."""
        if not mapping:
            return cls()
        known = [f.name for f in dataclasses.fields(cls)]
        for key, value in mapping.items():
            if key not in known:
                raise InputError(f"unknown column key '{key}' (known: {', '.join(known)})")
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"column key '{key}' needs a non-empty column name")
        return cls(**dict(mapping))

    def items(self) -> list[tuple[str, str]]:
        """(Documents field, input column) pairs in Documents order."""
        return [(name, getattr(self, name)) for name in FIELDS]


@dataclass
class LoadReport:
    """What load_corpus read, kept and dropped, so nothing disappears silently."""

    path: Path
    n_read: int
    n_kept: int
    dropped: dict[str, int] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(DROP_REASONS, 0)
    )
    n_missing_date: int = 0
    date_markers_stripped: int = 0
    repeats: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    """Each doc_id dropped as ``duplicate_text`` -> the doc_id of the document kept with the
    same text in the same outlet; a run stores it as its ``repeats`` table, so that a labelled
    repeat is scored by the document it repeats."""

    def repeats_table(self) -> pl.DataFrame:
        """``repeats`` as the run's ``repeats`` table (schemas.REPEATS)."""
        return pl.DataFrame(
            {"doc_id": list(self.repeats), "kept_doc_id": list(self.repeats.values())},
            schema=REPEATS,
        )

    def summary(self) -> str:
        """One human line, e.g. "read 5, kept 5; dropped: none; 0 without date"."""
        drops = ", ".join(f"{n} {reason}" for reason, n in self.dropped.items() if n)
        line = (
            f"read {self.n_read}, kept {self.n_kept}; dropped: {drops or 'none'}; "
            f"{self.n_missing_date} without date"
        )
        if self.date_markers_stripped:
            line += f"; {self.date_markers_stripped} date markers stripped"
        return line


def load_corpus(
    path: str | Path, columns: ColumnMap | Mapping[str, str] | None = None
) -> tuple[pl.DataFrame, LoadReport]:
    """Read a corpus file or directory into a DOCUMENTS frame (input order) and a LoadReport.

    ``columns`` renames the input columns of tabular files; a directory's manifest always uses
    the default names.
    """
    path = Path(path)
    cmap = columns if isinstance(columns, ColumnMap) else ColumnMap.from_mapping(columns)
    if not path.exists():
        raise InputError(f"not found (expected {SUPPORTED})", path=path)
    if path.is_dir():
        raw, cmap = read_directory(path), ColumnMap()
    else:
        raw = _read_file(path, cmap)
    return _finish(raw, cmap, path)


def load_frame(
    frame: object, columns: ColumnMap | Mapping[str, str] | None = None, *, name: str = "DataFrame"
) -> tuple[pl.DataFrame, LoadReport]:
    """Validate an in-memory corpus (a polars or pandas DataFrame) as load_corpus validates a file.

    The same rules and messages apply; ``name`` stands in for the file name, so an error reads
    "DataFrame, row 3, field 'date': ..." with rows counted from 1 in frame order, and generated
    ids are ``<name>-<row>``.
    """
    cmap = columns if isinstance(columns, ColumnMap) else ColumnMap.from_mapping(columns)
    label = Path(name)
    table = _as_polars(frame, label)
    selected = _select_columns(table, cmap, label, hint="pass columns={'text': NAME}")
    return _finish(selected, cmap, label)


def _as_polars(frame: object, label: Path) -> pl.DataFrame:
    """A polars DataFrame from a polars or pandas one (a LazyFrame is collected; a pandas index
    with a name, such as ``doc_id``, becomes a column)."""
    if isinstance(frame, pl.LazyFrame):
        try:
            frame = frame.collect()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(f"cannot collect the LazyFrame: {exc}", path=label) from None
    if isinstance(frame, pl.DataFrame):
        return frame
    if type(frame).__module__.startswith("pandas") and type(frame).__name__ == "DataFrame":
        named_index = any(name is not None for name in frame.index.names)
        try:
            return pl.from_pandas(frame, include_index=named_index)
        except Exception as exc:  # pyarrow names the column it could not convert
            raise InputError(f"cannot read the pandas DataFrame: {exc}", path=label) from None
    raise InputError(
        f"expected a path, a polars DataFrame or a pandas DataFrame, got {type(frame).__name__}",
        path=label,
    )


def parse_date(
    value: object,
    *,
    path: str | Path | None = None,
    row: int | None = None,
    field: str | None = None,
) -> datetime.date | None:
    """Parse one date value as load_corpus does; empty means None, garbage an InputError."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value)
    if not text.strip():
        return None
    parsed = pl.select(_date_expr(pl.lit(text, dtype=pl.String))).item()
    if parsed is None:
        raise _date_error(text, path=path, row=row, field=field)
    return parsed


def _date_error(value: str, *, path: object, row: int | None, field: str | None) -> InputError:
    """The one-line error for a date that matches none of the accepted formats."""
    return InputError(
        f"cannot parse date {value!r} ({DATE_FORMATS})", path=path, row=row, field=field
    )


def _date_expr(col: pl.Expr) -> pl.Expr:
    """Date from an ISO day/datetime, ISO month (first day) or German DD.MM.YYYY string; else null.

    Regexes pick the parts so that only these shapes are accepted; to_date then rejects
    impossible days such as 2022-02-30.
    """
    s = col.str.strip_chars()
    day = s.str.extract(_ISO_DAY, 1)
    month = s.str.extract(_ISO_MONTH, 1) + "-01"
    german = s.str.extract_groups(_GERMAN)
    german_iso = pl.concat_str(
        german.struct[2],
        german.struct[1].str.zfill(2),
        german.struct[0].str.zfill(2),
        separator="-",
    )
    return pl.coalesce(
        [part.str.to_date("%Y-%m-%d", strict=False) for part in (day, month, german_iso)]
    )


def _read_file(path: Path, cmap: ColumnMap) -> pl.DataFrame:
    """Dispatch on the extension; returns the raw frame with _row and _path columns."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".parquet"):
        raise InputError(f"unsupported file type '{path.suffix}' (expected {SUPPORTED})", path=path)
    if path.stat().st_size == 0:
        raise InputError("no documents (the file is empty)", path=path)
    if suffix == ".csv":
        table = read_csv_strings(path)
    elif suffix == ".parquet":
        table = read_parquet_file(path)
    else:
        rows, records = read_jsonl_records(path)
        return _records_frame(records, rows, cmap, path)
    return _select_columns(table, cmap, path)


def _records_frame(
    records: list[dict], rows: list[int], cmap: ColumnMap, path: Path
) -> pl.DataFrame:
    """Raw frame (String columns) from JSON objects, keeping only the mapped fields present."""
    present = dict.fromkeys(key for obj in records for key in obj)
    _require_text(list(present), cmap, path, has_rows=bool(records))
    for row, obj in zip(rows, records, strict=True):
        value = obj.get(cmap.text)
        if value is not None and not isinstance(value, str):
            raise InputError(
                f"the text is a JSON {_json_kind(value)}, not a string",
                path=path,
                row=row,
                field=cmap.text,
            )
    data = {
        name: pl.Series(name, [json_text(obj.get(source)) for obj in records], dtype=pl.String)
        for name, source in cmap.items()
        if source in present
    }
    frame = pl.DataFrame(data)
    return frame.with_columns(
        pl.Series(ROW, rows, dtype=pl.Int64), pl.lit(str(path), dtype=pl.String).alias(PATH)
    )


def _json_kind(value: object) -> str:
    kinds = {bool: "boolean", int: "number", float: "number", dict: "object", list: "array"}
    return kinds.get(type(value), type(value).__name__)


def _require_text(
    available: list[str],
    cmap: ColumnMap,
    path: Path,
    *,
    has_rows: bool,
    hint: str = "pass --column text=NAME",
) -> None:
    """No data rows -> "no documents"; no text column -> error listing the columns there are."""
    if not has_rows:
        raise InputError("no documents (no data rows)", path=path)
    if cmap.text not in available:
        listing = ", ".join(available) or "none"
        raise InputError(
            f"no column '{cmap.text}' (columns: {listing}); {hint}",
            path=path,
            field=cmap.text,
        )


def _select_columns(
    table: pl.DataFrame, cmap: ColumnMap, path: Path, *, hint: str = "pass --column text=NAME"
) -> pl.DataFrame:
    """Rename the mapped columns of a table (CSV, Parquet, a DataFrame); non-date columns are
    cast to String."""
    _require_text(table.columns, cmap, path, has_rows=table.height > 0, hint=hint)
    text_type = table.schema[cmap.text]
    if text_type not in (pl.String, pl.Categorical, pl.Null) and not isinstance(text_type, pl.Enum):
        raise InputError(
            f"the text column holds {text_type} values, not strings", path=path, field=cmap.text
        )
    exprs = []
    for name, source in cmap.items():
        if source not in table.columns:
            continue
        dtype = table.schema[source]
        keep = name == "date" and (dtype.is_temporal() or dtype == pl.String)
        exprs.append(
            pl.col(source).alias(name) if keep else _cast_string(table, source, name, path)
        )
    return table.select(
        *exprs,
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW),
        pl.lit(str(path), dtype=pl.String).alias(PATH),
    )


def _cast_string(table: pl.DataFrame, source: str, name: str, path: Path) -> pl.Expr:
    """pl.col(source) as String aliased to ``name``, or an InputError if it cannot be."""
    try:
        table.select(pl.col(source).head(1).cast(pl.String))
    except pl.exceptions.PolarsError:
        raise InputError(
            f"column of type {table.schema[source]} cannot be read as text", path=path, field=source
        ) from None
    return pl.col(source).cast(pl.String).alias(name)


# Validation and cleaning common to all formats


def _finish(raw: pl.DataFrame, cmap: ColumnMap, path: Path) -> tuple[pl.DataFrame, LoadReport]:
    """Validate and clean the raw frame; returns the DOCUMENTS frame and the report."""
    n_read = raw.height
    if n_read == 0:
        raise InputError("no documents", path=path)
    df = raw.with_columns(
        pl.lit(None, dtype=pl.String).alias(name) for name in FIELDS if name not in raw.columns
    )
    df = _resolve_doc_ids(df, cmap, path, generate="doc_id" not in raw.columns)
    df = df.with_columns(pl.col("text").fill_null("").str.replace_all("\r\n", "\n", literal=True))
    df, n_markers = _strip_markers(df)
    df = _resolve_dates(df, cmap)
    df = _fill_metadata(df)
    df = _title_as_missing_text(df)
    df, dropped, repeats = _drop_rows(df, cmap, path)
    report = LoadReport(
        path=path,
        n_read=n_read,
        n_kept=df.height,
        dropped=dropped,
        n_missing_date=df["date"].null_count(),
        date_markers_stripped=n_markers,
        repeats=repeats,
    )
    return conform(df, DOCUMENTS), report


def _first(df: pl.DataFrame, mask: pl.Expr) -> dict | None:
    """The first row (as a dict) where ``mask`` holds, or None."""
    hits = df.filter(mask).head(1)
    return hits.row(0, named=True) if hits.height else None


def _resolve_doc_ids(
    df: pl.DataFrame, cmap: ColumnMap, path: Path, *, generate: bool
) -> pl.DataFrame:
    """Generate "<stem>-<row>" ids when the column is absent; otherwise require non-empty ids."""
    if generate:
        return df.with_columns(generated_ids(path).alias("doc_id"))
    bad = _first(df, pl.col("doc_id").is_null() | (pl.col("doc_id").str.strip_chars() == ""))
    if bad is not None:
        raise InputError("empty doc_id", path=bad[PATH], row=bad[ROW], field=cmap.doc_id)
    return df


def _strip_markers(df: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Remove a leading "date 2022-10" marker from the text, keeping its date in _marker_date."""
    marker_date = _date_expr(pl.col("text").str.extract(_MARKER, 1))
    df = df.with_columns(marker_date.alias(_MARKER_DATE))
    has_marker = pl.col(_MARKER_DATE).is_not_null()
    stripped = pl.when(has_marker).then(pl.col("text").str.replace(_MARKER, "")).otherwise("text")
    df = df.with_columns(stripped.alias("text"))
    return df, int(df[_MARKER_DATE].is_not_null().sum())


def _resolve_dates(df: pl.DataFrame, cmap: ColumnMap) -> pl.DataFrame:
    """Parse the date column (strings, Date or Datetime); fall back to the marker's date."""
    dtype = df.schema["date"]
    if dtype == pl.Date:
        parsed = pl.col("date")
    elif isinstance(dtype, pl.Datetime):
        parsed = pl.col("date").dt.date()
    else:
        df = df.with_columns(pl.col("date").cast(pl.String))
        parsed = _date_expr(pl.col("date"))
        df = df.with_columns(parsed.alias("_parsed"))
        given = pl.col("date").is_not_null() & (pl.col("date").str.strip_chars() != "")
        bad = _first(df, given & pl.col("_parsed").is_null())
        if bad is not None:
            raise _date_error(bad["date"], path=bad[PATH], row=bad[ROW], field=cmap.date)
        parsed = pl.col("_parsed")
    return df.with_columns(pl.coalesce(parsed, pl.col(_MARKER_DATE)).alias("date"))


def _blank_to_null(name: str) -> pl.Expr:
    """Null where the column is empty or whitespace."""
    col = pl.col(name)
    return pl.when(col.str.strip_chars() == "").then(None).otherwise(col).alias(name)


def _fill_metadata(df: pl.DataFrame) -> pl.DataFrame:
    """Blank title/url/lang become null; a blank source becomes UNKNOWN_SOURCE."""
    return df.with_columns(
        *(_blank_to_null(name) for name in ("title", "url", "lang")),
        _blank_to_null("source").fill_null(UNKNOWN_SOURCE),
    )


def _title_as_missing_text(df: pl.DataFrame) -> pl.DataFrame:
    """A headline-only row (empty text, a title) keeps its title as its text."""
    empty = pl.col("text").str.strip_chars() == ""
    return df.with_columns(
        pl.when(empty & pl.col("title").is_not_null())
        .then(pl.col("title"))
        .otherwise(pl.col("text"))
        .alias("text")
    )


def _drop_rows(
    df: pl.DataFrame, cmap: ColumnMap, path: Path
) -> tuple[pl.DataFrame, dict, dict[str, str]]:
    """Drop empty texts, repeated identical rows and a text repeated in the same outlet;
    conflicting ids are errors.

    The same text in two outlets stays two documents: each outlet published it (syndicated
    news, one portal mirroring another), and the drift per outlet counts it for both. The same
    text twice in one outlet is a second crawl of one publication and is dropped."""
    dropped = dict.fromkeys(DROP_REASONS, 0)
    kept = df.filter(pl.col("text").str.strip_chars() != "")
    dropped["empty_text"] = df.height - kept.height
    if kept.height == 0:
        raise InputError("no documents with text", path=path)
    kept = kept.with_columns(
        pl.col("text").str.replace_all(r"\s+", " ").str.strip_chars().alias(_NORM)
    )
    _check_duplicate_ids(kept, cmap)
    unique_ids = kept.filter(pl.int_range(pl.len()).over("doc_id") == 0)
    dropped["duplicate_row"] = kept.height - unique_ids.height
    first = pl.struct(_NORM, "source").is_first_distinct()
    unique_texts = unique_ids.filter(first)
    dropped["duplicate_text"] = unique_ids.height - unique_texts.height
    kept_id = pl.col("doc_id").first().over(_NORM, "source").alias("_kept")
    repeats = unique_ids.with_columns(kept_id).filter(~first).select("doc_id", "_kept")
    return unique_texts, dropped, dict(repeats.iter_rows())


def _check_duplicate_ids(df: pl.DataFrame, cmap: ColumnMap) -> None:
    """A doc_id seen before with a different (whitespace-normalised) text is an InputError."""
    first = {name: pl.col(name).first().over("doc_id") for name in (_NORM, ROW, PATH)}
    later = pl.int_range(pl.len()).over("doc_id") > 0
    conflicts = df.with_columns(
        first[ROW].alias("_first_row"), first[PATH].alias("_first_path")
    ).filter(later & (pl.col(_NORM) != first[_NORM]))
    if conflicts.height == 0:
        return
    bad = conflicts.row(0, named=True)
    where = _where_first(bad["_first_path"], bad["_first_row"], bad[PATH])
    raise InputError(
        f"duplicate doc_id '{bad['doc_id']}' ({where}) with a different text",
        path=bad[PATH],
        row=bad[ROW],
        field=cmap.doc_id,
    )


def _where_first(path: str, row: int | None, current: str) -> str:
    """ "first at row 2", or with the file when the first occurrence is in another file."""
    if row is None:
        return f"first in {path}"
    if path == current:
        return f"first at row {row}"
    return f"first at {path}, row {row}"
