"""Documents: search and filter the articles, and read any one with its narrative mix."""

from __future__ import annotations

import streamlit as st
from narratives_dashboard import charts, state

SHOWN = 500

card = state.query("run_card")
names = state.query("topic_names")
options = state.topic_options(names, outliers=True)

st.title("Documents")
text = st.text_input("Search text", placeholder="e.g. Gegenoffensive, Munition, Verhandlungen")
left, middle, right = st.columns([1.2, 1, 1.5])
dates = None
if card.first_date is not None:
    dates = left.date_input(
        "Date range",
        value=(card.first_date, card.last_date),
        min_value=card.first_date,
        max_value=card.last_date,
    )
sources = middle.multiselect("Outlets", list(card.sources))
topic_ids = right.multiselect("Narratives", list(options), format_func=options.get)
start, end = dates if isinstance(dates, tuple) and len(dates) == 2 else (None, None)
if (start, end) == (card.first_date, card.last_date):
    start = end = None  # the full span: keep the undated articles too

found = state.query(
    "search_documents", text=text, start=start, end=end, sources=sources, topic_ids=topic_ids
)
st.caption(
    f"Found {found.height:,} documents"
    + (f"; the {SHOWN} newest are listed, download all below" if found.height > SHOWN else "")
    + ". Select a row to read the article."
)
picked = state.show_table(
    found.head(SHOWN),
    on_select="rerun",
    selection_mode="single-row",
    key="documents_table",
)
state.downloads(found, "documents")

rows = picked.selection.rows if picked is not None and picked.selection else []
doc_ids = found.head(SHOWN)["doc_id"].to_list()
if doc_ids:
    chosen = doc_ids[rows[0]] if rows else None
    doc_id = st.selectbox(
        "Article",
        doc_ids,
        index=doc_ids.index(chosen) if chosen in doc_ids else 0,
        format_func=lambda d: d,
    )
    document, mix, passages = state.query("document_detail", doc_id=doc_id)
    st.subheader(document.get("title") or doc_id)
    meta = [str(document.get(k)) for k in ("date", "source") if document.get(k) is not None]
    link = f" · [original]({document['url']})" if document.get("url") else ""
    st.caption(" · ".join([*meta, f"`{doc_id}`"]) + link)
    st.plotly_chart(
        charts.mix_bar(mix, title="Narrative mix (share of the article's passages)"),
        config=charts.chart_config(f"mix-{doc_id}"),
    )
    for passage in passages.iter_rows(named=True):
        with st.container(border=True):
            st.caption(f"Passage {passage['position']} · {passage['name']}")
            st.markdown(passage["text"])
