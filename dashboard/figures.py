"""The views' figures as functions of the run: the frames and the chart in one call, so the
dashboard can keep each built figure (Plotly builds and validates a figure in Python: a quarter
of a second for the Overview's panels, on every first view and filter change) and the server
can prefetch the Overview's first chart; no Streamlit here."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
from narratives_dashboard import charts, data

from narratives.runs import Run

__all__ = ["overview_figure"]

PANELS, LINES, AREA = "One panel per narrative", "Lines in one chart", "Stacked area"
STYLES = (PANELS, LINES, AREA)
MAX_LINES = 8  # more lines in one chart are hard to tell apart (the panels show all)


def overview_figure(
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
) -> go.Figure:
    """The Overview's chart of ``series``: panels, lines (the first
    ``MAX_LINES`` series) or a stacked area; the headline changes marked on document shares."""
    frame = data.shares(run, unit=unit, source=source, series=series, start=start, end=end)
    changes = data.events(run, source=source, series=series, start=start, end=end)
    marked = changes if unit == "documents" else changes.clear()
    if style == PANELS:
        figure = charts.share_panels(frame, marked, intervals=intervals, raw=raw)
    elif style == LINES:
        drawn = series[:MAX_LINES]
        figure = charts.share_lines(
            frame.filter(pl.col("series").is_in(drawn)),
            marked.filter(pl.col("series").is_in(drawn)) if not marked.is_empty() else marked,
            intervals=intervals,
            raw=raw,
        )
    elif style == AREA:
        figure = charts.stacked_area(frame, raw=raw)
    else:
        raise ValueError(f"unknown chart style {style!r}; one of {', '.join(STYLES)}")
    return figure
