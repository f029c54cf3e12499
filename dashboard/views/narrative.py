"""One narrative or topic. A catalogued narrative: how it is found, its share per outlet, its
changes with their tests, its keywords per period, the passages that carry it (each with its
evidence, its article and Confirm / Reject buttons) and the high-scoring passages that do not
(Confirm adds what the detector missed). A discovered topic: its keywords, share per outlet,
changes, representative passages and the narratives its passages carry. Both: the articles."""

from __future__ import annotations

import math

import polars as pl
import streamlit as st
from narratives_dashboard import charts, feedback, passages, state
from narratives_dashboard.series import topic_id_of
from narratives_dashboard.text import escape_markdown, markdown_link

from narratives.shares.rates import MIN_NEGATIVES, MIN_POSITIVES

SHOWN_PASSAGES = 20
SHOWN_CANDIDATES = 10
EVIDENCE_TEXT = {
    "query": "its query matched",
    "head": "the learned head scored it above the threshold",
    "feedback": "an analyst confirmed it (or a near-duplicate of it)",
}
METHOD_TEXT = {
    "pacc": "probabilistic adjusted classify-and-count (PACC): the mean of each document's "
    "calibrated probability of carrying it, rescaled by the mean probabilities of labelled "
    "positives and negatives",
    "acc": "adjusted classify-and-count (ACC): the share of documents tagged, corrected with the "
    "detector's measured true- and false-positive rates",
    "pcc": "probabilistic classify-and-count (PCC): the mean of each document's calibrated "
    "probability of carrying it",
    "cc": "counted (classify-and-count): the share of documents tagged, uncorrected",
}
SOURCE_TEXT = {
    "catalog": "its catalog examples and counter-examples and the analysts' decisions, each "
    "scored by a head that did not learn from it",
    "sample": "a labelled sample of this run's own documents",
}

card = state.query("run_card")
names = state.query("series_names")
options = state.series_options(names, ("narrative", "topic", "outliers"))
label = lambda value: state.period_label(value, card.period)  # noqa: E731
ids = list(options)
focus = st.session_state.get(state.FOCUS_SERIES)


def percent(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0%}"


def article_caption(passage: dict) -> None:
    """Where a passage comes from: date, outlet, title, document id and a checked link."""
    where = " · ".join(
        str(v) for v in (passage["date"], passage["source"], passage["title"]) if v is not None
    )
    link = markdown_link("article", passage.get("url"))
    st.caption(escape_markdown(f"{where} · {passage['doc_id']}") + (f" · {link}" if link else ""))


def how_found(profile: dict) -> None:
    """The narrative's material and calibration, from the run's narratives table."""
    st.subheader("How it is found")
    query = (
        f"Query: yes, matching {percent(profile['query_recall'])} of its examples"
        " in the corpus's languages."
        if profile["has_query"]
        else "Query: none; the learned head alone finds it."
    )
    threshold = profile["head_threshold"]
    head = (
        f"Head: a passage scoring at least {threshold:.3f} carries it (expected precision "
        f"{percent(profile['head_expected_precision'])})."
        if threshold is not None and math.isfinite(threshold)
        else "Head: off (it adds nothing the query does not find)."
        if profile["has_query"]
        else "Head: off (too few examples to calibrate it)."
    )
    st.write(f"{query} {head}")
    cells = st.columns(4)
    cells[0].metric("Examples", profile["n_examples"])
    cells[1].metric("Counter-examples", profile["n_counter_examples"])
    cells[2].metric("Confirmed by analysts", profile["n_confirmed"])
    cells[3].metric("Rejected by analysts", profile["n_rejected"])


def rate(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.1%}"


def how_estimated(profile: dict) -> None:
    """How the narrative's shares are estimated: method, where the error rates come from, the
    labelled items behind them and the measured true- and false-positive rates."""
    st.subheader("How its shares are estimated")
    method = profile.get("share_method") or "cc"
    positives = profile.get("n_calibration_positives") or 0
    negatives = profile.get("n_calibration_negatives") or 0
    sources = (profile.get("calibration_source") or "").split("+")
    where = " and ".join(SOURCE_TEXT.get(s, escape_markdown(s)) for s in sources if s)
    described = METHOD_TEXT.get(method, escape_markdown(method))
    text = f"Method: {described}. Error rates measured on {where or 'no labelled items'}."
    if method == "cc":
        enough = positives >= MIN_POSITIVES and negatives >= MIN_NEGATIVES
        text += (
            " Counted: its labelled items do not tell carrying passages apart well enough to "
            "correct with."
            if enough
            else f" Counted: too few labelled items back a correction (at least {MIN_POSITIVES} "
            f"positives and {MIN_NEGATIVES} negatives are needed)."
        )
    st.write(text)
    cells = st.columns(5)
    cells[0].metric("Method", method.upper())
    cells[1].metric("Labelled positives", positives)
    cells[2].metric("Labelled negatives", negatives)
    cells[3].metric("True-positive rate", rate(profile.get("tpr")), help="Recall of its tags.")
    cells[4].metric("False-positive rate", rate(profile.get("fpr")))


