"""Plotly figures of the dashboard, built from the frames of ``narratives_dashboard.data``; no
Streamlit here.

Each series (a catalogued narrative or a discovered topic) keeps one colour on every chart (by its
place in the series order), intervals are drawn as bands, small periods and shares whose interval
includes 0 as open markers, and the headline changes as symbols on the lines. A narrative's line
is its corrected share unless ``raw`` asks for the counted one (share_raw).
"""

from __future__ import annotations

import html
import math
from datetime import timedelta

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
TEXT, MUTED, GRID = "#31333F", "#808495", "#e6eaf1"
TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": '"Source Sans", "Source Sans Pro", sans-serif', "color": TEXT},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "colorway": PALETTE,
        "xaxis": {"showgrid": False, "zeroline": False},
        "yaxis": {"gridcolor": GRID, "zeroline": False},
        "hoverlabel": {"bgcolor": "white", "bordercolor": GRID, "font": {"color": TEXT}},
        "annotationdefaults": {"font": {"color": MUTED}},
    }
)
"""The dashboard's look (Streamlit's light theme: its font, muted titles, horizontal grid only),
drawn as is (``theme=None``): Streamlit's own chart theme is merged into every figure in the
browser, which costs the first chart 0.4 s."""
LAYOUT = {
    "margin": {"l": 48, "r": 10, "t": 40, "b": 10},
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
    "hovermode": "closest",
    "template": TEMPLATE,
}
"""Charts over time: percent ticks fit a fixed margin (Plotly's automargin measures every tick
label and lays the chart out again: it doubles the first draw of the Overview's panels)."""
CATEGORY_LAYOUT = {**LAYOUT, "margin": {"l": 10, "r": 10, "t": 40, "b": 10}}
"""Charts with names on an axis (narratives, outlets, topics): that axis has automargin, so
the margin follows the names."""


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


ZERO = 1e-9  # an interval whose lower end is at most this includes 0 (an open marker)
ZERO_NOTE = "not distinguishable from zero"
COLUMNS = {False: ("share", "ci_low", "ci_high"), True: ("share_raw", "ci_low_raw", "ci_high_raw")}
"""The share and interval columns a chart draws: corrected (``raw`` False) or counted."""


def share_lines(
    shares: pl.DataFrame,
    events: pl.DataFrame,
    *,
    intervals: bool = True,
    raw: bool = False,
    title: str = "",
) -> go.Figure:
    """One line per series through its observed periods (empty periods have no share), its 95%
    interval as a band, and the headline changes marked. ``raw``: the counted shares
    (share_raw, Wilson intervals) instead of the corrected ones. A point of a small period, or
    whose interval includes 0 (not distinguishable from zero), is an open marker."""
    raw = raw and "share_raw" in shares.columns
    value, low, high = COLUMNS[raw]
    figure = go.Figure()
    for (series, name, order), group in shares.group_by(
        "series", "name", "order", maintain_order=True
    ):
        group = group.drop_nulls(value).sort("period")
        base = colour(order)
        if intervals:
            figure.add_trace(_band(group, low, high, base, str(series), name))
        figure.add_trace(_line(group, base, (str(series), name), raw=raw))
    _mark_events(figure, events_on_shown(events, shares, raw))
    figure.update_layout(
        title=title,
        xaxis=_date_axis(shares["period"]),
        yaxis={"tickformat": ".0%", "title": "share", "rangemode": "tozero"},
        **LAYOUT,
    )
    return figure


def events_on_shown(events: pl.DataFrame, shares: pl.DataFrame, raw: bool) -> pl.DataFrame:
    """The headline changes placed on the line drawn (the counted share when ``raw``)."""
    if not raw or events.is_empty():
        return events
    shown = shares.select("period", "series", pl.col("share_raw").alias("_shown"))
    return (
        events.join(shown, on=["period", "series"], how="left")
        .with_columns(pl.coalesce("_shown", "share").alias("share"))
        .drop("_shown")
    )


PANEL_COLUMNS = 2
PANEL_HEIGHT = 210
NAME_CHARS = 38


