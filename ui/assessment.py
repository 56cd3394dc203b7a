"""Page: the full assessment, a multi-step form following the source's assessment."""

from __future__ import annotations

import streamlit as st

from engine import default_knowledge_base
from ui.form import answerable, go_to_step, step_form, step_of
from ui.state import CLIENT, evaluate, subject_of, workspace
from ui.words import option_label, question_label

PAGE_TITLE = "Assessment"


def provisional(kb, ws) -> None:  # type: ignore[no-untyped-def]
    """One line with the provisional position, so every answer shows its effect at once.

    The plain assessment, without explanations: this line is drawn on every answer change, and
    the explanations (most of an assessment's time) are computed once, on the Results page.
    """
    ev = evaluate(ws, kb, explain=False)
    if ev.report is None:
        st.caption("Provisional position: not available until the problems below are fixed.")
    else:
        st.caption(f"Provisional position: **{ev.report.spectrum.label}**. "
                   "The full reasoning is on the Results page.")


def review(kb, ws) -> None:  # type: ignore[no-untyped-def]
    """The last step: what was answered, and the way to the results."""
    st.subheader("Review")  # the step's heading (focus moves here from Next)
    subject = subject_of(ws, kb)
    given = [q for q in answerable(ws, kb) if q.id in ws.answers]
    if given:
        st.caption("Select an answer to change it in its step.")
        for q in given:
            index = step_of(ws, kb, q.id)
            st.button(f"{question_label(kb, q.id, subject)} {option_label(q, ws.answers[q.id])}",
                      key=f"review_{q.id}", type="tertiary", icon=":material/edit:",
                      on_click=go_to_step, args=(ws, index), disabled=index is None)
    else:
        st.markdown("Nothing answered yet: every question counts as unknown.")
    st.page_link("ui/results.py", label="See the results", icon=":material/insights:")


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    ws = workspace(CLIENT)
    st.title(PAGE_TITLE)
    st.caption("Every question may stay unknown. Answers are kept while you move between steps "
               "and pages.")
    step_form(ws, kb, "Review", final=lambda: review(kb, ws), header=lambda: provisional(kb, ws))


if __name__ == "__main__":
    render()
