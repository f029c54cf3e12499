"""Plotly figures of the dashboard, built from the frames of ``narratives_dashboard.data``; no
Streamlit here.

Each series (a catalogued narrative or a discovered topic) keeps one colour on every chart (by its
place in the series order), intervals are drawn as bands, small periods as open markers, and the
headline changes as symbols on the lines.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl
from plotly.colors import qualitative

PALETTE = qualitative.Dark24 + qualitative.Light24
EVENT_STYLE = {
    "emerging": ("triangle-up", "#1a9850", "▲ emerging"),
    "fading": ("triangle-down", "#d73027", "▼ fading"),
    "new": ("star", "#1a9850", "★ new"),
    "gone": ("x", "#d73027", "✕ gone"),
    "change point": ("diamond", "#4d4d4d", "◆ change point"),
}
LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
    "hovermode": "closest",
}


def plain(text: object) -> str:
    """Corpus text (a topic's keywords, an outlet's name) as Plotly shows it literally: Plotly
    reads a subset of HTML in names, labels and annotations (links included), so ``&``, ``<`` and
    ``>`` become entities."""
    return html.escape("" if text is None else str(text), quote=False)


def _plain_all(values: list) -> list[str]:
    return [plain(v) for v in values]


def colour(order: int) -> str:
    """The colour of the series at this place in the series order."""
    return PALETTE[order % len(PALETTE)]


def _rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _date_axis(periods: pl.Series) -> dict:
    """A date x-axis; a single period gets a month either side instead of a zoom into
    fractions of a second."""
    axis: dict = {"type": "date"}
    distinct = periods.drop_nulls().unique()
    if distinct.len() == 1:
        only = distinct[0]
        axis["range"] = [only - timedelta(days=45), only + timedelta(days=45)]
    return axis


def chart_config(filename: str) -> dict:
    """Plotly's toolbar with a PNG download named after the view."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def share_lines(
    shares: pl.DataFrame, events: pl.DataFrame, *, intervals: bool = True, title: str = ""
) -> go.Figure:
    """One line per series through its observed periods (empty periods have no share), its 95%
    interval as a band, and the headline changes marked."""
    figure = go.Figure()
    for (series, name, order), group in shares.group_by(
        "series", "name", "order", maintain_order=True
    ):
        group = group.drop_nulls("share").sort("period")
        base = colour(order)

        if intervals:
            figure.add_trace(
                go.Scatter(
                    x=group["period"].to_list() + group["period"].reverse().to_list(),
                    y=group["ci_high"].to_list() + group["ci_low"].reverse().to_list(),
                    fill="toself",
                    fillcolor=_rgba(base, 0.10),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(series),
                    name=f"{plain(name)} 95% interval",
                )
            )
        small = group["small_period"].fill_null(False).to_list()
        figure.add_trace(
            go.Scatter(
                x=group["period"].to_list(),
                y=group["share"].to_list(),
                mode="lines+markers",
                name=plain(name),
                legendgroup=str(series),
                line={"color": base, "width": 2},
                marker={
                    "color": ["white" if s else base for s in small],
                    "line": {"color": base, "width": 1.5},
                    "size": 7,
                },
                customdata=group.select(
                    "series",
                    "ci_low",
                    "ci_high",
                    "n",
                    "n_period",
                    pl.when(pl.col("small_period"))
                    .then(pl.lit(" (small period)"))
                    .otherwise(pl.lit("")),
                ).rows(),
                hovertemplate=(
                    "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d}: %{y:.1%}"
                    " (95% CI %{customdata[1]:.1%}-%{customdata[2]:.1%})<br>"
                    "%{customdata[3]} of %{customdata[4]}%{customdata[5]}<extra></extra>"
                ),
            )
        )
    _mark_events(figure, events)
    figure.update_layout(
        title=title,
        xaxis=_date_axis(shares["period"]),
        yaxis={"tickformat": ".0%", "title": "share", "rangemode": "tozero"},
        **LAYOUT,
    )
    return figure