def short_name(name: str, limit: int = NAME_CHARS) -> str:
    """A series name cut to ``limit`` characters with an ellipsis (the full name stays in the
    hover and the tables)."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def share_panels(
    shares: pl.DataFrame,
    events: pl.DataFrame,
    *,
    intervals: bool = True,
    raw: bool = False,
    title: str = "",
) -> go.Figure:
    """Small multiples: one panel per series on a shared y-axis (so shares compare across
    panels; scaled to the largest share, a wide band of a small period runs off the top), its
    line, its 95% band and its headline changes as symbols; no text on the plot but the panel
    titles, which sit in a grid and never overlap (the changes are listed in the table under
    the chart)."""
    from plotly.subplots import make_subplots

    raw = raw and "share_raw" in shares.columns
    value, low, high = COLUMNS[raw]
    groups = list(shares.group_by("series", "name", "order", maintain_order=True))
    rows = max(1, math.ceil(len(groups) / PANEL_COLUMNS))
    titles = [plain(short_name(str(name))) for (_, name, _), _ in groups]
    figure = make_subplots(
        rows=rows,
        cols=PANEL_COLUMNS,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=titles,
        vertical_spacing=min(0.3 / rows, 0.12),
        horizontal_spacing=0.05,
    )
    events = events_on_shown(events, shares, raw)
    for k, ((series, name, order), group) in enumerate(groups):
        row, col = divmod(k, PANEL_COLUMNS)
        group = group.drop_nulls(value).sort("period")
        base = colour(order)
        where = {"row": row + 1, "col": col + 1}
        if intervals:
            figure.add_trace(_band(group, low, high, base, str(series), name), **where)
        line = _line(group, base, (str(series), name), raw=raw)
        line.showlegend = False
        figure.add_trace(line, **where)
        own = events.filter(pl.col("series") == series) if not events.is_empty() else events
        for trace in _event_traces(own, legend=k == 0):
            figure.add_trace(trace, **where)
    peak = shares[value].drop_nulls().max() or 0.01
    figure.update_yaxes(tickformat=".0%", range=[0, min(1.0, float(peak) * 1.25)])
    figure.update_xaxes(**{k: v for k, v in _date_axis(shares["period"]).items() if k != "type"})
    figure.update_annotations(font={"size": 12})
    figure.update_layout(
        title=title,
        height=max(320, PANEL_HEIGHT * rows + 80),
        showlegend=True,
        **LAYOUT,
    )
    return figure


def _band(
    group: pl.DataFrame, low: str, high: str, base: str, series: str, name: str
) -> go.Scatter:
    """A series' 95% interval as a filled band (no hover, no legend entry)."""
    return go.Scatter(
        x=group["period"].to_list() + group["period"].reverse().to_list(),
        y=group[high].to_list() + group[low].reverse().to_list(),
        fill="toself",
        fillcolor=_rgba(base, 0.10),
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        legendgroup=series,
        name=f"{plain(name)} 95% interval",
    )


def estimate_text(raw: bool) -> pl.Expr:
    """How a point's share was estimated, for its hover."""
    if raw:
        return pl.lit("counted tags")
    return (
        pl.when(pl.col("kind") != "narrative")
        .then(pl.lit("counted"))
        .when(pl.col("method").is_null() | (pl.col("method") == "cc"))
        .then(pl.lit("counted (too few labelled items to correct)"))
        .otherwise(pl.format("corrected for the detector's errors ({})", "method"))
    )


def _line(group: pl.DataFrame, base: str, key: tuple[str, str], *, raw: bool) -> go.Scatter:
    """A series' line (``key``: series and name) with a marker per period: open for a small
    period or a share whose interval includes 0, and a hover that says so."""
    (value, low, high), (series, name) = COLUMNS[raw], key
    small = pl.col("small_period").fill_null(False)
    zero = pl.col(low).fill_null(1.0) <= ZERO
    group = group.with_columns(
        (small | zero).alias("_open"),
        pl.concat_str(
            pl.when(small).then(pl.lit(" (small period)")).otherwise(pl.lit("")),
            pl.when(zero).then(pl.lit(f"<br>{ZERO_NOTE}")).otherwise(pl.lit("")),
        ).alias("_note"),
        (estimate_text(raw) if "kind" in group.columns else pl.lit("")).alias("_estimate"),
    )
    return go.Scatter(
        x=group["period"].to_list(),
        y=group[value].to_list(),
        mode="lines+markers",
        name=plain(name),
        legendgroup=series,
        line={"color": base, "width": 2},
        marker={
            "color": ["white" if s else base for s in group["_open"].to_list()],
            "line": {"color": base, "width": 1.5},
            "size": 7,
        },
        customdata=group.select("series", low, high, "n", "n_period", "_note", "_estimate").rows(),
        hovertemplate=(
            "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d}: %{y:.1%}"
            " (95% CI %{customdata[1]:.1%}-%{customdata[2]:.1%})<br>"
            "%{customdata[3]} of %{customdata[4]}%{customdata[5]}<br>"
            "%{customdata[6]}<extra></extra>"
        ),
    )


