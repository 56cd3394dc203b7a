"""The app's link to the case store: open it, autosave the draft, bring it back after a reload.

Streamlit's session state dies with the websocket (a reload, a closed tab, a dropped
connection), so the store, not the session, is the truth: every rerun saves the open client's
draft when it changed (one upsert, a few ms), and the open client's code rides in the page's
URL (`?case=CODE`), so a reload opens the same client and restores its draft exactly.

The store is the one the environment names (DETACHMENT_STORE_URL; for the default encrypted
file, DETACHMENT_STORE_KEY), shared by the process (a connection pool, no case data); when the
encrypted file has no key yet, the sidebar asks for it and this session opens the store itself.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import MutableMapping
from datetime import date
from typing import Any

import streamlit as st

from engine import KnowledgeBase, default_knowledge_base
from engine.case import CASE_ID_PATTERN
from engine.render import Feedback
from store import cases
from store.db import Store, StoreError, StoreLocked, WrongKey
from store.feedback import client_feedback
from ui.state import Workspace, session, workspace
from ui.widgets import sync
from ui.words import md_text

log = logging.getLogger(__name__)

KIND_WORDS = {"recommendations": "Recommendation", "cautions": "Caution", "reflections": "Reflection",
              "measures": "Measure", "drivers": "Driver", "formulations": "Formulation",
              "origins": "Origin"}

ACTOR = "app"
QUERY = "case"
OPEN_KEY = "store_client"       # the code of the client open in this session
SAVED_KEY = "store_saved"       # {workspace name: (code, payload)} last saved
SESSION_STORE = "store_session"  # a store this session opened with a key typed in the sidebar
RESTORED = "store_restored"
ERROR_KEY = "store_error"
PENDING_KEY = "store_pending"   # another session's answers are in the store: merge next rerun

_shared: dict[str, Store] = {}
_shared_lock = threading.Lock()


def shared_store() -> Store:
    """The process's store as the environment configures it (StoreLocked without a key)."""
    with _shared_lock:
        st_ = _shared.get("store")
        if st_ is None:
            st_ = Store.open(prompt=False)
            _shared["store"] = st_
        return st_


def current(state: MutableMapping[str, Any] | None = None) -> Store | None:
    """The store this session uses, or None (locked, unreachable: the reason is kept)."""
    state = session() if state is None else state
    own = state.get(SESSION_STORE)
    if isinstance(own, Store):
        return own
    try:
        store = shared_store()
    except StoreLocked:
        state[ERROR_KEY] = "locked"
        return None
    except StoreError as exc:
        state[ERROR_KEY] = str(exc)
        return None
    except Exception as exc:  # an unreachable database: say so, never a traceback
        log.warning("the case store cannot be opened (%s)", type(exc).__name__)
        state[ERROR_KEY] = f"the case store cannot be reached ({type(exc).__name__})"
        return None
    state.pop(ERROR_KEY, None)
    return store


def unlock(key: str) -> str | None:
    """Open the encrypted store with a key typed by the user; the problem, or None."""
    try:
        session()[SESSION_STORE] = Store.open(key=key, prompt=False)
    except WrongKey:
        return "This key does not open the case store (nothing was read or changed)."
    except StoreError as exc:
        return str(exc)
    session().pop(ERROR_KEY, None)
    return None


def open_code() -> str | None:
    """The code of the client open in this session."""
    code = session().get(OPEN_KEY)
    return code if isinstance(code, str) else None


def payload(ws: Workspace) -> dict[str, Any]:
    """What a draft holds: the form's answers and the case's own fields."""
    return {"answers": dict(ws.answers), "notes": ws.notes, "as_of": ws.as_of, "step": ws.step}


def apply(ws: Workspace, code: str, data: dict[str, Any]) -> None:
    """Put a draft back into the workspace (before the widgets are drawn; they re-seed)."""
    ws.answers = dict(data.get("answers") or {})
    ws.notes = str(data.get("notes") or "")
    ws.as_of = str(data.get("as_of") or "")
    ws.step = int(data.get("step") or 0)
    ws.case_id = code
    ws.triage_asked, ws.triage_shown = [], []
    ws._memo.clear()
    state = session()
    for key in ws.widget_keys(state):
        del state[key]