def _mark_events(figure: go.Figure, events: pl.DataFrame, labelled: int = 6) -> None:
    if events.is_empty():
        return
    for event, (symbol, hue, text) in EVENT_STYLE.items():
        rows = events.filter(pl.col("event") == event)
        if rows.is_empty():
            continue
        figure.add_trace(
            go.Scatter(
                x=rows["period"].to_list(),
                y=rows["share"].to_list(),
                mode="markers",
                name=text,
                marker={"symbol": symbol, "size": 13, "color": hue, "line": {"width": 1}},
                customdata=rows.select(
                    pl.col("name")
                    .str.replace_all("&", "&amp;", literal=True)
                    .str.replace_all("<", "&lt;", literal=True)
                    .str.replace_all(">", "&gt;", literal=True),
                    "share_change",
                    pl.col("test_p").fill_null(float("nan")),
                ).rows(),
                hovertemplate=(
                    f"<b>{text}</b><br>%{{customdata[0]}}<br>%{{x|%Y-%m-%d}}: %{{y:.1%}}"
                    " (change %{customdata[1]:+.1%}, p %{customdata[2]:.3g})"
                    "<extra></extra>"
                ),
            )
        )
    largest = events.sort(pl.col("share_change").abs(), descending=True, nulls_last=True)
    for row in largest.head(labelled).iter_rows(named=True):
        if row["share"] is None:
            continue
        figure.add_annotation(
            x=row["period"],
            y=row["share"],
            text=f"{EVENT_STYLE[row['event']][2]}: {plain(row['name'][:28])}",
            showarrow=True,
            arrowhead=0,
            ax=0,
            ay=-28,
            font={"size": 10},
            bgcolor="rgba(255,255,255,0.75)",
        )


def stacked_area(shares: pl.DataFrame, *, title: str = "") -> go.Figure:
    """Shares stacked per period (a document carrying two series counts in both)."""
    figure = go.Figure()
    for (_, name, order), group in shares.group_by("series", "name", "order", maintain_order=True):
        group = group.sort("period")
        figure.add_trace(
            go.Scatter(
                x=group["period"].to_list(),
                y=group["share"].fill_null(0).to_list(),
                name=plain(name),
                stackgroup="shares",
                line={"color": colour(order), "width": 0.5},
                hovertemplate="<b>%{fullData.name}</b><br>%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>",
            )
        )
    figure.update_layout(
        title=title,
        xaxis=_date_axis(shares["period"]),
        yaxis={"tickformat": ".0%", "title": "share"},
        **LAYOUT,
    )
    return figure


def share_bars(shares: pl.DataFrame, *, title: str = "") -> go.Figure:
    """Horizontal bars of each series' share of documents (runs whose documents have no dates)."""
    ordered = shares.sort("share")
    figure = go.Figure(
        go.Bar(
            x=ordered["share"].to_list(),
            y=_plain_all(ordered["name"].to_list()),
            orientation="h",
            marker={"color": [colour(o) for o in ordered["order"]]},
            customdata=ordered.select("n", "n_docs").rows(),
            hovertemplate="%{y}: %{x:.1%} (%{customdata[0]} of %{customdata[1]})<extra></extra>",
        )
    )
    figure.update_layout(title=title, xaxis={"tickformat": ".0%"}, **LAYOUT)
    return figure


def outlet_lines(shares: pl.DataFrame, *, title: str = "") -> go.Figure:
    """One series' share over time, one line per outlet ("*" drawn thick as all outlets)."""
    figure = go.Figure()
    for index, ((source,), group) in enumerate(shares.group_by("source", maintain_order=True)):
        group = group.drop_nulls("share").sort("period")
        everyone = source == "*"
        figure.add_trace(
            go.Scatter(
                x=group["period"].to_list(),
                y=group["share"].to_list(),
                mode="lines+markers",
                name="All outlets" if everyone else plain(source),
                line={"width": 4 if everyone else 1.8, "color": "#222" if everyone else None},
                marker={"color": PALETTE[index % len(PALETTE)]} if not everyone else {},
                customdata=group.select("n_docs", "n_period_docs").rows(),
                hovertemplate=(
                    "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d}: %{y:.1%}"
                    " (%{customdata[0]} of %{customdata[1]})<extra></extra>"
                ),
            )
        )
    figure.update_layout(
        title=title,
        xaxis=_date_axis(shares["period"]),
        yaxis={"tickformat": ".0%", "title": "share"},
        **LAYOUT,
    )
    return figure


