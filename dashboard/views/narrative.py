"""One narrative: its keywords and how they changed, its share per outlet, its change points with
their tests, its representative passages and the articles that carry it."""

from __future__ import annotations

import polars as pl
import streamlit as st
from narratives_dashboard import charts, state

card = state.query("run_card")
names = state.query("topic_names")
options = state.topic_options(names, outliers=True)
label = lambda value: state.period_label(value, card.period)  # noqa: E731
ids = list(options)
focus = st.session_state.get(state.FOCUS_TOPIC)

topic_id = st.selectbox(
    "Narrative",
    ids,
    index=ids.index(focus) if focus in ids else 0,
    format_func=options.get,
    help="Catalogued narratives, then newly discovered topics, then the outliers.",
)
row = names.filter(pl.col("topic_id") == topic_id).row(0, named=True)
st.header(row["name"])
if row["kind"] == "narrative":
    st.caption(f"Catalogued narrative `{row['narrative_id']}` · topic {topic_id}")
elif row["kind"] == "new topic":
    st.caption(
        f"Newly discovered topic {topic_id}: it matched no catalogued narrative; its name is "
        "its keywords."
    )
else:
    st.caption("Passages that fit no topic.")

docs = state.query("articles", topic_id=topic_id, limit=None)
first, second, third = st.columns(3)
first.metric("Passages", f"{row['size']:,}")
second.metric("Articles carrying it", f"{docs.height:,}")
third.metric("Share of all articles", f"{docs.height / max(card.n_documents, 1):.1%}", border=False)
st.markdown("**Keywords** " + " · ".join(f"`{k}`" for k in row["keywords"]))

history = state.query("keyword_history", topic_id=topic_id)
st.subheader("Keywords per period")
if history.is_empty():
    st.write("No dated passages, so no keywords per period.")
else:
    presence = state.query("keyword_presence", topic_id=topic_id)
    if not presence.is_empty() and presence["period"].n_unique() > 1:
        keyword_figure = charts.keyword_heatmap(
            presence, label, title="Which keywords the narrative had, period by period"
        )
        st.plotly_chart(keyword_figure, config=charts.chart_config(f"keywords-{topic_id}"))
    state.show_table(
        history.select(
            state.period_text(card.period),
            "n_passages",
            *(pl.col(c).list.join(", ") for c in ("keywords", "entered", "left")),
        ),
    )
    st.caption("Each period's keywords come from that period's passages only.")

st.subheader("Share over time, per outlet")
per_outlet = (
    state.query("outlet_series", topic_id=topic_id) if state.query("periods") else pl.DataFrame()
)
if per_outlet.is_empty():
    st.write("No dated documents.")
else:
    outlet_figure = charts.outlet_lines(per_outlet, title=f"{row['name']}: share of articles")
    st.plotly_chart(outlet_figure, config=charts.chart_config(f"outlets-{topic_id}"))
    state.downloads(per_outlet, f"narrative-{topic_id}-per-outlet", outlet_figure)

st.subheader("Changes and their tests")
changes = state.query("topic_changes", topic_id=topic_id)
if changes.is_empty():
    st.write("No significant change: the share moved no more than chance explains.")
else:
    state.show_table(
        changes.with_columns(state.period_text(card.period)),
    )
    st.caption(
        "status: the share changed from the previous period (two-proportion test, "
        "Benjamini-Hochberg adjusted). change point: a lasting level shift found by ruptures "
        "and confirmed by a test of the periods on either side."
    )

st.subheader("Representative passages")
passages = state.query("representative_passages", topic_id=topic_id)
for passage in passages.iter_rows(named=True):
    source = " · ".join(
        str(v) for v in (passage["date"], passage["source"], passage["title"]) if v is not None
    )
    with st.container(border=True):
        st.markdown(passage["text"])
        link = f" · [article]({passage['url']})" if passage["url"] else ""
        st.caption(f"{source} · `{passage['doc_id']}`{link}")

st.subheader("Articles carrying it")
state.show_table(
    docs.head(500),
    columns={
        "share": st.column_config.NumberColumn("share of passages", format="percent"),
    },
)
if docs.height > 500:
    st.caption(f"The 500 most devoted of {docs.height:,} articles; download all below.")
state.downloads(docs, f"narrative-{topic_id}-articles")
