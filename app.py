"""Streamlit entry point and navigation; each page lives in `ui/` and only calls `engine/`."""

from __future__ import annotations

import logging
import traceback

import streamlit as st

from engine import KnowledgeBaseError, default_knowledge_base
from engine.render import NOTICE
from ui import persistence
from ui.a11y import page_style

log = logging.getLogger("detachment_cds.app")

st.set_page_config(page_title="Emotional detachment CDS",
                   layout="wide")

try:
    default_knowledge_base()  # loaded and validated once per process; holds no case data
except KnowledgeBaseError as exc:
    st.title("Emotional detachment: clinical decision support")
    st.error("The knowledge base is broken; no advice can be given until it is fixed.")
    st.code("\n".join(exc.lines()))
    st.stop()

PAGES = {
    "Case": [
        st.Page("ui/cases_page.py", title="Cases"),
        st.Page("ui/assessment.py", title="Assessment", default=True),
        st.Page("ui/triage.py", title="Quick triage"),
        st.Page("ui/results.py", title="Results"),
        st.Page("ui/case_io.py", title="Case file and report"),
    ],
    "Over time": [
        st.Page("ui/timeline.py", title="Timeline"),
        st.Page("ui/intake.py", title="Intake meeting"),
    ],
    "For clinicians": [
        st.Page("ui/self_check.py", title="Clinician self-check"),
    ],
    "Learning": [
        st.Page("ui/catalogue.py", title="Rule catalogue"),
        st.Page("ui/training.py", title="Training vignettes"),
    ],
}
page = st.navigation(PAGES)

persistence.before_page(default_knowledge_base())  # after a reload: the open client's draft

with st.sidebar:
    st.caption(NOTICE)
    st.caption("Runs on this computer only; an open client's answers are kept in the case store.")
    persistence.sidebar()

page_style()  # contrast, focus rings and the navigation's list markup, on every page

try:
    page.run()
    persistence.after_page()
except Exception as exc:  # never a traceback with case content in the browser or the log
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.error("page %s failed: %s at %s", page.title, type(exc).__name__, where)
    st.error("Something went wrong while drawing this page. Your answers are kept; try again, "
             "or save the case file from **Case file and report**.")
