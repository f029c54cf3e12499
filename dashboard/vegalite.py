"""Vega-Lite specs of the Overview's chart (panels, lines, stacked area), built from the frames of
``narratives_dashboard.data``; no Streamlit here.

The Overview is the page every visit opens, and Streamlit draws a Vega-Lite chart about a second
sooner than a Plotly one on a 2-core machine (Vega's bundle is a sixth of Plotly's, and there is
no figure to validate in Python), so its chart is drawn here; every other page, and the
Overview's HTML download, keep the Plotly figures of ``narratives_dashboard.charts``, whose look
(colours, open markers, bands, change symbols) this follows. Periods are sent as ISO dates and
drawn on a UTC scale, so a month never shows as the last day of the month before in a browser
west of Greenwich.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import polars as pl
from narratives_dashboard import charts

__all__ = ["PICK", "share_lines", "share_panels", "stacked_area"]

PANEL_WIDTH, PANEL_HEIGHT = 400, 150
LINES_HEIGHT = 380
PICK = "pick"
"""The point selection's name: ``selection[PICK]`` lists the picked points' ``series`` and
``date`` (the period as an ISO date; no date when an area of the stacked chart is picked)."""
STAR = (
    "M0,-1L0.29,-0.4L0.95,-0.31L0.47,0.15L0.59,0.81L0,0.5"
    "L-0.59,0.81L-0.47,0.15L-0.95,-0.31L-0.29,-0.4Z"
)
SHAPES = {
    "emerging": "triangle-up",
    "fading": "triangle-down",
    "new": STAR,
    "gone": (
        "M-0.8,-0.6L-0.6,-0.8L0,-0.2L0.6,-0.8L0.8,-0.6L0.2,0"
        "L0.8,0.6L0.6,0.8L0,0.2L-0.6,0.8L-0.8,0.6L-0.2,0Z"
    ),
    "change point": "diamond",
}
EVENT_LABELS = list(charts.EVENT_STYLE)
CONFIG = {
    "font": "Source Sans Pro, sans-serif",
    "view": {"stroke": None},
    "axis": {
        "gridColor": charts.GRID,
        "domain": False,
        "tickColor": charts.GRID,
        "labelColor": charts.MUTED,
        "labelFontSize": 11,
        "titleColor": charts.MUTED,
        "titleFontWeight": "normal",
    },
    "axisX": {"grid": False, "labelOverlap": True},
    "legend": {"labelColor": charts.TEXT, "labelFontSize": 12, "labelLimit": 320},
    "header": {"labelColor": charts.TEXT, "labelFontSize": 13, "labelAnchor": "start"},
}


def _colour() -> pl.Expr:
    """A series' colour, by its place in the series order (as on every chart)."""
    palette = dict(enumerate(charts.PALETTE))
    return (pl.col("order") % len(palette)).replace_strict(palette).alias("colour")


def _iso() -> list[pl.Expr]:
    """The period as an ISO date, twice: Vega parses ``period`` into a time for the x-axis,
    and the hover shows ``date`` as written."""
    day = pl.col("period").dt.strftime("%Y-%m-%d")
    return [day.alias("period"), day.alias("date")]


def _share_rows(shares: pl.DataFrame, raw: bool) -> list[dict]:
    """One row per drawn point: its share and interval, colour, open marker and hover text."""
    value, low, high = charts.COLUMNS[raw]
    small = pl.col("small_period").fill_null(False)
    zero = pl.col(low).fill_null(1.0) <= charts.ZERO
    estimate = charts.estimate_text(raw) if "kind" in shares.columns else pl.lit("")
    return (
        shares.drop_nulls(value)
        .sort("order", "period")
        .select(
            pl.lit("share").alias("layer"),
            pl.col("series").cast(pl.String),
            _colour(),
            pl.col("name"),
            *_iso(),
            pl.col(value).alias("share"),
            pl.col(low).alias("low"),
            pl.col(high).alias("high"),
            (small | zero).alias("open"),
            pl.format("{} of {}", "n", "n_period").alias("documents"),
            pl.concat_str(
                pl.when(small).then(pl.lit("small period")),
                pl.when(zero).then(pl.lit(charts.ZERO_NOTE)),
                separator="; ",
                ignore_nulls=True,
            ).alias("note"),
            estimate.alias("estimate"),
        )
        .to_dicts()
    )


def _event_rows(events: pl.DataFrame, shares: pl.DataFrame, raw: bool, kept: list[str]) -> list:
    """One row per headline change on a drawn series, at the share drawn."""
    if events.is_empty():
        return []
    return (
        charts.events_on_shown(events, shares, raw)
        .filter(pl.col("series").cast(pl.String).is_in(kept))
        .select(
            pl.lit("event").alias("layer"),
            pl.col("series").cast(pl.String),
            pl.col("name"),
            *_iso(),
            pl.col("share"),
            pl.col("event").alias("change"),
            pl.col("share_change"),
            pl.col("test_p"),
        )
        .to_dicts()
    )


