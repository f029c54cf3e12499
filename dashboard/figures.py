"""The views' charts as functions of the run: the frames and the chart in one call, so the
dashboard can keep each built chart (Plotly builds and validates a figure in Python: a quarter
of a second for the Overview's panels, on every first view and filter change) and the server
can prefetch the Overview's first chart; no Streamlit here."""

from __future__ import annotations

from datetime import date
from types import ModuleType
from typing import Any

import plotly.graph_objects as go
import polars as pl
from narratives_dashboard import charts, data, vegalite

from narratives.runs import Run

__all__ = ["overview_chart", "overview_figure"]

PANELS, LINES, AREA = "One panel per narrative", "Lines in one chart", "Stacked area"
STYLES = (PANELS, LINES, AREA)
MAX_LINES = 8  # more lines in one chart are hard to tell apart (the panels show all)


def overview_chart(run: Run, **view: Any) -> dict:
    """The Overview's chart as a Vega-Lite spec (what the page draws); ``view`` as for
    :func:`_overview`."""
    return _overview(vegalite, run, **view)


def overview_figure(run: Run, **view: Any) -> go.Figure:
    """The same chart as a Plotly figure: the Overview's HTML download, a file that works
    offline and saves itself as PNG."""
    return _overview(charts, run, **view)


def _overview(
    draw: ModuleType,
    run: Run,
    *,
    style: str,
    unit: str,
    source: str,
    series: list[str],
    start: date | None,
    end: date | None,
    intervals: bool,
    raw: bool,
) -> Any:
    """The chart of ``series`` drawn by ``draw`` (``vegalite`` or ``charts``, which build the
    same three charts): panels, lines (the first ``MAX_LINES`` series) or a stacked area; the
    headline changes marked on document shares."""
    frame = data.shares(run, unit=unit, source=source, series=series, start=start, end=end)
    changes = data.events(run, source=source, series=series, start=start, end=end)
    marked = changes if unit == "documents" else changes.clear()
    if style == PANELS:
        return draw.share_panels(frame, marked, intervals=intervals, raw=raw)
    if style == LINES:
        drawn = pl.col("series").is_in(series[:MAX_LINES])
        marked = marked.filter(drawn) if not marked.is_empty() else marked
        return draw.share_lines(frame.filter(drawn), marked, intervals=intervals, raw=raw)
    if style == AREA:
        return draw.stacked_area(frame, raw=raw)
    raise ValueError(f"unknown chart style {style!r}; one of {', '.join(STYLES)}")
