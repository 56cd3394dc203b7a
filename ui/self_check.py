"""Page: the clinician's self-check, the same engine with the case's subject set to the clinician."""

from __future__ import annotations

import streamlit as st

from engine import KnowledgeBase, default_knowledge_base
from ui.downloads import report_downloads
from ui.form import step_form
from ui.state import SELF, Workspace, evaluate, workspace
from ui.views import report_view

PAGE_TITLE = "Clinician self-check"


def _provisional(kb: KnowledgeBase, ws: Workspace) -> None:
    ev = evaluate(ws, kb, explain=False)  # drawn on every answer; explanations on the last step
    if ev.report is not None:
        st.caption(f"Where you are so far: **{ev.report.spectrum.label}**. "
                   "The last step shows the full reasoning.")


def _results(kb: KnowledgeBase, ws: Workspace) -> None:
    ev = evaluate(ws, kb)
    report_view(kb, ev, ws.fixed_subject or "")
    if ev.report is not None:
        st.divider()
        report_downloads(kb, ev.report, ws.notes or None, key="self_report")


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    ws = workspace(SELF)
    st.title(PAGE_TITLE)
    st.markdown("A private check of your own emotional distance at work. The questions are worded "
                "for you; the answers stay in this browser session, separate from any client case, "
                "and are never stored on the server.")
    step_form(ws, kb, "Your results", final=lambda: _results(kb, ws),
              header=lambda: _provisional(kb, ws))


if __name__ == "__main__":
    render()