def keywords_per_period(series: str) -> None:
    """Its lasting keywords (in how many periods, first and last seen), then the periods in
    which keywords entered or left, newest first: a list that stays readable over many
    periods, where a keyword x period grid is mostly empty."""
    st.subheader("Keywords per period")
    history = state.query("keyword_history", series=series)
    if history.is_empty():
        st.write("No dated passages, so no keywords per period.")
        return
    presence = state.query("keyword_presence", series=series).drop_nulls("rank")
    n_periods = history["period"].n_unique()
    lasting = (
        presence.group_by("keyword")
        .agg(
            pl.len().alias("periods"),
            pl.col("period").min().alias("first"),
            pl.col("period").max().alias("last"),
            pl.col("rank").mean().round(1).alias("mean rank"),
        )
        .sort(["periods", "mean rank", "keyword"], descending=[True, False, False])
        .head(15)
    )
    if not lasting.is_empty():
        st.markdown(f"**Its lasting keywords** (present in how many of its {n_periods} periods)")
        state.show_table(
            lasting.with_columns(
                state.period_text(card.period, "first"), state.period_text(card.period, "last")
            )
        )
    changes = history.filter(
        (pl.col("entered").list.len() > 0) | (pl.col("left").list.len() > 0)
    ).sort("period", descending=True)
    st.markdown("**When keywords entered and left** (periods with a change, newest first)")
    state.show_table(
        changes.select(
            state.period_text(card.period),
            "n_passages",
            *(pl.col(c).list.join(", ") for c in ("entered", "left", "keywords")),
        ),
    )
    st.caption("Each period's keywords come from that period's passages only.")


def share_and_changes(series: str, name: str, method: str | None) -> None:
    """The share per outlet (a narrative's corrected unless "Counted tags (raw)"; ``method``
    None for a topic) and the changes with their tests."""
    st.subheader("Share over time, per outlet")
    per_outlet = (
        state.query("outlet_series", series=series) if state.query("periods") else pl.DataFrame()
    )
    if per_outlet.is_empty():
        st.write("No dated documents.")
    else:
        raw = method is not None and state.raw_toggle(card, "narrative_raw")
        corrected = method not in (None, "cc") and not raw
        what = "share" if corrected else "counted share"
        outlet_figure = charts.outlet_lines(
            per_outlet, raw=raw, title=charts.plain(f"{name}: {what} of articles")
        )
        state.plot(outlet_figure, config=charts.chart_config(f"outlets-{series}"))
        st.caption(
            f"Shares corrected for the detector's measured errors ({method.upper()}, see above)."
            if corrected and method
            else "Counted: the share of articles carrying it, with Wilson intervals."
        )
        state.downloads(per_outlet, f"narrative-{series}-per-outlet", outlet_figure)
    st.subheader("Changes and their tests")
    changes = state.query("series_changes", series=series)
    if changes.is_empty():
        st.write("No significant change: the share moved no more than chance explains.")
        return
    state.show_table(changes.with_columns(state.period_text(card.period)))
    st.caption(
        "status: the share changed from the previous period (two-proportion test, "
        "Benjamini-Hochberg adjusted). change point: a lasting level shift found by ruptures "
        "and confirmed by a test of the periods on either side."
    )