MAX_TICKS = 6


def _x(periods: pl.Series) -> dict:
    """A UTC date axis with its ticks at the periods (at most ``MAX_TICKS``, evenly thinned),
    labelled by month, or by day for periods shorter than a month; a single period gets a
    month and a half either side."""
    scale: dict = {"type": "utc"}
    distinct = periods.drop_nulls().unique().sort()
    days = [datetime.combine(d, datetime.min.time(), tzinfo=UTC) for d in distinct.to_list()]
    step = max(1, -(-len(days) // MAX_TICKS))
    monthly = len(days) < 2 or min(b - a for a, b in pairwise(days)) >= timedelta(days=28)
    if len(days) == 1:
        scale["domain"] = [(days[0] + timedelta(days=n)).timestamp() * 1000 for n in (-45, 45)]
    return {
        "field": "period",
        "type": "temporal",
        "title": None,
        "scale": scale,
        "axis": {
            "format": "%Y-%m" if monthly else "%Y-%m-%d",
            "values": [
                {"year": d.year, "month": d.month, "date": d.day, "utc": True} for d in days[::step]
            ],
        },
    }


def _y(peak: float | None, title: str | None = None) -> dict:
    scale: dict = {"zero": True, "nice": peak is None}
    if peak is not None:
        scale["domain"] = [0, min(1.0, max(peak, 0.01) * 1.25)]
    return {
        "field": "share",
        "type": "quantitative",
        "title": title,
        "axis": {"format": ".0%", "tickCount": 4},
        "scale": scale,
    }


SHARE_TOOLTIP = [
    {"field": "name", "title": "series"},
    {"field": "date", "title": "period"},
    {"field": "share", "format": ".1%"},
    {"field": "low", "title": "95% from", "format": ".1%"},
    {"field": "high", "title": "95% to", "format": ".1%"},
    {"field": "documents"},
    {"field": "note"},
    {"field": "estimate"},
]
EVENT_TOOLTIP = [
    {"field": "change", "title": "headline change"},
    {"field": "name", "title": "series"},
    {"field": "date", "title": "period"},
    {"field": "share", "format": ".1%"},
    {"field": "share_change", "title": "change", "format": "+.1%"},
    {"field": "test_p", "title": "p", "format": ".3g"},
]


def _layers(x: dict, y: dict, stroke: dict, *, intervals: bool, events: bool) -> list[dict]:
    """A series' band, line, the headline changes as symbols, and on top its markers (open
    when small or not distinguishable from zero; the pickable layer)."""
    own = {"filter": "datum.layer === 'share'"}
    fill = {"field": "colour", "type": "nominal", "scale": None}
    layers = []
    if intervals:
        layers.append(
            {
                "transform": [own],
                "mark": {"type": "area", "opacity": 0.12, "clip": True},
                "encoding": {
                    "x": x,
                    "y": {**y, "field": "low"},
                    "y2": {"field": "high"},
                    "fill": fill,
                    "detail": {"field": "series"},
                },
            }
        )
    layers += [
        {
            "transform": [own],
            "mark": {"type": "line", "strokeWidth": 2, "clip": True},
            "encoding": {"x": x, "y": y, "stroke": stroke, "detail": {"field": "series"}},
        },
        {
            "name": "points",
            "transform": [own],
            "params": [
                {
                    "name": PICK,
                    "select": {"type": "point", "fields": ["series", "date"], "on": "click"},
                }
            ],
            "mark": {
                "type": "point",
                "size": 45,
                "strokeWidth": 1.5,
                "opacity": 1,
                "clip": True,
                "cursor": "pointer",
            },
            "encoding": {
                "x": x,
                "y": y,
                "stroke": stroke,
                "fill": {"condition": {"test": "datum.open", "value": "white"}, **fill},
                "tooltip": SHARE_TOOLTIP,
            },
        },
    ]
    if events:
        change = {"field": "change", "type": "nominal", "title": "Headline change"}
        layers.insert(  # under the points, which stay clickable
            -1,
            {
                "name": "changes",
                "transform": [{"filter": "datum.layer === 'event'"}],
                "mark": {"type": "point", "filled": True, "size": 130, "opacity": 1},
                "encoding": {
                    "x": x,
                    "y": y,
                    "shape": {
                        **change,
                        "scale": {"domain": EVENT_LABELS, "range": list(SHAPES.values())},
                        "legend": {"orient": "bottom"},
                    },
                    "color": {
                        **change,
                        "scale": {
                            "domain": EVENT_LABELS,
                            "range": [hue for _, hue, _ in charts.EVENT_STYLE.values()],
                        },
                        "legend": {"orient": "bottom"},
                    },
                    "tooltip": EVENT_TOOLTIP,
                },
            },
        )
    return layers


def _series(shares: pl.DataFrame) -> pl.DataFrame:
    """Each drawn series once, in the series order, with its colour."""
    return (
        shares.select("series", "name", "order")
        .unique("series", keep="first")
        .sort("order")
        .with_columns(pl.col("series").cast(pl.String), _colour())
    )


def _named_colours(series: pl.DataFrame) -> dict:
    """Colour by series name, with a legend under the chart (lines and stacked area)."""
    return {
        "field": "name",
        "type": "nominal",
        "title": None,
        "scale": {"domain": series["name"].to_list(), "range": series["colour"].to_list()},
        "legend": {"orient": "bottom", "columns": 2},
    }


def _peak(shares: pl.DataFrame, raw: bool) -> float:
    return float(shares[charts.COLUMNS[raw][0]].drop_nulls().max() or 0.01)


def share_panels(
    shares: pl.DataFrame,
    events: pl.DataFrame,
    *,
    intervals: bool = True,
    raw: bool = False,
) -> dict:
    """Small multiples, two to a row: one panel per series on a shared y-axis (scaled to the
    largest share; a wide band of a small period is clipped at the top), with its line, 95%
    band, open markers and headline changes. Panel titles are the names cut to
    ``charts.NAME_CHARS`` (the full name in the hover); no other text on the plot."""
    raw = raw and "share_raw" in shares.columns
    titles: dict[str, str] = {}
    for key, name in _series(shares).select("series", "name").rows():
        title = charts.short_name(str(name))
        while title in titles.values():  # two names cut alike stay two panels
            title += "\u2009"
        titles[key] = title
    rows = _share_rows(shares, raw) + _event_rows(events, shares, raw, list(titles))
    drawn = {row["series"] for row in rows}
    rows += [{"layer": "none", "series": key} for key in titles if key not in drawn]
    for row in rows:  # a series without any share in the view keeps its (empty) panel
        row["panel"] = titles[row["series"]]
    stroke = {"field": "colour", "type": "nominal", "scale": None}
    layers = _layers(
        _x(shares["period"]),
        _y(_peak(shares, raw)),
        stroke,
        intervals=intervals,
        events=any(row["layer"] == "event" for row in rows),
    )
    return {
        "data": {"values": rows},
        "facet": {
            "field": "panel",
            "type": "nominal",
            "sort": list(titles.values()),
            "title": None,
        },
        "columns": charts.PANEL_COLUMNS,
        "spacing": {"row": 24, "column": 28},
        "spec": {"width": PANEL_WIDTH, "height": PANEL_HEIGHT, "layer": layers},
        "resolve": {"axis": {"x": "independent"}},
        "config": CONFIG,
    }


def share_lines(
    shares: pl.DataFrame,
    events: pl.DataFrame,
    *,
    intervals: bool = True,
    raw: bool = False,
) -> dict:
    """One line per series in one chart (the legend names them), its band and open markers,
    and the headline changes as symbols."""
    raw = raw and "share_raw" in shares.columns
    series = _series(shares)
    rows = _share_rows(shares, raw) + _event_rows(events, shares, raw, series["series"].to_list())
    return {
        "data": {"values": rows},
        "height": LINES_HEIGHT,
        "layer": _layers(
            _x(shares["period"]),
            _y(None, "share"),
            _named_colours(series),
            intervals=intervals,
            events=any(row["layer"] == "event" for row in rows),
        ),
        "config": CONFIG,
    }


def stacked_area(shares: pl.DataFrame, *, raw: bool = False) -> dict:
    """Shares stacked per period (a document carrying two series counts in both); a click on
    an area picks its series (all periods)."""
    raw = raw and "share_raw" in shares.columns
    series = _series(shares)
    filled = shares.with_columns(pl.col(charts.COLUMNS[raw][0]).fill_null(0.0))
    return {
        "data": {"values": _share_rows(filled, raw)},
        "height": LINES_HEIGHT,
        "params": [
            {"name": PICK, "select": {"type": "point", "fields": ["series"], "on": "click"}}
        ],
        "mark": {"type": "area", "opacity": 0.85, "cursor": "pointer"},
        "encoding": {
            "x": _x(shares["period"]),
            "y": {**_y(None, "share"), "stack": "zero"},
            "color": {**_named_colours(series), "sort": series["name"].to_list()},
            "tooltip": SHARE_TOOLTIP[:3],
        },
        "config": CONFIG,
    }
