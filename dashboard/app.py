"""The narratives dashboard: pick a run, explore its narratives and how they drift.

    narratives dashboard [RUN] [--port 8501]
    streamlit run dashboard/app.py -- [--run RUN] [--models-dir models]

It reads run directories only (Parquet tables and run.json): no BERTopic, no torch, so it starts
in seconds and shows a run trained on another machine.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from narratives_dashboard import data, state
from narratives_dashboard.text import escape_markdown, markdown_table

from narratives.errors import RunError

VIEWS = Path(__file__).resolve().parent / "views"
TRAIN_HINT = (
    "Train one with `narratives train seeds/ --run seeds-demo` (the bundled seed articles), or "
    "`narratives train my-corpus.jsonl`, then reload this page. `bash scripts/demo.sh` does both."
)


def _choose_run(args) -> Path | None:
    """The sidebar's run picker: the newest run first, or the one given on the command line."""
    runs, skipped = state.runs_in(args.models_dir)
    paths = [r.path for r in runs]
    labels = {r.path: f"{r.name} · {r.n_documents} docs · {r.created_at[:10]}" for r in runs}
    wanted = state.default_run(args) if args.run else None
    if wanted is not None and wanted not in paths:
        paths.insert(0, wanted)
        labels[wanted] = wanted.name
    if not paths:
        return None
    chosen = st.sidebar.selectbox(
        "Run",
        paths,
        index=paths.index(wanted) if wanted in paths else 0,
        format_func=lambda p: labels.get(p, p.name),
        help=f"Complete runs in {args.models_dir}, newest first.",
    )
    if skipped:
        st.sidebar.warning(
            "Not listed (incomplete or corrupt): "
            + escape_markdown(", ".join(p.name for p in skipped)),
            icon="⚠️",
        )
    return chosen


def _narratives_line(card: data.RunCard) -> str:
    if not card.has_narratives:
        return "**Narratives** not detected (the run predates narrative detection)"
    share = card.narrative_doc_share or 0.0
    return (
        f"**Narratives** {card.n_narratives_found} of {card.n_catalogued} found · in "
        f"{share:.0%} of documents"
    )


def _shares_line(card: data.RunCard) -> str:
    """How the narratives' shares are estimated: corrected for how many (and the fewest and
    most labelled items behind a corrected narrative), or counted."""
    if not card.has_narratives:
        return ""
    if not card.n_corrected:
        return "**Shares** counted (too few labelled items to correct any)  \n"
    low, high = card.calibration_items or (0, 0)
    items = f"{low}" if low == high else f"{low}–{high}"
    return (
        f"**Shares** corrected for {card.n_corrected} of {card.n_catalogued} narratives "
        f"(labelled items: {items} per narrative)  \n"
    )


def _run_card() -> None:
    card = state.query("run_card")
    span = (
        f"{card.first_date} to {card.last_date}"
        if card.first_date is not None
        else "no dates (drift over time needs dates)"
    )
    with st.sidebar.expander("About this run", expanded=False):
        st.markdown(
            f"**Corpus** {escape_markdown(card.corpus or 'unknown')}  \n"
            f"**Dates** {span}"
            + (f" ({card.n_undated} undated)" if card.n_undated else "")
            + f"  \n**Outlets** {len(card.sources)}  \n"
            f"**Embedder** {escape_markdown(card.embedder or 'unknown')}  \n"
            f"**Documents** {card.n_documents:,} · **passages** {card.n_passages:,}  \n"
            f"{_narratives_line(card)}  \n"
            f"{_shares_line(card)}"
            f"**Topics** {card.n_topics} discovered  \n"
            f"**Period** {card.period or '–'} · **trained** {card.created_at[:16]}"
        )
        if card.quality:
            st.markdown(
                markdown_table(
                    ("figure", "value"), card.quality.items(), (None, lambda v: f"{v:.3f}")
                )
            )
        if not any("coherence" in k for k in card.quality):
            st.caption("Run `narratives evaluate` for coherence, stability and label agreement.")
    if not card.has_narratives:
        st.sidebar.warning(state.OLD_RUN_NOTE, icon="⚠️")


def main() -> None:
    st.set_page_config(page_title="narratives", page_icon="📰", layout="wide")
    args = state.app_args()
    chosen = _choose_run(args)
    if chosen is None:
        st.title("narratives")
        st.info(f"No runs yet in `{args.models_dir}`. {TRAIN_HINT}", icon="ℹ️")
        _, skipped = state.runs_in(args.models_dir)
        if skipped:
            st.warning("Incomplete or corrupt: " + escape_markdown(", ".join(map(str, skipped))))
        st.stop()
    try:
        key = data.run_key(chosen)
        state.open_run(*key)
    except (RunError, OSError) as exc:
        st.title("narratives")
        st.error(f"This run cannot be opened: {escape_markdown(exc)}", icon="🚫")
        st.info(f"Pick another run in the sidebar, or retrain it. {TRAIN_HINT}")
        st.stop()
    st.session_state[state.RUN_KEY] = key
    _run_card()
    pages = [
        st.Page(
            VIEWS / "overview.py", title="Overview", icon=":material/show_chart:", default=True
        ),
        st.Page(VIEWS / "narrative.py", title="Narrative", icon=":material/manage_search:"),
        st.Page(VIEWS / "outlets.py", title="Outlets", icon=":material/newspaper:"),
        st.Page(VIEWS / "documents.py", title="Documents", icon=":material/article:"),
        st.Page(VIEWS / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(VIEWS / "whats_new.py", title="What's new", icon=":material/fiber_new:"),
    ]
    st.navigation(pages).run()


main()
