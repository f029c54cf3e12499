"""Calendar periods: which period a date falls in, the period a corpus span calls for, and every
period between two dates (so an empty period shows as empty, never as a silent gap)."""

from __future__ import annotations

from datetime import date

import polars as pl

from narratives.drift.settings import PERIODS

ALL_SOURCES = "*"
"""The outlet view over all outlets together."""

_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}

__all__ = [
    "ALL_SOURCES",
    "PERIODS",
    "calendar",
    "choose_period",
    "period_start",
    "resolve_period",
    "undated_documents",
]


def choose_period(dates: pl.Series) -> str:
    """A period that gives a readable series for the corpus span: day up to a month, week up to
    half a year, month up to six years, quarter beyond."""
    dates = dates.drop_nulls()
    if dates.is_empty():
        return "month"
    span = (dates.max() - dates.min()).days
    if span <= 31:
        return "day"
    if span <= 183:
        return "week"
    if span <= 6 * 366:
        return "month"
    return "quarter"


def resolve_period(period: str, documents: pl.DataFrame) -> str:
    """``period`` itself, or the one :func:`choose_period` picks for ``auto``."""
    return choose_period(documents["date"]) if period == "auto" else period


def undated_documents(documents: pl.DataFrame) -> int:
    """How many documents have no date (and so no period)."""
    return documents["date"].null_count()


def period_start(period: str, column: str = "date") -> pl.Expr:
    """The first day of the ``period`` (day, week, month, quarter, year) each date falls in."""
    return pl.col(column).dt.truncate(_TRUNCATE[period]).alias("period")


def calendar(first: date, last: date, period: str) -> pl.Series:
    """Every ``period`` start from ``first`` to ``last`` (both period starts), in order."""
    return pl.date_range(first, last, interval=_TRUNCATE[period], eager=True).alias("period")
