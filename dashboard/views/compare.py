"""Compare: two periods of this run, or this run against another, side by side with a test on
each difference; the catalogued narratives, and the discovered topics on request."""

from __future__ import annotations

import polars as pl
import streamlit as st
from narratives_dashboard import charts, data, state
from narratives_dashboard.text import escape_markdown

from narratives.drift import ALL_SOURCES
from narratives.drift.compare import COMPARE_COLUMNS, compare_counts
from narratives.runs import list_runs

card = state.query("run_card")
names = state.query("series_names")
label = lambda value: state.period_label(value, card.period)  # noqa: E731


def run_line(this: data.RunCard) -> str:
    """One run's summary line (escaped: the corpus and embedder names are the user's)."""
    narratives = (
        f"{this.n_narratives_found} of {this.n_catalogued} catalogued narratives found"
        if this.has_narratives
        else "no narrative detection (an older run)"
    )
    return escape_markdown(
        f"{this.n_documents:,} documents · {this.n_topics} topics · {narratives} · embedder "
        f"{this.embedder} · {this.first_date} to {this.last_date}"
    )


st.title("Compare")
top_left, top_right = st.columns([2, 1])
mode = top_left.radio("Compare", ["Two periods", "Two runs"], horizontal=True)
with top_right:
    show_topics = state.topics_toggle(card, "compare_topics")
kinds = state.shown_kinds(show_topics)

if mode == "Two periods":
    all_periods = list(state.query("periods"))
    if len(all_periods) < 2:
        st.info("Comparing periods needs documents in at least two periods.")
        st.stop()
    first, second, third = st.columns(3)
    period_a = first.selectbox("Period A", all_periods, index=0, format_func=label)
    period_b = second.selectbox(
        "Period B", all_periods, index=len(all_periods) - 1, format_func=label
    )
    outlet = third.selectbox("Outlet", ["All outlets", *state.query("view_sources")])
    source = ALL_SOURCES if outlet == "All outlets" else outlet
    shown = list(state.series_options(names, kinds))
    table = compare_counts(
        state.query("period_counts", period=period_a, source=source, series=shown),
        state.query("period_counts", period=period_b, source=source, series=shown),
        key="series",
    )
    names_ab = (label(period_a), label(period_b))
else:
    others = [
        r
        for r in list_runs(state.app_args().models_dir)
        if str(r.path.resolve()) != state.current_key()[0]
    ]
    if not others:
        st.info(
            "There is no other run to compare with. Train another (a new month, another "
            "embedder) and it appears here."
        )
        st.stop()
    other = st.selectbox(
        "Other run", others, format_func=lambda r: f"{r.name} · {r.created_at[:10]}"
    )
    other_key = data.run_key(other.path)
    other_card = state.query_run(other_key, "run_card")
    left, right = st.columns(2)
    for column, this in ((left, card), (right, other_card)):
        column.markdown(f"**{escape_markdown(this.name)}**  \n{run_line(this)}")

    def counts(key: tuple[str, int] | None) -> pl.DataFrame:
        found = state.query("run_counts") if key is None else state.query_run(key, "run_counts")
        return found.filter(pl.col("kind").is_in(kinds)).drop("kind")

    table = compare_counts(counts(None), counts(other_key), key="key")
    names_ab = (card.name, other_card.name)
    st.caption(
        "Catalogued narratives are matched by their id across runs; discovered topics by their "
        "keyword label, so a new topic appears on one side only."
    )

if table.is_empty():
    st.write("Nothing to compare.")
    st.stop()
figure = charts.compare_bars(
    table, *names_ab, title=charts.plain(f"{names_ab[0]} against {names_ab[1]}")
)
state.plot(figure, config=charts.chart_config("compare"))
state.show_table(
    table.select(COMPARE_COLUMNS),
    columns={
        "name": "narrative",
        "difference": st.column_config.NumberColumn(
            f"{names_ab[1]} − {names_ab[0]}", format="percent"
        ),
        "share_a": st.column_config.NumberColumn(names_ab[0], format="percent"),
        "share_b": st.column_config.NumberColumn(names_ab[1], format="percent"),
    },
)
state.downloads(table, "compare", figure)
