"""All drift tables of a run in one call, for `narratives train` and `narratives drift`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from narratives.drift import (
    DriftSettings,
    compute_drift,
    compute_prevalence,
    resolve_period,
    undated_documents,
)
from narratives.keyword_drift import keyword_drift
from narratives.outlets import compare_outlets
from narratives.schemas import DRIFT_TABLES

__all__ = ["DRIFT_TABLES", "DriftResult", "drift_tables"]


@dataclass
class DriftResult:
    """The drift tables and what they were computed with."""

    tables: dict[str, pl.DataFrame]
    period: str
    n_undated_documents: int
    settings: DriftSettings

    def record(self) -> dict:
        """The run.json entry describing these tables."""
        return {
            "period": self.period,
            "n_undated_documents": self.n_undated_documents,
            "settings": asdict(self.settings),
            "tables": list(self.tables),
        }


def drift_tables(
    documents: pl.DataFrame,
    passages: pl.DataFrame,
    assignments: pl.DataFrame,
    settings: DriftSettings | None = None,
    *,
    languages: tuple[str, ...] = ("de", "en"),
) -> DriftResult:
    """Prevalence (documents and passages), drift, outlet comparison and keyword drift."""
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
    return DriftResult(
        tables=tables,
        period=period,
        n_undated_documents=undated_documents(documents),
        settings=settings,
    )