def carrying_passages(narrative_id: str, name: str, n_passages: int) -> None:
    st.subheader("Passages that carry it")
    shown = state.query("narrative_passages", narrative_id=narrative_id, limit=SHOWN_PASSAGES)
    if shown.is_empty():
        st.write("No passage carries it in this run.")
        return
    st.caption(
        f"The {shown.height} newest of {n_passages:,} passages; download all below. Confirm or "
        "reject each: decisions go to your own catalog (never the shipped one) and the next "
        "training applies them."
    )
    for passage in shown.iter_rows(named=True):
        with st.container(border=True):
            evidence = passage["evidence"] or "tagged"
            st.caption(
                f"Evidence: {evidence} ({EVIDENCE_TEXT.get(evidence, '')}) · "
                f"score {passage['score']:.2f} · passage {escape_markdown(passage['passage_id'])}"
            )
            st.text(passage["text"])
            article_caption(passage)
            feedback.buttons(passage["passage_id"], narrative_id, name, where="carried")
    run = state.run()
    state.downloads(
        lambda: passages.narrative_passages(run, narrative_id, limit=None),
        f"narrative-{narrative_id}-passages",
        label="all passages",
    )


def missed_passages(narrative_id: str, name: str) -> None:
    st.subheader("High-scoring passages that do not carry it")
    missed = state.query("narrative_candidates", narrative_id=narrative_id, limit=SHOWN_CANDIDATES)
    if missed.is_empty():
        st.write("Every passage carries it, or there are none.")
        return
    st.caption(
        "The passages its head scores highest among those that do not carry it. Confirm the "
        "ones that do, so the next training finds them."
    )
    for passage in missed.iter_rows(named=True):
        with st.container(border=True):
            st.caption(
                f"score {passage['score']:.2f} · passage {escape_markdown(passage['passage_id'])}"
            )
            st.text(passage["text"])
            article_caption(passage)
            feedback.buttons(
                passage["passage_id"], narrative_id, name, reject=False, where="missed"
            )


def topic_parts(series: str) -> None:
    topic_id = topic_id_of(series)
    representative = state.query("representative_passages", topic_id=topic_id)
    st.subheader("Representative passages")
    for passage in representative.iter_rows(named=True):
        with st.container(border=True):
            st.text(passage["text"])
            article_caption(passage)
    carried = state.query("topic_narratives", topic_id=topic_id)
    st.subheader("Narratives its passages carry")
    if carried.is_empty():
        st.write(
            "None of its passages carries a catalogued narrative."
            if card.has_narratives
            else "This run predates narrative detection."
        )
    else:
        state.show_table(
            carried,
            columns={
                "share": st.column_config.NumberColumn("share of its passages", format="percent")
            },
        )


series = st.selectbox(
    "Narrative",
    ids,
    index=ids.index(focus) if focus in ids else 0,
    format_func=options.get,
    help="Catalogued narratives, then discovered topics, then the outliers.",
)
row = names.filter(pl.col("series") == series).row(0, named=True)
st.header(escape_markdown(row["name"]))
profile = (
    state.query("narrative_profile", narrative_id=series) if row["kind"] == "narrative" else {}
)
if row["kind"] == "narrative":
    st.caption(escape_markdown(f"Catalogued narrative {series} · {profile.get('label_en', '')}"))
elif row["kind"] == "topic":
    st.caption(
        f"Discovered topic {topic_id_of(series)}: BERTopic found it in this corpus; its name is "
        "its keywords."
    )
else:
    st.caption("Passages that fit no topic.")

docs = state.query("articles", series=series, limit=None)
first, second, third = st.columns(3)
first.metric("Passages", f"{row['size']:,}")
second.metric("Articles carrying it", f"{docs.height:,}")
third.metric("Share of all articles", f"{docs.height / max(card.n_documents, 1):.1%}", border=False)
if row["kind"] == "narrative":
    how_found(profile)
    how_estimated(profile)
else:
    st.markdown("**Keywords** " + escape_markdown(" · ".join(row["keywords"] or [])))

keywords_per_period(series)
share_and_changes(series, row["name"], (profile.get("share_method") or "cc") if profile else None)
if row["kind"] == "narrative":
    carrying_passages(series, row["name"], row["size"])
    missed_passages(series, row["name"])
else:
    topic_parts(series)
    history = state.query("topic_history", topic_id=topic_id_of(series))
    if history.height > 1:
        st.subheader("Lineage through the parent runs")
        st.caption(
            "Each earlier run this topic continues (train --parent): its id there and the "
            "relation, with the share of shared passages (overlap) and the centroid cosine."
        )
        state.show_table(history)

st.subheader("Articles carrying it")
state.show_table(
    docs.head(500),
    columns={
        "share": st.column_config.NumberColumn("share of passages", format="percent"),
    },
)
if docs.height > 500:
    st.caption(f"The 500 most devoted of {docs.height:,} articles; download all below.")
state.downloads(docs, f"narrative-{series}-articles")
