"""Page: cases in the store: a new client, the recent ones, the open one, what is due.

Opening or creating a client makes it this session's open client: from then on every answer
in the assessment is saved as it is given, and the page's URL names the client, so a reload
brings the case back exactly. "Save as assessment" commits the answers as a new version,
evaluated as of the date given (the store keeps every version; nothing is overwritten).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from engine import CaseError, default_knowledge_base
from store import cases
from store.db import StoreError
from store.timeline import due_reassessments
from ui import persistence
from ui.state import build_case, case_id_problem, engine_pool, session, workspace
from ui.words import md_text

PAGE_TITLE = "Cases"


def _open(code: str) -> None:
    store = persistence.current()
    if store is None:
        return
    try:
        persistence.open_client(store, code, workspace("client"))
    except StoreError as exc:
        session()["cases_message"] = ("error", str(exc))


def _create() -> None:
    state = session()
    code = str(state.get("cases_new_code") or "").strip()
    problem = case_id_problem(code) if code else "Give the client a code."
    store = persistence.current()
    if problem or store is None:
        state["cases_message"] = ("error", problem or "The case store is not open.")
        return
    try:
        cases.create_client(store, code, persistence.ACTOR)
    except StoreError as exc:
        state["cases_message"] = ("error", str(exc))
        return
    ws = workspace("client")
    keep = st.session_state.get("cases_keep_answers", False)
    data = persistence.payload(ws) if keep else {"answers": {}}
    persistence.apply(ws, code, data)
    state[persistence.OPEN_KEY] = code
    persistence.autosave(ws, before_widgets=True)
    state["cases_message"] = ("success", f"Client {code} created and open.")


def main() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    store = persistence.current()
    if store is None:
        st.info("The case store is not open (see the sidebar): cases are not kept between sessions.")
        return
    message = session().pop("cases_message", None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])

    code = persistence.open_code()
    ws = workspace("client")
    if code:
        record = cases.assessments(store, code)
        st.subheader(f"Open client: {code}")
        st.caption(f"{len(record.assessments)} saved assessment(s); the answers in progress are "
                   "saved as you go.")
        as_of = st.date_input("Assessment date (answers given as dates are counted to it)",
                              value=date.fromisoformat(ws.as_of) if ws.as_of else date.today(),
                              key="cases_as_of", max_value=date.today())
        if st.button("Save as assessment", type="primary", key="cases_commit"):
            try:
                case, _ = build_case(ws, kb)
                with engine_pool(kb).lend() as ev:
                    info = cases.commit_assessment(store, code, case.to_dict(), as_of,
                                                   persistence.ACTOR, evaluator=ev)
            except CaseError as exc:
                st.error("The answers do not make a valid case yet:\n\n" +
                         "\n".join(f"- {md_text(line)}" for line in exc.lines()))
            else:
                st.success(f"Saved as assessment {info.version} ({info.label}, as of {info.as_of}).")
        if record.assessments:
            st.dataframe([{"Version": a.version, "As of": a.as_of.isoformat(), "Position": a.label,
                           "Assessor": a.assessor} for a in record.assessments],
                         hide_index=True, key="cases_versions")
        st.button("Close this client", key="cases_close", on_click=persistence.close_client)

    st.subheader("New client")
    st.text_input("Pseudonymous code (never a name)", key="cases_new_code", max_chars=40)
    st.checkbox("Keep the answers already in the form", key="cases_keep_answers")
    st.button("Create and open", key="cases_create", on_click=_create)

    st.subheader("Recent clients")
    recent = cases.recent_clients(store)
    if not recent:
        st.caption("No client yet.")
    for row in recent:
        cols = st.columns([2, 3, 2, 1])
        cols[0].markdown(f"**{md_text(row.code)}**")
        cols[1].write(_position_label(row.position) or "not assessed yet")
        cols[2].write(f"{row.assessments} assessment(s)")
        cols[3].button("Open", key=f"cases_open_{row.code}", on_click=_open, args=(row.code,),
                       disabled=row.code == code)

    st.subheader("Reassessments due")
    due = due_reassessments(store, date.today(), upcoming=True)
    if not due:
        st.caption("None recorded.")
    else:
        today = date.today()
        st.dataframe([{"Client": d.code, "Due": d.due_on.isoformat(),
                       "Status": "overdue" if d.overdue else ("due" if d.due_on <= today else "upcoming"),
                       "Why": d.reason, "From assessment": d.version} for d in due],
                     hide_index=True, key="cases_due")


def _position_label(position: str | None) -> str | None:
    if position is None:
        return None
    entry = default_knowledge_base().catalogue.get("spectrum", {}).get(position)
    return str(getattr(entry, "label", position))


main()