def open_client(store: Store, code: str, ws: Workspace) -> None:
    """Make `code` this session's open client and load its draft (or its latest answers)."""
    record = cases.open_client(store, code, ACTOR)  # the opening is audited, once
    draft = record.drafts.get(ws.name)
    if draft is not None:
        data = draft.answers
    else:
        latest = record.latest
        data = {"answers": _flat(latest.answers) if latest else {}, "as_of": ""}
    apply(ws, code, data)
    state = session()
    state[OPEN_KEY] = code
    state.setdefault(SAVED_KEY, {})[ws.name] = (code, payload(ws))


def _flat(case: dict[str, Any]) -> dict[str, Any]:
    from engine.case import ANSWER_SECTIONS
    out: dict[str, Any] = {}
    for section in ANSWER_SECTIONS:
        out.update(case.get(section) or {})
    if case.get("subject") and case["subject"] != "client":
        out["subject"] = case["subject"]
    return out


def close_client() -> None:
    """No client open in this session any more (the form keeps its answers, unsaved)."""
    state = session()
    state.pop(OPEN_KEY, None)
    state.pop(SAVED_KEY, None)
    if QUERY in st.query_params:
        del st.query_params[QUERY]


def autosave(ws: Workspace, before_widgets: bool) -> None:
    """Save the open client's draft if the answers changed since the last save.

    The save merges: what this session changed since its last save is applied onto the stored
    draft, so another session (another tab, another replica) saving the same client meanwhile
    loses nothing, and its answers come into this session's form before the widgets are drawn
    (when a save after the page brings them, at the start of the next rerun).
    """
    code = open_code()
    store = current()
    if store is None:
        return
    state = session()
    if before_widgets:
        sync(ws, default_knowledge_base())  # the change the user just made, before anything
    if code is None:
        code = open_new_client(store, ws)
        if code is None:
            return
    saved = state.setdefault(SAVED_KEY, {})
    now = payload(ws)
    last = saved.get(ws.name)
    base = last[1] if last is not None and last[0] == code else None
    refresh = before_widgets and state.pop(PENDING_KEY, False)
    if base == now and not refresh:
        return
    try:
        merged = cases.merge_draft(store, code, base, now, ws.name).answers
    except Exception as exc:  # shown in the sidebar; never lose silently
        log.warning("the draft was not saved (%s)", type(exc).__name__)
        state[ERROR_KEY] = "The last change was not saved to the case store; it will be retried."
        return
    state.pop(ERROR_KEY, None)
    if merged == now:
        saved[ws.name] = (code, now)
    elif before_widgets:
        apply(ws, code, {**merged, "step": ws.step})  # their answers; this session's step
        saved[ws.name] = (code, payload(ws))
    else:
        saved[ws.name] = (code, now)
        state[PENDING_KEY] = True  # bring the others' answers in at the next rerun


def new_code(ws: Workspace, store: Store) -> str:
    """A code for a client created because answers were given with none open: the case id the
    form was given when it is free, else a new pseudonymous code (NEW-date-random)."""
    given = ws.case_id.strip()
    if given and re.fullmatch(CASE_ID_PATTERN, given) and not cases.client_exists(store, given):
        return given
    return f"NEW-{date.today():%Y%m%d}-{secrets.token_hex(3).upper()}"


def open_new_client(store: Store, ws: Workspace) -> str | None:
    """With answers given and no client open, create one and open it, so nothing is unsaved.

    The form's answers stay; the new client's code is shown in the sidebar and on Cases.
    Returns the code, or None while nothing (besides who is assessed) has been answered.
    """
    kb = default_knowledge_base()
    if not any(q in kb.questions and kb.questions[q].section != "subject" for q in ws.answers) \
            and not ws.notes:
        return None
    code = new_code(ws, store)
    cases.create_client(store, code, ACTOR)
    state = session()
    state[OPEN_KEY] = code
    ws.case_id = code
    state.pop(f"{ws.prefix}_case_id", None)  # the form's case id field shows the code next run
    state.setdefault(SAVED_KEY, {}).pop(ws.name, None)
    return code