def outlet_heatmap(cells: pl.DataFrame, value: str, *, title: str = "") -> go.Figure:
    """Outlet x series heatmap of shares (``value="share"``) or of over/under-representation
    (``value="lift"``, log2 scale around 1, significant cells marked + or -)."""
    names = cells.select("name", "order").unique().sort("order")["name"].to_list()
    sources = sorted(cells["source"].unique().to_list())
    grid = {(r["source"], r["name"]): r for r in cells.iter_rows(named=True)}
    z, text, custom = [], [], []
    for source in sources:
        z_row, text_row, custom_row = [], [], []
        for name in names:
            row = grid.get((source, name))
            if row is None:
                z_row.append(None)
                text_row.append("")
                custom_row.append(("", None, None, None, ""))
                continue
            if value == "lift":
                lift = row["lift"]
                z_row.append(math.log2(lift) if lift and lift > 0 else None)
                mark = {"over": "+", "under": "−"}.get(row["representation"], "")
                text_row.append(f"{lift:.2f}{mark}" if lift is not None else "")
            else:
                z_row.append(row["share"])
                text_row.append(f"{row['share']:.0%}" if row["share"] is not None else "")
            custom_row.append(
                (
                    row["representation"],
                    row["share"],
                    row["share_others"],
                    row["p_adjusted"],
                    f"{row['n_docs']} of {row['n_source_docs']}",
                )
            )
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    lift_scale = value == "lift"
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=_plain_all(names),
            y=_plain_all(sources),
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            colorscale="RdBu_r" if lift_scale else "Blues",
            zmid=0 if lift_scale else None,
            colorbar={"title": "log2 lift" if lift_scale else "share"},
            hovertemplate=(
                "<b>%{y}</b> · %{x}<br>share %{customdata[1]:.1%} vs others %{customdata[2]:.1%}"
                "<br>%{customdata[0]} (adjusted p %{customdata[3]:.3g}; %{customdata[4]})"
                "<extra></extra>"
            ),
        )
    )
    figure.update_layout(title=title, xaxis={"tickangle": -35}, **LAYOUT)
    return figure


def keyword_heatmap(
    presence: pl.DataFrame, period_label: Callable[[date], str] = str, *, title: str = ""
) -> go.Figure:
    """Which keywords a series had in which period (darker = higher in that period's list)."""
    keywords = presence.group_by("keyword").agg(pl.col("rank").mean()).sort("rank")["keyword"]
    periods = presence["period"].unique().sort().to_list()
    grid = {(r["keyword"], r["period"]): r["rank"] for r in presence.iter_rows(named=True)}
    labels = [period_label(p) for p in periods]
    z = [[grid.get((k, p)) for p in periods] for k in keywords]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=_plain_all(keywords.to_list()),
            colorscale="Purples_r",
            colorbar={"title": "rank"},
            hovertemplate="%{y} in %{x}: rank %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title, yaxis={"autorange": "reversed"}, xaxis={"type": "category"}, **LAYOUT
    )
    return figure


def compare_bars(table: pl.DataFrame, left: str, right: str, *, title: str = "") -> go.Figure:
    """Two shares per series side by side (a comparison of two periods or two runs)."""
    ordered = table.sort("name")
    labels = _plain_all(ordered["name"].to_list())
    figure = go.Figure(
        [
            go.Bar(name=plain(left), x=labels, y=ordered["share_a"].to_list()),
            go.Bar(name=plain(right), x=labels, y=ordered["share_b"].to_list()),
        ]
    )
    figure.update_layout(
        title=title,
        barmode="group",
        yaxis={"tickformat": ".0%"},
        xaxis={"tickangle": -35},
        **{**LAYOUT, "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0}},
    )
    return figure


def mix_bar(mix: pl.DataFrame, *, title: str = "") -> go.Figure:
    """One article's topic mix as a single stacked bar."""
    figure = go.Figure(
        [
            go.Bar(
                x=[row["share"]],
                y=["mix"],
                orientation="h",
                name=plain(row["name"]),
                marker={"color": colour(row["order"])},
                hovertemplate="%{fullData.name}: %{x:.0%}<extra></extra>",
            )
            for row in mix.iter_rows(named=True)
        ]
    )
    figure.update_layout(
        title=title,
        barmode="stack",
        height=180,
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={"visible": False},
        **LAYOUT,
    )
    return figure
