"""The drift engine: narrative shares over time and per outlet, and when a change is real.

``drift_tables`` is its face: from a run's documents, passages and assignments it computes every
drift table (prevalence in documents and in passages, tested changes and change points, the
outlet comparison, keyword drift). The modules behind it, one job each:

- ``settings``: ``DriftSettings``, the ``[drift]`` table of the configuration;
- ``periods``: calendar periods and the period a corpus span calls for;
- ``prevalence``: shares per period and outlet with Wilson intervals;
- ``changes``: tests, change points, statuses and the headline changes;
- ``outlets``: each outlet against all the others;
- ``keywords``: each topic's words per period, from that period's passages only;
- ``narrative_tables``: the same tables for the catalogued narratives, from the detector's tags;
- ``compare``: two sets of counts side by side, each difference tested;
- ``stats``: the vectorised intervals, tests, corrections and divergences they share.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from narratives.defaults import DEFAULT_LANGUAGES
from narratives.drift.changes import (
    CHANGE_COLUMNS,
    HEADLINE_STATUSES,
    STATUSES,
    compute_drift,
    headline_changes,
    is_headline,
)
from narratives.drift.keywords import keyword_drift
from narratives.drift.narrative_tables import narrative_drift_tables, narrative_tags
from narratives.drift.outlets import compare_outlets
from narratives.drift.periods import (
    ALL_SOURCES,
    PERIODS,
    choose_period,
    period_start,
    resolve_period,
    undated_documents,
)
from narratives.drift.prevalence import compute_prevalence
from narratives.drift.settings import DriftInfo, DriftSettings
from narratives.schemas import DRIFT_TABLES

__all__ = [
    "ALL_SOURCES",
    "CHANGE_COLUMNS",
    "DRIFT_TABLES",
    "HEADLINE_STATUSES",
    "PERIODS",
    "STATUSES",
    "DriftInfo",
    "DriftResult",
    "DriftSettings",
    "choose_period",
    "compare_outlets",
    "compute_drift",
    "compute_prevalence",
    "drift_tables",
    "headline_changes",
    "is_headline",
    "keyword_drift",
    "period_start",
    "resolve_period",
    "undated_documents",
]


@dataclass
class DriftResult:
    """The drift tables and what they were computed with."""

    tables: dict[str, pl.DataFrame]
    period: str
    n_undated_documents: int
    settings: DriftSettings

    def info(self) -> DriftInfo:
        """The run record's entry describing these tables."""
        return DriftInfo(
            period=self.period,
            n_undated_documents=self.n_undated_documents,
            settings=self.settings,
            tables=tuple(self.tables),
        )


def drift_tables(
    documents: pl.DataFrame,
    passages: pl.DataFrame,
    assignments: pl.DataFrame,
    settings: DriftSettings | None = None,
    *,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    narrative_scores: pl.DataFrame | None = None,
    narrative_ids: list[str] | None = None,
    share_estimates: dict | None = None,
    n_bootstrap: int = 200,
) -> DriftResult:
    """Prevalence (documents and passages), drift, outlet comparison and keyword drift of the
    discovered topics and, given the detector's ``narrative_scores``, of the catalogued
    narratives (``narrative_ids``, in catalog order), their shares corrected with
    ``share_estimates`` (narratives.shares; counted without)."""
    settings = settings or DriftSettings()
    period = resolve_period(settings.period, documents)
    common = {
        "period": period,
        "by_source": settings.by_source,
        "small_period_docs": settings.small_period_docs,
    }
    prevalence = compute_prevalence(documents, assignments, **common)
    tables = {
        "prevalence": prevalence,
        "passage_prevalence": compute_prevalence(documents, assignments, unit="passage", **common),
        "drift": compute_drift(prevalence, settings),
        "outlets": compare_outlets(documents, assignments, period=period, alpha=settings.alpha),
        "keyword_drift": keyword_drift(
            passages, assignments, documents, period=period, languages=languages
        ),
    }
    if narrative_scores is not None:
        tables |= narrative_drift_tables(
            documents,
            passages,
            narrative_tags(narrative_scores),
            list(narrative_ids or narrative_scores["narrative_id"].unique(maintain_order=True)),
            settings,
            period=period,
            languages=languages,
            scores=narrative_scores,
            estimates=share_estimates,
            n_bootstrap=n_bootstrap,
        )
    return DriftResult(
        tables=tables,
        period=period,
        n_undated_documents=undated_documents(documents),
        settings=settings,
    )
