"""Compare: two periods of this run, or this run against another, side by side with a test on
each difference."""

from __future__ import annotations

import polars as pl
import streamlit as st
from narratives_dashboard import charts, data, state

from narratives.drift import ALL_SOURCES
from narratives.drift.compare import COMPARE_COLUMNS, compare_counts
from narratives.runs import list_runs

card = state.query("run_card")
label = lambda value: state.period_label(value, card.period)  # noqa: E731

st.title("Compare")
mode = st.radio("Compare", ["Two periods", "Two runs"], horizontal=True)

if mode == "Two periods":
    all_periods = [p for p in state.query("periods")]
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
    table = compare_counts(
        state.query("period_counts", period=period_a, source=source),
        state.query("period_counts", period=period_b, source=source),
    ).filter(pl.col("topic_id") >= 0)
    names = (label(period_a), label(period_b))
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
        column.markdown(
            f"**{this.name}**  \n{this.n_documents:,} documents · {this.n_topics} topics · "
            f"{this.n_narratives} catalogued narratives · embedder {this.embedder}  \n"
            f"{this.first_date} to {this.last_date}"
        )
    table = compare_counts(
        state.query("run_counts"), state.query_run(other_key, "run_counts"), key="key"
    )
    names = (card.name, other_card.name)
    st.caption(
        "Catalogued narratives are matched by their id across runs; discovered topics by their "
        "keyword label, so a new topic appears on one side only."
    )

if table.is_empty():
    st.write("Nothing to compare.")
    st.stop()
figure = charts.compare_bars(table, *names, title=f"{names[0]} against {names[1]}")
st.plotly_chart(figure, config=charts.chart_config("compare"))
state.show_table(
    table.select(COMPARE_COLUMNS),
    columns={
        "name": "narrative",
        "difference": st.column_config.NumberColumn(f"{names[1]} − {names[0]}", format="percent"),
        "share_a": st.column_config.NumberColumn(names[0], format="percent"),
        "share_b": st.column_config.NumberColumn(names[1], format="percent"),
    },
)
state.downloads(table, "compare", figure)
