"""The dashboard's Confirm and Reject buttons: an analyst's decision on one passage.

A click calls :func:`narratives.feedback.record_run_feedback`, the same as
``narratives label RUN PASSAGE NARRATIVE --yes|--no``: the decision is appended as a
``[[feedback]]`` table to the user's catalog (``<models_dir>/catalog.toml``, or the user's own
catalog the run was trained with; never the shipped one). The run itself does not change: the
next ``narratives train`` learns from the decision. The page then says where it went.

``narratives.feedback`` (and the catalog's query parser behind it, which needs scikit-learn) is
imported on the first click only, so the pages with buttons open as fast as the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st
from narratives_dashboard import state
from narratives_dashboard.text import escape_markdown

from narratives.errors import InputError

if TYPE_CHECKING:
    from narratives.feedback import FeedbackResult

HELP = {
    True: "This passage carries the narrative: recorded in your catalog for the next training.",
    False: "This passage does not carry the narrative: recorded for the next training.",
}
DECIDED = "feedback_decided"
"""Session state: the (passage_id, narrative_id) pairs decided in this session, and how."""


def decided(passage_id: str, narrative_id: str) -> bool | None:
    """How this session decided on the pair (True: carries), or None."""
    return st.session_state.get(DECIDED, {}).get((passage_id, narrative_id))


def record(passage_id: str, narrative_id: str, carries: bool, name: str) -> FeedbackResult | None:
    """Record one decision and say where it went (st.success and a toast); the same decision
    twice in a session is recorded once. A problem (an unknown narrative in the user's catalog,
    a file that cannot be written) is shown, not raised."""
    from narratives.feedback import record_run_feedback

    if decided(passage_id, narrative_id) == carries:
        st.info("Already recorded in this session; a retrain applies it.")
        return None
    try:
        result = record_run_feedback(
            state.run(),
            passage_id,
            narrative_id,
            carries,
            models_dir=state.app_args().models_dir,
        )
    except (InputError, OSError) as exc:
        st.error(escape_markdown(f"Not recorded: {exc}"), icon=":material/error:")
        return None
    st.session_state.setdefault(DECIDED, {})[(passage_id, narrative_id)] = carries
    verb = "carries" if carries else "does not carry"
    made = " (made from the run's catalog)" if result.created else ""
    message = (
        f"Recorded: passage {passage_id} {verb} {name}. Saved to {result.path}{made}, which now "
        f"holds {result.n_feedback} decision{'s' if result.n_feedback != 1 else ''}; retrain "
        "(narratives train) to apply it."
    )
    st.success(escape_markdown(message), icon=":material/check_circle:")
    st.toast(
        escape_markdown(f"Recorded in {result.path.name}: retrain to apply it."),
        icon=":material/check_circle:",
    )
    return result


def buttons(
    passage_id: str,
    narrative_id: str,
    name: str,
    *,
    confirm: bool = True,
    reject: bool = True,
    where: str = "",
) -> None:
    """The "Confirm" and/or "Reject" buttons of one (passage, narrative) pair, side by side, with
    a note once this session decided on it. Keys: ``confirm-<where>-<narrative>-<passage>`` and
    ``reject-...``."""
    wanted = [(True, "Confirm")] * confirm + [(False, "Reject")] * reject
    columns = st.columns([1] * len(wanted) + [7 - len(wanted)])
    clicked = None
    for column, (carries, text) in zip(columns, wanted, strict=False):
        if column.button(
            text,
            key=f"{text.lower()}-{where}-{narrative_id}-{passage_id}",
            help=HELP[carries],
        ):
            clicked = carries
    if clicked is not None:
        record(passage_id, narrative_id, clicked, name)
    elif (earlier := decided(passage_id, narrative_id)) is not None:
        columns[-1].caption(
            ("Confirmed" if earlier else "Rejected") + " in this session; a retrain applies it."
        )
