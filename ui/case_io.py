"""Page: save and load the case file (JSON or YAML), download the report.

A case file round-trips exactly: what is downloaded loads back to the same answers, and saving
again gives the same bytes. A malformed file is refused with the problems named; the current
answers stay as they were.
"""

from __future__ import annotations

import logging

import streamlit as st

from engine import CaseError, KnowledgeBase, default_knowledge_base, parse_text
from ui import persistence
from ui.downloads import case_downloads, report_downloads
from ui.state import (
    CLIENT,
    SELF,
    Workspace,
    build_case,
    evaluate,
    load_case,
    session,
    subject_of,
    workspace,
)
from ui.views import answer_next, case_line, problems_box
from ui.widgets import sync
from ui.words import md_text

log = logging.getLogger(__name__)

PAGE_TITLE = "Case file and report"
WORKSPACES = {CLIENT: "The client assessment", SELF: "My self-check"}
MAX_BYTES = 512 * 1024  # a case file is a few KB; the server's upload limit is larger


def read_upload(ws: Workspace, kb: KnowledgeBase, name: str, data: bytes) -> None:
    """Load an uploaded case file into a workspace, or record why it was refused."""
    if len(data) > MAX_BYTES:
        ws.message = ("error", [f"{name}: too large for a case file ({len(data) // 1024} KB)"])
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        ws.message = ("error", [f"{name}: is not UTF-8 text (a case file is JSON or YAML)"])
        return
    try:
        case = parse_text(text, kb, name=name)
    except CaseError as exc:
        ws.message = ("error", exc.lines())
        return
    if ws.fixed_subject and case.subject != ws.fixed_subject:
        ws.message = ("error", [f"{name}: subject: this is not a self-check case file "
                                f"(subject: {case.subject}); load it as the client assessment"])
        return
    load_case(ws, case, kb)
    ws.message = ("success", [f"Loaded {name}: {case_line(kb, case)}"])


def _uploaded(ws_name: str, key: str) -> None:
    ws = workspace(ws_name)
    upload = session().get(key)
    if upload is None:
        return
    try:
        read_upload(ws, default_knowledge_base(), upload.name, upload.getvalue())
    except Exception as exc:  # a widget callback runs outside app.py's guard: never a traceback
        log.error("upload could not be read: %s", type(exc).__name__)  # the type only, no content
        ws.message = ("error", [f"{upload.name}: could not be read as a case file"])


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    which = st.radio("Which case", list(WORKSPACES), key="io_workspace", horizontal=True,
                     format_func=WORKSPACES.__getitem__)
    ws = workspace(which)
    sync(ws, kb)

    st.subheader("Save the case")
    st.caption("The case file holds the answers given (unknown ones are left out), the case id and "
               "the notes. Keep it with your clinical records; nothing is stored here.")
    try:
        case, _ = build_case(ws, kb)
    except CaseError as exc:
        problems_box(exc.lines())
    else:
        st.caption(case_line(kb, case))
        case_downloads(case, key=f"io_{which}_case")

    st.subheader("Load a case")
    key = f"io_{which}_upload"
    st.file_uploader("Case file (JSON or YAML, schema_version: 1). Loading replaces the current "
                     "answers.", type=["json", "yaml", "yml"], key=key,
                     on_change=_uploaded, args=(which, key))
    if ws.message is not None:
        kind, lines = ws.message
        if kind == "error":
            st.error("This file was not loaded; the current answers are unchanged.\n\n"
                     + "\n".join(f"- {md_text(line)}" for line in lines), icon=":material/error:")
        else:
            st.success(md_text(" ".join(lines)), icon=":material/check_circle:")

    st.subheader("Download the report")
    ev = evaluate(ws, kb)
    if ev.report is None:
        problems_box(ev.problems)
    else:
        report_downloads(kb, ev.report, ws.notes or None, key=f"io_{which}_report",
                         feedback_of=persistence.recorded_feedback if which == CLIENT else tuple)
        answer_next(kb, ws, ev.report, subject_of(ws, kb))


if __name__ == "__main__":
    render()