def _event_traces(events: pl.DataFrame, *, legend: bool = True) -> list[go.Scatter]:
    """One marker trace per kind of headline change (no text on the plot)."""
    traces = []
    if events.is_empty():
        return traces
    for event, (symbol, hue, text) in EVENT_STYLE.items():
        rows = events.filter(pl.col("event") == event)
        if rows.is_empty():
            continue
        traces.append(
            go.Scatter(
                x=rows["period"].to_list(),
                y=rows["share"].to_list(),
                mode="markers",
                name=text,
                legendgroup=f"event:{event}",
                showlegend=legend,
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
    return traces


def _mark_events(figure: go.Figure, events: pl.DataFrame) -> None:
    """The headline changes as symbols on a one-panel chart; their text is in the table under
    the chart, never on the plot, where labels of nearby changes would overlap."""
    for trace in _event_traces(events):
        figure.add_trace(trace)


def stacked_area(shares: pl.DataFrame, *, raw: bool = False, title: str = "") -> go.Figure:
    """Shares stacked per period (a document carrying two series counts in both); ``raw``: the
    counted shares instead of the corrected ones."""
    value = COLUMNS[raw and "share_raw" in shares.columns][0]
    figure = go.Figure()
    for (_, name, order), group in shares.group_by("series", "name", "order", maintain_order=True):
        group = group.sort("period")
        figure.add_trace(
            go.Scatter(
                x=group["period"].to_list(),
                y=group[value].fill_null(0).to_list(),
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
    figure.update_layout(
        title=title,
        xaxis={"tickformat": ".0%"},
        yaxis={"automargin": True},
        **CATEGORY_LAYOUT,
    )
    return figure


def outlet_lines(shares: pl.DataFrame, *, raw: bool = False, title: str = "") -> go.Figure:
    """One series' share over time, one line per outlet ("*" drawn thick as all outlets);
    ``raw``: the counted shares instead of the corrected ones."""
    value, low, high = COLUMNS[raw and "share_raw" in shares.columns]
    figure = go.Figure()
    for index, ((source,), group) in enumerate(shares.group_by("source", maintain_order=True)):
        group = group.drop_nulls(value).sort("period")
        everyone = source == "*"
        figure.add_trace(
            go.Scatter(
                x=group["period"].to_list(),
                y=group[value].to_list(),
                mode="lines+markers",
                name="All outlets" if everyone else plain(source),
                line={"width": 4 if everyone else 1.8, "color": "#222" if everyone else None},
                marker={"color": PALETTE[index % len(PALETTE)]} if not everyone else {},
                customdata=group.select(
                    "n_docs",
                    "n_period_docs",
                    low,
                    high,
                    pl.when(pl.col(low).fill_null(1.0) <= ZERO)
                    .then(pl.lit(f"<br>{ZERO_NOTE}"))
                    .otherwise(pl.lit("")),
                ).rows(),
                hovertemplate=(
                    "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d}: %{y:.1%}"
                    " (95% CI %{customdata[2]:.1%}-%{customdata[3]:.1%};"
                    " %{customdata[0]} of %{customdata[1]})%{customdata[4]}<extra></extra>"
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
    """Series x outlet heatmap of shares (``value="share"``) or of over/under-representation
    (``value="lift"``, log2 scale around 1, significant cells marked + or -): one row per
    narrative (its name shortened, in full on hover) in series order, one column per outlet;
    for the lift, the outlets with the strongest lift come first."""
    names = cells.select("name", "order").unique().sort("order")["name"].to_list()
    sources = sorted(cells["source"].unique().to_list())
    if value == "lift":
        strength = cells.group_by("source").agg(
            pl.col("lift").fill_null(1.0).clip(1e-3, None).log(2).abs().max().alias("_s")
        )
        sources = strength.sort(["_s", "source"], descending=[True, False])["source"].to_list()
    grid = {(r["source"], r["name"]): r for r in cells.iter_rows(named=True)}
    z, text, custom = [], [], []
    for name in names:
        z_row, text_row, custom_row = [], [], []
        for source in sources:
            cell = _heatmap_cell(grid.get((source, name)), value)
            for target, item in zip((z_row, text_row, custom_row), cell, strict=True):
                target.append(item)
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    lift_scale = value == "lift"
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=_plain_all(sources),
            y=_plain_all(names),
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            colorscale="RdBu_r" if lift_scale else "Blues",
            zmid=0 if lift_scale else None,
            colorbar={"title": "log2 lift" if lift_scale else "share"},
            hovertemplate=(
                "<b>%{x}</b> · %{y}<br>share %{customdata[1]:.1%} vs others %{customdata[2]:.1%}"
                "<br>%{customdata[0]} (adjusted p %{customdata[3]:.3g}; %{customdata[4]})"
                "<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"tickangle": -40, "automargin": True},
        yaxis={
            "autorange": "reversed",
            "tickvals": _plain_all(names),
            "ticktext": [plain(short_name(n, 32)) for n in names],
            "automargin": True,
        },
        height=max(360, 34 * len(names) + 200),
        **CATEGORY_LAYOUT,
    )
    return figure


def _heatmap_cell(row: dict | None, value: str) -> tuple:
    """(z, text, hover data) of one heatmap cell."""
    if row is None:
        return None, "", ("", None, None, None, "")
    hover = (
        row["representation"],
        row["share"],
        row["share_others"],
        row["p_adjusted"],
        f"{row['n_docs']} of {row['n_source_docs']}",
    )
    if value == "lift":
        lift = row["lift"]
        mark = {"over": "+", "under": "−"}.get(row["representation"], "")
        z = math.log2(lift) if lift and lift > 0 else None
        return z, (f"{lift:.2f}{mark}" if lift is not None else ""), hover
    return row["share"], _percent(row["share"]), hover


def _percent(share: float | None) -> str:
    """A cell's share: one decimal below 10% (where the narratives' shares mostly are)."""
    if share is None:
        return ""
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


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
        xaxis={"tickangle": -35, "automargin": True},
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
        **CATEGORY_LAYOUT,
    )
    return figure
