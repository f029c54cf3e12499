"""Series: what one line of a chart is, as polars queries on a run's tables (no Streamlit here).

A series is a catalogued narrative or a discovered topic, so views and charts need not care which:

- a catalogued narrative: key = its ``narrative_id``, name = its German label, kind "narrative";
  read from the narrative tables (``narrative_prevalence``, ``narrative_drift`` ...);
- a discovered topic: key = ``"topic:<id>"``, name = ``"#<id> <keywords>"``, kind "topic"; the
  outliers are ``"topic:-1"``, kind "outliers"; read from the topic tables (``prevalence``,
  ``drift`` ...).

Every frame these queries return is keyed by ``series`` (a String). Runs written before narrative
detection have no narrative tables: then every series is a topic (:func:`has_narratives`).
"""

from __future__ import annotations

import polars as pl

from narratives.export import document_topics
from narratives.runs import Run
from narratives.schemas import OUTLIER_TOPIC, TABLE_SCHEMAS

__all__ = [
    "KINDS",
    "OUTLIERS",
    "OUTLIERS_LABEL",
    "TOPIC_PREFIX",
    "document_mix",
    "document_series",
    "has_narratives",
    "series_names",
    "series_table",
    "split_series",
    "topic_id_of",
    "topic_series",
]

TOPIC_PREFIX = "topic:"
OUTLIERS = f"{TOPIC_PREFIX}{OUTLIER_TOPIC}"
OUTLIERS_LABEL = "Outliers (no topic)"
KINDS = ("narrative", "topic", "outliers")
"""The kinds of series, in the order the dashboard lists them."""


def topic_series(topic_id: int) -> str:
    """The series key of a discovered topic."""
    return f"{TOPIC_PREFIX}{int(topic_id)}"


def topic_id_of(series: str) -> int | None:
    """The topic id of a topic series; None for a catalogued narrative."""
    if not series.startswith(TOPIC_PREFIX):
        return None
    return int(series.removeprefix(TOPIC_PREFIX))


def has_narratives(run: Run) -> bool:
    """Whether the run has the detector's tables (runs trained before it have topics only)."""
    return run.has_table("narratives") and run.has_table("narrative_scores")


def series_names(run: Run) -> pl.DataFrame:
    """Every series of the run: series, name (unique), kind, order (for colours and lists), size
    (passages), and the label, keywords and topic_id it comes from (keywords and topic_id null
    for a narrative).

    Catalogued narratives first in catalog order, then the discovered topics by size, then the
    outliers.
    """
    return run.derived("series_names", _series_names)


def _series_names(run: Run) -> pl.DataFrame:
    topics = run.table("topics").select("topic_id", "label", "keywords", "size")
    topic_rows = topics.select(
        pl.format("{}{}", pl.lit(TOPIC_PREFIX), "topic_id").alias("series"),
        pl.when(pl.col("topic_id") == OUTLIER_TOPIC)
        .then(pl.lit(OUTLIERS_LABEL))
        .otherwise(pl.format("#{} {}", "topic_id", "label"))
        .alias("name"),
        pl.when(pl.col("topic_id") == OUTLIER_TOPIC)
        .then(pl.lit("outliers"))
        .otherwise(pl.lit("topic"))
        .alias("kind"),
        pl.col("size").cast(pl.Int64),
        "label",
        "keywords",
        "topic_id",
    ).sort(pl.col("topic_id") == OUTLIER_TOPIC, "size", "topic_id", descending=[False, True, False])
    frames = [topic_rows]
    if has_narratives(run):
        narratives = run.table("narratives").select(
            pl.col("narrative_id").alias("series"),
            pl.col("label_de").alias("name"),
            pl.lit("narrative").alias("kind"),
            pl.col("n_passages").cast(pl.Int64).alias("size"),
            pl.col("label_de").alias("label"),
            pl.lit(None, pl.List(pl.String)).alias("keywords"),
            pl.lit(None, pl.Int32).alias("topic_id"),
        )
        frames.insert(0, narratives)
    names = pl.concat(frames, how="vertical_relaxed").with_row_index("order")
    duplicate = pl.col("name").is_duplicated()
    return names.with_columns(
        pl.when(duplicate)
        .then(pl.format("{} ({})", "name", "series"))
        .otherwise(pl.col("name"))
        .alias("name")
    ).select("series", "name", "kind", "order", "size", "label", "keywords", "topic_id")


