"""Overview: every catalogued narrative's share over time (discovered topics on request), the
headline changes on the chart, and the articles behind any point."""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
import streamlit as st
from narratives_dashboard import charts, data, state, vegalite
from narratives_dashboard.figures import AREA, LINES, MAX_LINES, PANELS, STYLES
from narratives_dashboard.text import escape_markdown, markdown_table

from narratives.drift import ALL_SOURCES

ALL_OUTLETS = "All outlets"
MAX_CHANGE_ROWS = 40
"""The largest headline changes listed as a plain table; every one, in a data grid, on request
(the grid's script would load before the first chart draws)."""

card = state.query("run_card")
names = state.query("series_names")
all_periods = state.query("periods")
label = lambda value: state.period_label(value, card.period)  # noqa: E731


def estimate_note(frame: pl.DataFrame, unit: str, raw: bool) -> str:
    """How the shares on the chart were estimated, and which narratives are counted because too
    few labelled items back a correction."""
    narratives = frame.filter(pl.col("kind") == "narrative")
    if narratives.is_empty():
        return "Topic shares are counted (Wilson 95% intervals)."
    if unit != "documents":
        return "Passage shares are counted tags (Wilson 95% intervals)."
    if raw:
        return (
            "Counted tags (raw): the share of documents tagged, with Wilson 95% intervals. The "
            "headline changes are tested on the corrected shares."
        )
    note = (
        "Narrative shares are corrected for the detector's measured errors (95% bootstrap "
        "intervals over documents and labelled items); topics are counted."
    )
    counted = narratives.filter(pl.col("method") == "cc")["name"].unique(maintain_order=True)
    if counted.len():
        note += " Counted, as too few labelled items back a correction: " + ", ".join(
            escape_markdown(name) for name in counted
        )
        note += "."
    return note


def change_table(changes: pl.DataFrame) -> str:
    """The headline changes as a Markdown table (a few rows need no data grid, whose script the
    browser would fetch before it draws the chart)."""
    rows = changes.select(
        "period", "name", "event", "share", "share_change", "test_p", "n_docs", "small_period"
    ).rows()
    return markdown_table(
        ("period", "narrative", "event", "share", "change", "p", "documents", "small period"),
        rows,
        (
            label,
            None,
            None,
            lambda v: f"{v:.1%}",
            lambda v: f"{v:+.1%}",
            lambda v: f"{v:.3g}",
            None,
            lambda v: "yes" if v else "",
        ),
    )


st.title("How the narratives drift")
show_topics = state.topics_toggle(card, "overview_topics")
options = state.series_options(names, state.shown_kinds(show_topics))

if not all_periods:
    st.info(
        "This run's documents carry no dates, so there is no drift over time to show: below is "
        "each narrative's share of all documents. Add a `date` column to the corpus and retrain "
        "to see drift.",
        icon="🗓️",
    )
    overall = state.query("overall_shares", series=list(options))
    figure = charts.share_bars(overall, title="Share of documents carrying each narrative")
    state.plot(figure, key="overview_chart", config=charts.chart_config("narrative-shares"))
    st.caption(f"Showing: {ALL_OUTLETS} · documents · no dates")
    state.downloads(overall.drop("order"), "narrative-shares", figure)
    st.stop()

left, right = st.columns([2, 2.3])
outlet = left.selectbox(
    "Outlet",
    [ALL_OUTLETS, *state.query("view_sources")],
    help="Shares among this outlet's documents only.",
)
chart_options = right.expander("Chart options: unit, style, intervals, corrected or counted")
unit = chart_options.radio(
    "Unit",
    list(data.UNITS),
    horizontal=True,
    help="documents: share of articles carrying the narrative (an article carries it when one "
    "of its passages does, and counts once per narrative it carries); passages: share of all "
    "passages.",
)
style = chart_options.radio(
    "Chart",
    list(STYLES),
    help="One panel per narrative on a shared scale reads best with many series; the headline "
    "changes are marked on the lines and listed under the chart.",
)
intervals = chart_options.toggle("Show 95% intervals", value=True, disabled=style == AREA)
raw = state.raw_toggle(card, "overview_raw", counted_only=unit != "documents", where=chart_options)
defaults = state.overview_defaults(names, all_periods, topics=show_topics)
chosen = st.multiselect(
    "Narratives",
    list(options),
    default=defaults["series"],
    format_func=options.get,
    help='The catalogued narratives; with "Show discovered topics", the largest discovered '
    "topics too.",
)
if len(all_periods) > 1:
    start, end = st.select_slider(
        "Periods",
        options=all_periods,
        value=(defaults["start"], defaults["end"]),
        format_func=label,
    )
