"""Outlets: which outlet carries which narrative (discovered topics on request), and which over- or
under-represents it against all the others, with the test behind each cell; and any two outlets
head to head."""

from __future__ import annotations

import polars as pl
import streamlit as st
from narratives_dashboard import charts, state
from narratives_dashboard.text import escape_markdown

from narratives.drift.compare import COMPARE_COLUMNS, compare_counts

card = state.query("run_card")
names = state.query("series_names")
label = lambda value: state.period_label(value, card.period)  # noqa: E731

st.title("Outlets")
left, middle, right = st.columns([1, 1, 1])
with middle:
    show_topics = state.topics_toggle(card, "outlets_topics")
show_outliers = right.toggle("Show outliers", value=False, disabled=not show_topics)
shown = list(state.series_options(names, state.shown_kinds(show_topics, outliers=show_outliers)))
cells_all = state.query("outlet_cells", series=shown)
if cells_all.is_empty() or cells_all["source"].n_unique() < 2:
    st.info(
        "Comparing outlets needs documents from at least two outlets (a `source` column in the "
        "corpus). This run has: " + escape_markdown(", ".join(card.sources) or "none") + ".",
        icon="🗞️",
    )
    st.stop()

periods = [None, *state.query("outlet_periods")]
period = left.selectbox("Period", periods, format_func=label)
cells = cells_all if period is None else state.query("outlet_cells", period=period, series=shown)

share_tab, lift_tab, table_tab = st.tabs(
    ["Shares", "Over / under-represented", "Tests behind each cell"]
)
with share_tab:
    share_figure = charts.outlet_heatmap(
        cells,
        "share",
        title=f"Share of each outlet's articles carrying each narrative ({label(period)})",
    )
    state.plot(share_figure, config=charts.chart_config("outlet-shares"))
with lift_tab:
    lift_figure = charts.outlet_heatmap(
        cells, "lift", title=f"Lift against all other outlets ({label(period)})"
    )
    state.plot(lift_figure, config=charts.chart_config("outlet-lift"))
    st.caption(
        "Lift = the outlet's share / the other outlets' share. Red: over-represented, blue: "
        "under-represented; + or − marks a difference the test calls significant (two-proportion "
        "test, Benjamini-Hochberg adjusted). Outlets with the strongest lift come first."
    )
    pairs = cells.filter(pl.col("representation").is_in(["over", "under"]))
    st.markdown("**Top over- and under-represented pairs** (significant only)")
    if pairs.is_empty():
        st.write("No outlet differs from the others more than chance explains.")
    else:
        top = (
            pl.concat(
                [
                    pairs.filter(pl.col("representation") == "over").sort("lift", descending=True),
                    pairs.filter(pl.col("representation") == "under").sort("lift"),
                ]
            )
            .group_by("representation", maintain_order=True)
            .head(10)
        )
        state.show_table(
            top.select(
                "representation", "source", "name", "share", "share_others", "lift", "p_adjusted"
            ),
            columns={
                "share": st.column_config.NumberColumn(format="percent"),
                "share_others": st.column_config.NumberColumn(format="percent"),
                "lift": st.column_config.NumberColumn(format="%.2f"),
            },
        )
with table_tab:
    state.show_table(
        cells.drop("order"),
    )
state.downloads(cells.drop("order"), "outlets", lift_figure)

st.subheader("Two outlets head to head")
sources = sorted(cells_all["source"].unique().to_list())
first, second = st.columns(2)
outlet_a = first.selectbox("Outlet A", sources, index=0)
outlet_b = second.selectbox("Outlet B", sources, index=min(1, len(sources) - 1))
if outlet_a == outlet_b:
    st.write("Pick two different outlets.")
else:

    def counts(source: str) -> pl.DataFrame:
        return cells.filter(pl.col("source") == source).select(
            "series", "name", pl.col("n_docs").alias("k"), pl.col("n_source_docs").alias("n")
        )

    table = compare_counts(counts(outlet_a), counts(outlet_b), key="series")
    figure = charts.compare_bars(
        table,
        outlet_a,
        outlet_b,
        title=charts.plain(f"{outlet_a} against {outlet_b} ({label(period)})"),
    )
    state.plot(figure, config=charts.chart_config("outlets-head-to-head"))
    state.show_table(
        table.select(COMPARE_COLUMNS),
        columns={
            "name": "narrative",
            "share_a": st.column_config.NumberColumn(outlet_a, format="percent"),
            "share_b": st.column_config.NumberColumn(outlet_b, format="percent"),
            "difference": st.column_config.NumberColumn(
                f"{outlet_b} − {outlet_a}", format="percent"
            ),
        },
    )