def split_series(series: list[str] | None) -> tuple[list[str] | None, list[int] | None]:
    """The narrative ids and the topic ids among ``series`` (both None when ``series`` is)."""
    if series is None:
        return None, None
    topics = [topic_id_of(s) for s in series]
    narratives = [s for s, t in zip(series, topics, strict=True) if t is None]
    return narratives, [t for t in topics if t is not None]


def _keyed_schema(name: str) -> pl.Schema:
    """The topic table ``name``'s schema with ``series`` in place of ``topic_id``, then the
    columns only its narrative counterpart has (share_raw, method ... of narrative_prevalence)."""
    keyed = {
        ("series" if c == "topic_id" else c): (pl.String if c == "topic_id" else t)
        for c, t in TABLE_SCHEMAS[name].items()
    }
    narrative = TABLE_SCHEMAS.get(f"narrative_{name}", {})
    extra = {c: t for c, t in narrative.items() if c not in keyed and c != "narrative_id"}
    return pl.Schema({**keyed, **extra})


def _topic_extras(table: pl.DataFrame, schema: pl.Schema) -> list[pl.Expr]:
    """What a topic row has in the columns only narrative tables have: its counted share is
    its share_raw too; nothing else (no correction, no labelled items)."""
    missing = [c for c in schema if c not in table.columns and c != "series"]
    return [
        (pl.col("share") if c == "share_raw" else pl.lit(None, schema[c])).alias(c) for c in missing
    ]


def series_table(run: Run, name: str, series: list[str] | None = None) -> pl.DataFrame:
    """The rows of the topic table ``name`` (prevalence, drift, outlets, keyword_drift ...) and
    of its narrative counterpart (``narrative_<name>``) for ``series`` (all when None), keyed by
    ``series`` in place of topic_id / narrative_id. A table the run lacks adds no rows.

    A topic row's share_raw is its share (topics are counted)."""
    narrative_ids, topic_ids = split_series(series)
    schema = _keyed_schema(name)
    frames = []
    if run.has_table(name) and (topic_ids is None or topic_ids):
        table = run.table(name)
        if topic_ids is not None:
            table = table.filter(pl.col("topic_id").is_in(topic_ids))
        key = pl.format("{}{}", pl.lit(TOPIC_PREFIX), "topic_id").alias("series")
        table = table.with_columns(key, *_topic_extras(table, schema))
        frames.append(table.select(list(schema)))
    narrative_table = f"narrative_{name}"
    if run.has_table(narrative_table) and (narrative_ids is None or narrative_ids):
        table = run.table(narrative_table)
        if narrative_ids is not None:
            table = table.filter(pl.col("narrative_id").is_in(narrative_ids))
        frames.append(table.rename({"narrative_id": "series"}).select(list(schema)))
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, how="vertical_relaxed").cast(dict(schema))


def document_mix(run: Run) -> pl.DataFrame:
    """Each document's topic mix (long format: doc_id, topic_id, n_passages, share), computed
    once."""
    return run.derived(
        "document_mix",
        lambda r: document_topics(r).select("doc_id", "topic_id", "n_passages", "share"),
    )


def document_series(run: Run) -> pl.DataFrame:
    """Every (document, series) the document carries: doc_id, series, n_passages (its passages
    in the topic, or carrying the narrative) and share (of its passages), computed once.

    A document carries a narrative when at least one of its passages does.
    """
    return run.derived("document_series", _document_series)


def _document_series(run: Run) -> pl.DataFrame:
    mix = document_mix(run)
    topics = mix.select(
        "doc_id",
        pl.format("{}{}", pl.lit(TOPIC_PREFIX), "topic_id").alias("series"),
        pl.col("n_passages").cast(pl.UInt32),
        "share",
    )
    if not has_narratives(run):
        return topics
    sizes = mix.group_by("doc_id").agg(pl.col("n_passages").sum().alias("_size"))
    carried = (
        run.scan("narrative_scores")
        .filter(pl.col("tagged"))
        .group_by("doc_id", "narrative_id")
        .agg(pl.len().cast(pl.UInt32).alias("n_passages"))
        .collect()
        .join(sizes, on="doc_id", how="left")
        .select(
            "doc_id",
            pl.col("narrative_id").alias("series"),
            "n_passages",
            (pl.col("n_passages") / pl.col("_size")).alias("share"),
        )
    )
    return pl.concat([carried, topics], how="vertical_relaxed")
