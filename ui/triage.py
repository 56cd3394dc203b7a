"""Page: quick triage for intake, a handful of questions chosen by the next-question ranking.

The answers are the client assessment's own, so the full assessment continues where triage stops.
"""

from __future__ import annotations

import streamlit as st

from engine import KnowledgeBase, Report, default_knowledge_base
from ui.state import CLIENT, Workspace, effective_answers, evaluate, subject_of, workspace
from ui.views import CONCLUSION_KINDS, explanations, problems_box, spectrum_section
from ui.widgets import question_input, sync
from ui.words import could_change_most, md_text, ref_label

PAGE_TITLE = "Quick triage"
AT_ONCE = 3     # next questions shown together
MORE = 3        # questions added by "Ask more"


def ranked(kb: KnowledgeBase, report: Report, ws: Workspace) -> list[str]:
    """Unanswered question ids, most useful first, that could still change a conclusion.

    The ranking is the engine's. Without it (an engine with no explanations), the catalogue's
    first steps are used in order, and the page says so.
    """
    given = effective_answers(ws, kb)[0]
    if report.questions:
        ids = [q.id for q in report.questions if getattr(q, "needed", True)]
    else:
        first_steps = [s.id for s in kb.steps[:3]]
        ids = [q.id for q in kb.questions.values() if q.step in first_steps and q.section != "subject"]
    # A question that its requirement rules out (weeks since the situation ended, while it has
    # not ended) cannot be answered yet; it comes back once its requirement is met.
    return [qid for qid in ids if qid in kb.questions and qid not in ws.answers
            and kb.questions[qid].requirements_met(given)]


def _more(ws: Workspace) -> None:
    ws.triage_budget += MORE


def _restart(ws: Workspace) -> None:
    ws.triage_asked = []
    ws.triage_shown = []
    ws.triage_budget = Workspace.triage_budget


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    ws = workspace(CLIENT)
    sync(ws, kb)
    subject = subject_of(ws, kb)
    st.title(PAGE_TITLE)
    st.markdown("A few questions, chosen because their answers are the most likely to change the "
                "result. The result updates with each answer. Everything answered here is kept "
                "in the full assessment.")
    ev = evaluate(ws, kb)
    if ev.report is None:
        problems_box(ev.problems)
        return
    report = ev.report
    # A question asked here stays on the page once answered, so the answer can be changed.
    for qid in ws.triage_shown:
        if qid in ws.answers and qid not in ws.triage_asked:
            ws.triage_asked.append(qid)
    ws.triage_asked = [q for q in ws.triage_asked if q in kb.questions]
    upcoming = [q for q in ranked(kb, report, ws) if q not in ws.triage_asked]
    room = max(0, ws.triage_budget - len(ws.triage_asked))
    shown_next = upcoming[:min(AT_ONCE, room)]

    spectrum_section(kb, report, subject, compact=True)
    so_far = []
    for kind, attr, title in CONCLUSION_KINDS:
        if kb.catalogue.get(kind):
            found = ", ".join(kb.entry(f"{kind}.{i}").label for i in getattr(report, attr))
            so_far.append(f"{title}: {found or 'none yet'}")
    if so_far:
        st.markdown(md_text(". ".join(so_far)) + ".")
    robust = explanations(report).get("robustness")
    if isinstance(robust, dict) and robust.get("stable"):
        st.success("Stable: no answer to the remaining questions would move the spectrum position.",
                   icon=":material/check_circle:")
    elif isinstance(robust, dict):
        reach = [ref_label(kb, f"spectrum.{p}") for p in robust.get("reachable_positions", [])]
        st.info("Provisional: further answers could still move the position"
                + (f" (possible: {md_text(', '.join(reach))})." if reach else "."),
                icon=":material/pending:")
    else:
        st.caption("Whether the result is stable cannot be told right now; treat it as provisional.")
    if not report.questions:
        st.caption("The engine's question ranking is not available; the first questions of the "
                   "assessment are asked in order.")

    asked = [q for q in ws.triage_asked if q in kb.questions]
    if asked:
        st.subheader("Answered here")
        for qid in asked:
            with st.container(border=True):
                question_input(ws, kb, kb.questions[qid], subject)
    st.subheader("Next questions")
    if not shown_next:
        if not upcoming:
            st.markdown("No open question could change the result any more.")
        else:
            st.markdown("That was the quick triage. Continue in the full assessment, or ask more.")
            st.button("Ask more questions", key="triage_more", on_click=_more, args=(ws,))
    for qid in shown_next:
        q = kb.questions[qid]
        could = next((x.could_change for x in report.questions if x.id == qid), [])
        with st.container(border=True):
            question_input(ws, kb, q, subject)
            if could:
                st.caption("Its answer could change " + md_text(could_change_most(kb, could)) + ".")
    ws.triage_shown = shown_next
    left, right = st.columns(2)
    with left:
        st.page_link("ui/assessment.py", label="Continue in the full assessment",
                     icon=":material/assignment:")
        st.page_link("ui/results.py", label="See the full results", icon=":material/insights:")
    with right:
        st.button("Start the triage list again (answers are kept)", key="triage_restart",
                  on_click=_restart, args=(ws,))


if __name__ == "__main__":
    render()
