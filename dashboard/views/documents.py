"""Documents: search and filter the articles, and read any one with its narratives (the article's
and each passage's, with their evidence), its topics and its topic mix; reject a narrative a
passage was tagged with, or confirm one it was not."""

from __future__ import annotations

import polars as pl
import streamlit as st
from narratives_dashboard import charts, feedback, state
from narratives_dashboard.text import escape_markdown, markdown_link

SHOWN = 500

card = state.query("run_card")
names = state.query("series_names")
options = state.series_options(names, ("narrative", "topic", "outliers"))
narrative_names = state.series_options(names, ("narrative",))


def article_narratives(doc_id: str) -> None:
    """The catalogued narratives the article carries (one of its passages does)."""
    if not card.has_narratives:
        st.caption(escape_markdown(state.OLD_RUN_NOTE))
        return
    carried = state.query("document_narratives", doc_id=doc_id)
    if carried.is_empty():
        st.write("It carries no catalogued narrative.")
        return
    st.write("Its narratives (an article carries one when at least one of its passages does):")
    state.show_table(
        carried.select("name", "n_passages", "score", "narrative_id"),
        columns={
            "name": "narrative",
            "n_passages": "passages carrying it",
            "score": st.column_config.NumberColumn("highest score", format="%.2f"),
        },
    )


def passage_block(passage: dict, tags: pl.DataFrame) -> None:
    """One passage: its topic, the narratives it carries (each with Reject), its text, and a
    narrative picker with Confirm to add one."""
    pid = passage["passage_id"]
    st.caption(escape_markdown(f"Passage {passage['position']} · topic {passage['name']} · {pid}"))
    mine = tags.filter((pl.col("passage_id") == pid) & pl.col("tagged"))
    for tag in mine.iter_rows(named=True):
        st.caption(
            escape_markdown(f"Carries {tag['name']}")
            + f" · evidence: {tag['evidence'] or 'tagged'} · score {tag['score']:.2f}"
        )
        feedback.buttons(pid, tag["narrative_id"], tag["name"], confirm=False, where="doc")
    st.text(passage["text"])
    if not card.has_narratives:
        return
    others = [n for n in narrative_names if n not in set(mine["narrative_id"])]
    if not others:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox(
        "Add a narrative it carries",
        others,
        format_func=narrative_names.get,
        key=f"add-{pid}",
    )
    if right.button("Confirm", key=f"confirm-add-{pid}"):
        feedback.record(pid, chosen, True, narrative_names[chosen])


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
series = right.multiselect(
    "Narratives and topics",
    list(options),
    format_func=options.get,
    help="Articles carrying any of these: catalogued narratives first, then discovered topics.",
)
start, end = dates if isinstance(dates, tuple) and len(dates) == 2 else (None, None)
if (start, end) == (card.first_date, card.last_date):
    start = end = None  # the full span: keep the undated articles too

found = state.query(
    "search_documents", text=text, start=start, end=end, sources=sources, series=series
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
    st.subheader(escape_markdown(document.get("title") or doc_id))
    meta = [str(document.get(k)) for k in ("date", "source") if document.get(k) is not None]
    link = markdown_link("original", document.get("url"))
    st.caption(escape_markdown(" · ".join([*meta, doc_id])) + (f" · {link}" if link else ""))
    article_narratives(doc_id)
    state.plot(
        charts.mix_bar(mix, title="Topic mix (share of the article's passages)"),
        config=charts.chart_config(f"mix-{doc_id}"),
    )
    tags = state.query("passage_narratives", doc_id=doc_id)
    for passage in passages.iter_rows(named=True):
        with st.container(border=True):
            passage_block(passage, tags)