def restore(kb: KnowledgeBase) -> None:
    """Once per session: reopen the client named in the URL (after a reload) and its draft."""
    state = session()
    if state.get(RESTORED):
        return
    state[RESTORED] = True
    code = st.query_params.get(QUERY)
    if not code or open_code() == code:
        return
    store = current()
    if store is None:
        return
    try:
        open_client(store, code, workspace("client"))
    except StoreError:
        close_client()


def keep_in_url() -> None:
    """Keep the open client's code in the page's URL, so a reload comes back to it."""
    code = open_code()
    if code is not None and st.query_params.get(QUERY) != code:
        st.query_params[QUERY] = code


def before_page(kb: KnowledgeBase) -> None:
    """At the start of every rerun: restore after a reload, save what a callback changed."""
    try:
        restore(kb)
        sync(workspace("client"), kb)  # the change just made, for the sidebar and the save
        autosave(workspace("client"), before_widgets=True)
        keep_in_url()
    except Exception as exc:  # never a traceback (with case content) in the browser
        log.warning("the case store step failed (%s)", type(exc).__name__)
        session()[ERROR_KEY] = "The case store could not be reached; answers are not being saved."


def after_page() -> None:
    """At the end of every rerun: save what the page changed."""
    autosave(workspace("client"), before_widgets=False)
    keep_in_url()


def sidebar() -> None:
    """The store's status in the sidebar (and the key form while it is locked)."""
    state = session()
    store = current()
    error = state.get(ERROR_KEY)
    if store is None and error == "locked":
        with st.form("store_unlock", clear_on_submit=True):
            st.caption("The case store is encrypted. Enter its key to keep cases between sessions "
                       "(the first key you choose creates it).")
            key = st.text_input("Case store key", type="password")
            if st.form_submit_button("Open the case store") and key:
                problem = unlock(key)
                if problem:
                    st.error(problem)
                else:
                    st.rerun()
        return
    if store is None:
        st.warning(f"Cases are not being saved: {error}.")
        return
    code = open_code()
    if error:
        st.warning(str(error))
    kb = default_knowledge_base()
    given = [q for q in workspace("client").answers if q in kb.questions
             and kb.questions[q].section != "subject"]
    if code is None and given:
        st.warning("These answers are not saved yet: create a client on **Cases** (keeping the "
                   "answers already in the form) or open one.")
    elif code is None:
        st.caption("No client open: the first answer creates one under a new code (or the case id "
                   "given in the form), saved as you go; or open or create one on **Cases**.")
    else:
        st.caption(f"Client **{md_text(code)}**: every answer is saved as you go.")


def conclusion_labels(record: cases.ClientRecord) -> dict[str, str]:
    """Each conclusion of the client's assessments, in words ("Driver: Alexithymia")."""
    out: dict[str, str] = {}
    for a in record.assessments:
        out[f"spectrum.{a.position}"] = f"Position: {a.label}"
        for kind, ident, label in a.summary["conclusions"]:
            out[f"{kind.rstrip('s')}.{ident}"] = f"{KIND_WORDS.get(kind, kind)}: {label}"
    return out


def recorded_feedback() -> list[Feedback]:
    """The open client's recorded agreements and overrides, oldest first, for the report."""
    code = open_code()
    store = current() if code else None
    if code is None or store is None:
        return []
    try:
        record = cases.assessments(store, code)
        history = client_feedback(store, code)
    except StoreError:
        return []
    labels = conclusion_labels(record)
    return [Feedback(date=f.created_at.date().isoformat(), by=f.actor,
                     verdict="accepted" if f.agree else "overridden",
                     conclusion=f"{labels.get(f.conclusion, 'an earlier conclusion')} "
                                f"(assessment {f.version})",
                     reason=f.reason_display, note=f.comment)
            for f in history]
