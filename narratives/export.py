"""A run's tables to CSV, Parquet or JSON, for analysts' own notebooks and reports.

Besides the stored tables: ``documents`` gains each document's catalogued narratives and its main
topic with the topic mix, ``document_narratives`` lists the narratives each document carries (a
document carries a narrative when at least one of its passages does), ``document_topics`` the
topic mix in long form.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl

from narratives.runs import Run
from narratives.schemas import (
    DRIFT_TABLES,
    NARRATIVE_DRIFT_TABLES,
    NARRATIVE_TABLES,
    NOVELTY_TABLES,
)

FORMATS = ("csv", "parquet", "json")
LIST_SEPARATOR = "; "


def document_topics(run: Run) -> pl.DataFrame:
    """Each document's topic mix: the share of its passages in each topic (long format)."""
    assignments = run.table("assignments")
    topics = run.table("topics").select("topic_id", "label")
    return (
        assignments.group_by("doc_id", "topic_id")
        .agg(pl.len().cast(pl.UInt32).alias("n_passages"))
        .with_columns(
            (pl.col("n_passages") / pl.col("n_passages").sum().over("doc_id")).alias("share")
        )
        .join(topics, on="topic_id", how="left")
        .sort(["doc_id", "share", "topic_id"], descending=[False, True, False])
        .select("doc_id", "topic_id", "label", "n_passages", "share")
    )


def document_narratives_table(run: Run) -> pl.DataFrame:
    """(doc_id, narrative_id, label, n_passages, score): the catalogued narratives each document
    carries, how many of its passages carry each, and the highest passage score."""
    from narratives.detect import document_narratives

    if not run.has_table("narrative_scores"):
        return pl.DataFrame(
            schema={"doc_id": pl.String, "narrative_id": pl.String, "label": pl.String}
        )
    labels = run.table("narratives").select("narrative_id", pl.col("label_de").alias("label"))
    carried = document_narratives(run.table("narrative_scores"))
    return carried.join(labels, on="narrative_id", how="left").select(
        "doc_id", "narrative_id", "label", "n_passages", "score"
    )


def summarize_mix(mix: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Per document of a long mix (doc_id, topic_id, share): its main topic (the largest share;
    ties to the lower topic id) and the mix as text ("name 60%; name 40%"), by ``names``
    (topic_id, name)."""
    return (
        mix.select("doc_id", "topic_id", "share")
        .join(names.select("topic_id", "name"), on="topic_id", how="left")
        .sort(["doc_id", "share", "topic_id"], descending=[False, True, False])
        .group_by("doc_id", maintain_order=True)
        .agg(
            pl.col("topic_id").first().alias("main_topic_id"),
            pl.col("name").first().alias("main_topic"),
            pl.format("{} {}%", pl.col("name"), (pl.col("share") * 100).round(0).cast(pl.Int64))
            .str.join(LIST_SEPARATOR)
            .alias("narrative_mix"),
        )
    )


def documents_with_mix(run: Run) -> pl.DataFrame:
    """The Documents table plus its main topic and a readable mix ("label 60%; label 40%")."""
    names = run.table("topics").select("topic_id", pl.col("label").alias("name"))
    summary = summarize_mix(document_topics(run), names)
    carried = (
        document_narratives_table(run)
        .group_by("doc_id", maintain_order=True)
        .agg(pl.col("narrative_id").alias("narratives"))
    )
    return (
        run.table("documents")
        .join(carried, on="doc_id", how="left")
        .join(summary, on="doc_id", how="left")
        .with_columns(pl.col("narratives").fill_null([]))
    )


def export_tables(run: Run) -> dict[str, pl.DataFrame]:
    """The tables `narratives export` writes, by file stem."""
    tables = {
        "topics": run.table("topics"),
        "assignments": run.table("assignments"),
        "documents": documents_with_mix(run),
        "document_topics": document_topics(run),
        "document_narratives": document_narratives_table(run),
    }
    for optional in (*NARRATIVE_TABLES, *DRIFT_TABLES, *NARRATIVE_DRIFT_TABLES, *NOVELTY_TABLES):
        if run.has_table(optional):
            tables[optional] = run.table(optional)
    return tables


def _flatten_lists(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no lists: join list columns with '; '."""
    return frame.with_columns(
        pl.col(name).list.eval(pl.element().cast(pl.String)).list.join(LIST_SEPARATOR)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.List)
    )


def encode_table(frame: pl.DataFrame, fmt: str) -> bytes:
    """One table as the bytes of a CSV, Parquet or JSON file (the dashboard's downloads)."""
    buffer = io.BytesIO()
    if fmt == "csv":
        _flatten_lists(frame).write_csv(buffer)
    elif fmt == "parquet":
        frame.write_parquet(buffer)
    elif fmt == "json":
        frame.write_json(buffer)
    else:
        raise ValueError(f"unknown format {fmt!r} (choose one of {', '.join(FORMATS)})")
    return buffer.getvalue()


def write_table(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write one table atomically (temporary file renamed into place)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(encode_table(frame, fmt))
    os.replace(tmp, path)


def export_run(run: Run, fmt: str, out: Path) -> list[Path]:
    """Write every export table of ``run`` as ``out/<table>.<fmt>``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, frame in export_tables(run).items():
        path = out / f"{stem}.{fmt}"
        write_table(frame, path, fmt)
        written.append(path)
    return written


def read_table(path: Path) -> pl.DataFrame:
    """Read back a table written by ``write_table`` (list columns of CSV stay joined strings)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pl.read_csv(path, try_parse_dates=True)
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".json":
        return pl.read_json(path)
    raise ValueError(f"{path}: unknown table format")