else:
    start = end = all_periods[0]
source = ALL_SOURCES if outlet == ALL_OUTLETS else outlet

frame = state.query("shares", unit=unit, source=source, series=chosen, start=start, end=end)
changes = state.query("events", source=source, series=chosen, start=start, end=end)
if not chosen:
    st.info("Pick at least one narrative above.")
    st.stop()
if style == LINES and len(chosen) > MAX_LINES:
    st.caption(
        f"Showing the first {MAX_LINES} of {len(chosen)} series as lines; pick fewer, or "
        f"'{PANELS}' for all."
    )
view = {
    "style": style,
    "unit": unit,
    "source": source,
    "series": chosen,
    "start": start,
    "end": end,
    "intervals": intervals,
    "raw": raw,
}
picked = state.vega(
    state.figure("overview_chart", **view),
    key="overview_chart",
    on_select="rerun",
    selection_mode=vegalite.PICK,
)
st.caption(
    f"Showing: {escape_markdown(outlet)} · {unit} · {label(start)} to {label(end)}. "
    f"Open markers: small periods (few documents, wide intervals) and shares whose 95% "
    f"interval includes 0 ({charts.ZERO_NOTE}). Click a point to list the articles behind it."
)
st.caption(estimate_note(frame, unit, raw))
state.downloads(
    frame.drop("order"),
    "narrative-shares",
    functools.partial(state.figure_run, state.current_key(), "overview_figure", **view),
    image_note="PNG: the download button in the chart's toolbar.",
)

points = picked.selection.get(vegalite.PICK) if picked is not None and picked.selection else None
for point in points or []:
    if point.get("series") in options:
        state.focus(point["series"], point.get("date"))
        break

st.subheader("Headline changes")
if changes.is_empty():
    st.write("No significant change in this view: every share is within what chance explains.")
elif changes.height > MAX_CHANGE_ROWS and st.toggle(
    f"List all {changes.height} changes"
    if changes.height < data.EVENT_LIMIT
    else f"List the {data.EVENT_LIMIT} largest changes",
    key="overview_all_changes",
):
    state.show_table(
        changes.select(
            state.period_text(card.period),
            pl.col("name").alias("narrative"),
            "event",
            "share",
            "share_change",
            "test_p",
            "n_docs",
            "small_period",
        ),
    )
else:
    largest = changes.sort(pl.col("share_change").abs(), descending=True, nulls_last=True)
    if changes.height > MAX_CHANGE_ROWS:
        st.caption(f"The {MAX_CHANGE_ROWS} largest changes, largest first.")
    st.markdown(change_table(largest.head(MAX_CHANGE_ROWS)))

st.subheader("Articles behind the chart")
focus_series = st.session_state.get(state.FOCUS_SERIES)
shown = chosen or list(options)
shown_periods = [None, *(p for p in all_periods if start <= p <= end)]
focus_period = str(st.session_state.get(state.FOCUS_PERIOD) or "")[:10]
period_index = next((i for i, p in enumerate(shown_periods) if str(p) == focus_period), 0)
col_series, col_period = st.columns(2)
series = col_series.selectbox(
    "Narrative of the articles",
    shown,
    index=shown.index(focus_series) if focus_series in shown else None,
    format_func=options.get,
    placeholder="Click a point on the chart, or pick a narrative",
)
period = col_period.selectbox(
    "Period of the articles",
    shown_periods,
    index=period_index,
    format_func=lambda p: "all periods" if p is None else label(p),
)
if series is not None:
    found = state.query("articles", series=series, period=period, source=source)
    where = "all periods" if period is None else label(period)
    st.caption(
        escape_markdown(f"{found.height} articles in {where} carry {options[series]} ({outlet}).")
    )
    state.show_table(
        found,
        columns={
            "share": st.column_config.NumberColumn("share of passages", format="percent"),
        },
    )
    if st.button("Open this narrative's page"):
        state.focus(series, period)
        st.switch_page(Path(__file__).with_name("narrative.py"))
