"""Gold labels per document for the evaluation: read from a CSV, JSONL or Parquet file.

A labels file has a document id column and a label column; a corpus file without an id column
(ids ``<file stem>-<row>``, see corpus.py) can serve as its own labels file. Problems are
InputErrors naming the file, the 1-based data row (the line of a JSONL file) and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from narratives.corpus_files import (
    ROW,
    generated_ids,
    json_text,
    read_csv_strings,
    read_jsonl_records,
    read_parquet_file,
)
from narratives.errors import InputError

if TYPE_CHECKING:
    from narratives.record import RunRecord

LABEL_FORMATS = (".csv", ".jsonl", ".ndjson", ".parquet")


def load_labels(
    path: str | Path,
    *,
    id_column: str = "doc_id",
    label_column: str = "narrative",
    generate_ids: bool = False,
) -> pl.DataFrame:
    """Gold labels from a CSV, JSONL or Parquet file: (doc_id, label, row), one label per id.

    ``row`` is the 1-based data row (the line of a JSONL file). Without an id column,
    ``generate_ids`` builds the ids a corpus file without one gets (``<file stem>-<row>``).
    Empty labels become null (unlabelled). Problems raise an InputError naming file, row, field.
    """
    path = Path(path)
    frame = _label_frame(path, id_column, label_column, generate_ids, lists=False)
    frame = frame.with_columns(
        pl.col("label").str.strip_chars().pipe(lambda c: pl.when(c != "").then(c)).alias("label")
    )
    clash = frame.filter(
        (pl.col("label").n_unique().over("doc_id") > 1)
        & (pl.int_range(pl.len()).over("doc_id") > 0)
    )
    if clash.height:
        bad = clash.row(0, named=True)
        raise InputError(
            f"id '{bad['doc_id']}' appears again with another label ({bad['label']!r})",
            path=path,
            row=bad["row"],
            field=label_column,
        )
    return frame.unique("doc_id", keep="first", maintain_order=True)


def load_label_sets(
    path: str | Path,
    *,
    id_column: str = "doc_id",
    label_column: str = "narratives",
    generate_ids: bool = False,
    keep: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Multi-label gold labels: (doc_id, labels, row, *keep), ``labels`` a list of strings.

    A label cell is a JSON list (``["a", "b"]``, in JSONL or Parquet) or a ``;``-separated text
    (``a; b``, in CSV); an empty cell or list means the item carries none of the labels: every
    row is a labelled item. An id given twice is an error. ``keep`` names other columns to
    keep (as text; null where the file lacks them).
    """
    path = Path(path)
    frame = _label_frame(path, id_column, label_column, generate_ids, lists=True, keep=keep)
    text = pl.col("label").fill_null("").str.strip_chars()
    as_json = text.str.starts_with("[")
    from_json = pl.when(as_json).then(text).str.json_decode(pl.List(pl.String))
    from_text = pl.when(~as_json).then(text).str.split(";")
    parsed = frame.with_columns(pl.coalesce(from_json, from_text).alias("labels")).with_columns(
        pl.col("labels")
        .list.eval(pl.element().str.strip_chars().filter(pl.element() != ""))
        .list.unique(maintain_order=True)
    )
    twice = parsed.filter(pl.col("doc_id").is_duplicated())
    if twice.height:
        bad = twice.row(1, named=True) if twice.height > 1 else twice.row(0, named=True)
        raise InputError(
            f"id '{bad['doc_id']}' is labelled twice", path=path, row=bad["row"], field=id_column
        )
    return parsed.select("doc_id", "labels", "row", *keep)


def _label_frame(
    path: Path,
    id_column: str,
    label_column: str,
    generate_ids: bool,
    *,
    lists: bool,
    keep: tuple[str, ...] = (),
) -> pl.DataFrame:
    """(doc_id, label text, row) of a labels file; the label column may hold JSON lists when
    ``lists``."""
    raw, nested = _read_label_file(path)
    if label_column not in raw.columns:
        raise InputError(
            f"no column '{label_column}' (columns: {', '.join(raw.columns) or 'none'}); "
            "choose one with --label-column",
            path=path,
            field=label_column,
        )
    if id_column in raw.columns:
        ids = pl.col(id_column)
    elif generate_ids:
        ids = generated_ids(path)
    else:
        raise InputError(
            f"no column '{id_column}' (columns: {', '.join(raw.columns)}); choose the documents' "
            "id column with --id-column",
            path=path,
            field=id_column,
        )
    for column in (id_column, *(() if lists else (label_column,))):
        if column in nested:
            raise InputError(
                "expected a text or a number, got a list or an object",
                path=path,
                row=nested[column],
                field=column,
            )
    frame = raw.select(
        ids.str.strip_chars().alias("doc_id"),
        pl.col(label_column).alias("label"),
        pl.col(ROW).alias("row"),
        *(pl.col(c) if c in raw.columns else pl.lit(None, pl.String).alias(c) for c in keep),
    )
    empty = frame.filter(pl.col("doc_id").is_null() | (pl.col("doc_id") == ""))
    if empty.height:
        raise InputError("empty id", path=path, row=empty["row"][0], field=id_column)
    return frame


def _read_label_file(path: Path) -> tuple[pl.DataFrame, dict[str, int]]:
    """All columns as String plus ``_row`` (1-based data row, or JSONL line), and the first row
    of each column that holds a list or an object."""
    if not path.is_file():
        raise InputError("labels file not found", path=path)
    suffix = path.suffix.lower()
    if suffix not in LABEL_FORMATS:
        raise InputError(f"unsupported labels file (use {', '.join(LABEL_FORMATS)})", path=path)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    frame = read_csv_strings(path) if suffix == ".csv" else read_parquet_file(path)
    if frame.height == 0:
        raise InputError("no rows", path=path)
    nested = {name: 1 for name, dtype in frame.schema.items() if dtype.is_nested()}
    frame = frame.select(
        pl.col(name).cast(pl.String) for name in frame.columns if name not in nested
    ).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW))
    return frame, nested


def _read_jsonl(path: Path) -> tuple[pl.DataFrame, dict[str, int]]:
    lines, records = read_jsonl_records(path)
    if not records:
        raise InputError("no rows", path=path)
    nested: dict[str, int] = {}
    for number, record in zip(lines, records, strict=True):
        for key, value in record.items():
            if isinstance(value, (list, dict)):
                nested.setdefault(key, number)
    columns = dict.fromkeys(key for record in records for key in record)
    data = {
        name: pl.Series(name, [json_text(r.get(name)) for r in records], dtype=pl.String)
        for name in columns
    }
    return pl.DataFrame(data).with_columns(pl.Series(ROW, lines, dtype=pl.Int64)), nested


def corpus_labels_source(record: RunRecord) -> tuple[Path, str] | None:
    """(corpus file, its id column) of a run trained on a tabular corpus file, else None."""
    corpus = Path(record.corpus.path)
    if corpus.suffix.lower() not in LABEL_FORMATS or not corpus.is_file():
        return None
    return corpus, str(record.config.columns.get("doc_id", "doc_id"))
