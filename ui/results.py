"""Page: the results of the client assessment, with every conclusion explained."""

from __future__ import annotations

import streamlit as st

from engine import default_knowledge_base
from ui import persistence
from ui.downloads import report_downloads
from ui.state import CLIENT, evaluate, subject_of, workspace
from ui.views import case_line, report_view
from ui.widgets import sync

PAGE_TITLE = "Results"


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    ws = workspace(CLIENT)
    sync(ws, kb)  # an answer given here in place counts before the page is drawn
    st.title(PAGE_TITLE)
    ev = evaluate(ws, kb)
    subject = subject_of(ws, kb)
    if ev.case is not None:
        st.caption(case_line(kb, ev.case))
    report_view(kb, ev, subject, ws)
    if ev.report is not None:
        st.divider()
        report_downloads(kb, ev.report, ws.notes or None, key="results_report",
                         feedback_of=persistence.recorded_feedback)


if __name__ == "__main__":
    render()
