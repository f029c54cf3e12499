"""The drift tables of the catalogued narratives, from the detector's tags.

The same engine as for the discovered topics (prevalence, changes, outlets, keyword drift),
keyed by ``narrative_id``. A passage may carry several narratives, a document carries a
narrative when at least one of its passages does, and a document counts once per narrative it
carries. Every narrative of the catalog has its rows, also where nothing carries it (share 0).
"""

from __future__ import annotations

import polars as pl

from narratives.drift.changes import compute_drift
from narratives.drift.keywords import keyword_drift
from narratives.drift.outlets import compare_outlets
from narratives.drift.prevalence import compute_prevalence
from narratives.drift.settings import DriftSettings
from narratives.schemas import NARRATIVE_DRIFT_TABLES, NARRATIVE_PREVALENCE, TABLE_SCHEMAS


def narrative_tags(scores: pl.DataFrame) -> pl.DataFrame:
    """(passage_id, doc_id, narrative_id) of every passage and narrative it carries."""
    return scores.filter(pl.col("tagged")).select("passage_id", "doc_id", "narrative_id")


def narrative_drift_tables(
    documents: pl.DataFrame,
    passages: pl.DataFrame,
    tags: pl.DataFrame,
    narrative_ids: list[str],
    settings: DriftSettings,
    *,
    period: str,
    languages: tuple[str, ...],
    scores: pl.DataFrame | None = None,
    estimates: dict | None = None,
    n_bootstrap: int = 200,
) -> dict[str, pl.DataFrame]:
    """narrative_prevalence, narrative_passage_prevalence, narrative_drift, narrative_outlets
    and narrative_keyword_drift for ``tags`` (see :func:`narrative_tags`).

    With the detector's ``scores`` and the share ``estimates`` of narratives.shares, the
    document shares are corrected for the detector's errors and the changes are tested on the
    corrected shares and their intervals. The outlet comparison stays on the tags: every outlet
    is read by the same detector, so equal true shares mean equal expected tag shares and the
    test of the counts tests the corrected shares too."""
    codes = pl.DataFrame(
        {"narrative_id": narrative_ids, "topic_id": range(len(narrative_ids))},
        schema={"narrative_id": pl.String, "topic_id": pl.Int32},
    )
    coded = tags.join(codes, on="narrative_id").select("passage_id", "doc_id", "topic_id")
    common = {
        "period": period,
        "by_source": settings.by_source,
        "small_period_docs": settings.small_period_docs,
        "topic_ids": codes["topic_id"],
    }
    prevalence = compute_prevalence(documents, coded, **common)
    units = passages.select("passage_id", "doc_id")
    prevalence = _decode(prevalence, codes, None)
    if scores is not None and estimates:
        from narratives.shares import corrected_prevalence

        prevalence = corrected_prevalence(
            prevalence,
            documents,
            scores,
            estimates,
            period=period,
            by_source=settings.by_source,
            n_bootstrap=n_bootstrap,
        )
    else:
        prevalence = _counted(prevalence)
    prevalence = prevalence.select(list(NARRATIVE_PREVALENCE)).cast(dict(NARRATIVE_PREVALENCE))
    coded_prevalence = prevalence.join(codes, on="narrative_id").drop("narrative_id")
    tables = {
        "passage_prevalence": compute_prevalence(
            documents, coded, unit="passage", passages=units, **common
        ),
        "drift": compute_drift(coded_prevalence, settings),
        "outlets": compare_outlets(documents, coded, period=period, alpha=settings.alpha),
        "keyword_drift": keyword_drift(
            passages, coded, documents, period=period, languages=languages
        ),
    }
    decoded = {
        f"narrative_{name}": _decode(frame, codes, TABLE_SCHEMAS[f"narrative_{name}"])
        for name, frame in tables.items()
        if f"narrative_{name}" in NARRATIVE_DRIFT_TABLES
    }
    return {"narrative_prevalence": prevalence, **decoded}


def _counted(prevalence: pl.DataFrame) -> pl.DataFrame:
    """The prevalence of counted tags in the corrected table's columns (method cc)."""
    return prevalence.with_columns(
        pl.col("share").alias("share_raw"),
        pl.lit("cc").alias("method"),
        pl.lit(0, dtype=pl.UInt32).alias("n_calibration"),
        pl.lit(None, dtype=pl.Float64).alias("se_sampling"),
        pl.lit(None, dtype=pl.Float64).alias("se_calibration"),
    )


def _decode(frame: pl.DataFrame, codes: pl.DataFrame, schema: pl.Schema | None) -> pl.DataFrame:
    """``frame`` with its topic_id codes replaced by the narrative ids (in the table's schema
    when given)."""
    decoded = frame.join(codes, on="topic_id", how="left").drop("topic_id")
    return decoded if schema is None else decoded.select(list(schema)).cast(dict(schema))
