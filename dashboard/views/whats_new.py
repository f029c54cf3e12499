"""What's new: what the articles placed with `narratives assign` brought (the latest strong and
weak signals, the candidate topics with example passages, the share of new articles that fit no
topic over time) and, for a retrain with a parent, how its topics continue the parent's."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from narratives_dashboard import charts, state
from narratives_dashboard.text import escape_markdown

st.title("What's new")
if not state.query("has_news"):
    st.info(
        "This run was trained from scratch. Place a month of new articles into it with "
        "`narratives assign RUN CORPUS` (signals, candidate topics and the share of articles that "
        "fit no topic appear here), or retrain with `narratives train CORPUS --parent RUN` to "
        "see how its topics continue the parent's.",
        icon="🆕",
    )
    st.stop()

signals = state.query("latest_signals")
if not signals.is_empty():
    st.subheader(f"Signals in {state.period_label(signals['period'][0], None)}")
    st.caption(
        "BERTrend's classes: a topic's popularity decays by exp(-0.01 per day) and grows by its "
        "articles; strong above the 75th percentile of all topics' popularity in the period, "
        "noise below the 10th, weak between. Trend: the slope of its popularity over the last "
        "three periods."
    )
    state.show_table(
        signals.drop("period"),
        columns={
            "popularity": st.column_config.NumberColumn(format="%.1f"),
            "trend": st.column_config.NumberColumn(format="%+.1f"),
        },
    )

candidates = state.query("candidate_topics")
st.subheader("Candidate topics")
if candidates.is_empty():
    st.write("The new articles formed no candidate topic: they fit the run's topics.")
for row in candidates.iter_rows(named=True):
    with st.container(border=True):
        st.markdown(
            f"**#{row['topic_id']} {escape_markdown(row['label'])}** · {row['size']} passages"
        )
        st.caption(escape_markdown(" · ".join(row["keywords"] or [])))
        for text in row["examples"] or []:
            st.text(text)

unassigned = state.query("unassigned_share")
if not unassigned.is_empty():
    st.subheader("New articles that fit no topic")
    figure = go.Figure(
        go.Scatter(
            x=unassigned["period"].to_list(),
            y=unassigned["share"].to_list(),
            mode="lines+markers",
            name="unassigned share",
            customdata=unassigned.select("n_docs", "n_period_docs").rows(),
            hovertemplate="%{x}: %{y:.1%} (%{customdata[0]} of %{customdata[1]})<extra></extra>",
        )
    )
    figure.update_layout(
        yaxis_tickformat=".0%", height=320, margin={"t": 10, "b": 10}, template=charts.TEMPLATE
    )
    state.plot(figure, use_container_width=True)

run = state.run()
if run.has_table("lineage"):
    st.subheader(f"Lineage from the parent run {escape_markdown(run.record.parent or '')}")
    lineage = run.table("lineage")
    counts = dict(lineage["relation"].value_counts().iter_rows())
    st.caption(
        " · ".join(f"{n} {relation}" for relation, n in sorted(counts.items()))
        + ". Continued topics keep the parent's id; split, merged and new ones get ids never used "
        "before."
    )
    state.show_table(lineage.sort("relation", "topic_id", nulls_last=True))
