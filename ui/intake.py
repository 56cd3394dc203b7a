"""Page: the intake meeting: today's cases in one table, those that need attention first.

The queue is the clients with answers in progress or assessed today in the case store, and any
case files added here; each row gives the position, whether it is stable or what is still
unassessed, the drivers, the top caution and the next question (`engine.batch`, the same table
as `python -m engine batch`). Open a client to triage it; export the table.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from engine import CaseError, KnowledgeBase, default_knowledge_base
from engine.batch import batch, error_row
from engine.batch_table import render_table
from engine.case import ANSWER_SECTIONS, load_text
from store import cases
from ui import persistence
from ui.state import Workspace, effective_answers, session, workspace

PAGE_TITLE = "Intake meeting"
MAX_FILES = 200
MAX_BYTES = 512 * 1024


def _case_of_draft(kb: KnowledgeBase, code: str, data: dict[str, object]) -> dict[str, object]:
    ws = Workspace("intake", "intake_")
    given = data.get("answers")
    ws.answers = dict(given) if isinstance(given, dict) else {}
    answers, _ = effective_answers(ws, kb)
    case: dict[str, object] = {"schema_version": 1, "case_id": code}
    for section in ANSWER_SECTIONS:
        values = {q.id: answers[q.id] for q in kb.questions_in(section) if q.id in answers}
        if values:
            case[section] = values
    if data.get("as_of"):
        case["as_of"] = data["as_of"]
    elif any(kb.questions[q].kind == "date" for q in answers if q in kb.questions):
        case["as_of"] = date.today().isoformat()
    return case


def _open(code: str) -> None:
    store = persistence.current()
    if store is not None:
        persistence.open_client(store, code, workspace("client"))
        session()["intake_opened"] = code


def main() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    store = persistence.current()
    items: list[tuple[str, object]] = []
    errors = []
    codes: set[str] = set()
    if store is not None:
        today = date.today()
        for row in cases.recent_clients(store, limit=MAX_FILES):
            if row.last_activity.date() != today:
                continue
            record = cases.assessments(store, row.code)
            draft = record.drafts.get("client")
            if draft is not None:
                items.append((row.code, _case_of_draft(kb, row.code, draft.answers)))
            elif record.latest is not None:
                items.append((row.code, record.latest.answers))
            codes.add(row.code)
    files = st.file_uploader("Add case files (JSON or YAML)", accept_multiple_files=True,
                             type=["json", "yaml", "yml"], key="intake_files")
    for f in (files or [])[:MAX_FILES]:
        data = f.getvalue()
        if len(data) > MAX_BYTES:
            errors.append(error_row(f.name, ["too large for a case file"]))
            continue
        try:
            items.append((f.name, load_text(data.decode("utf-8"), name=f.name)))
        except (CaseError, UnicodeDecodeError) as exc:
            lines = exc.lines() if isinstance(exc, CaseError) else ["is not UTF-8 text"]
            errors.append(error_row(f.name, lines))
    if not items and not errors:
        st.info("No case today yet: clients worked on today in the case store appear here, "
                "and case files can be added above.")
        return
    rows = batch(kb, items, errors)
    opened = session().pop("intake_opened", None)
    if opened:
        st.success(f"Client {opened} is open: go to **Assessment** or **Quick triage**.")
    for i, r in enumerate(rows):
        cols = st.columns([2, 3, 4, 1])
        cols[0].markdown(f"**{r.case}**")
        if r.problems:
            cols[1].error("Invalid case")
            cols[2].write("; ".join(r.problems[:3]))
            continue
        cols[1].write(r.position_label or "")
        status = "stable" if r.stable else ("still unassessed: " + ", ".join(r.unassessed) if r.unassessed
                                            else "open questions could change it")
        details = [status]
        if r.caution_title:
            details.append(f"caution: {r.caution_title}")
        if r.next_question and r.next_question in kb.questions:
            details.append(f"next: {kb.questions[r.next_question].prompt}")
        cols[2].write(" · ".join(details))
        if r.case in codes:
            cols[3].button("Open", key=f"intake_open_{i}", on_click=_open, args=(r.case,))
    st.download_button("Export the table (CSV)", render_table(rows, "csv", kb), file_name="intake.csv",
                       mime="text/csv", key="intake_csv")


main()
