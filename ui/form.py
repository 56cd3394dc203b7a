"""The multi-step assessment form, generated from the knowledge base's steps and questions.

Shared by the client assessment and the clinician self-check; only the workspace differs.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from engine import KnowledgeBase
from engine.case import NOTES_MAX
from engine.knowledge import Group, Question
from ui.a11y import focus_heading
from ui.state import Workspace, case_id_problem, session, subject_of
from ui.widgets import SOURCES_KEY, question_input, sync


def form_steps(ws: Workspace, kb: KnowledgeBase) -> list[tuple[Group, list[Question]]]:
    """The steps of the form with their questions (the subject question only when not fixed)."""
    out = []
    for i, step in enumerate(kb.steps):
        qs = [q for q in kb.questions.values()
              if q.step == step.id and not (ws.fixed_subject and q.section == "subject")]
        if qs or i == 0:  # the first step also holds the case id and notes
            if not qs:  # nothing to ask here (the subject is fixed): only the case's own fields
                step = step.model_copy(update={"label": "About this check", "help": None})
            out.append((step, qs))
    return out


def answerable(ws: Workspace, kb: KnowledgeBase) -> list[Question]:
    """The questions this workspace asks (for the progress count)."""
    return [q for _, qs in form_steps(ws, kb) for q in qs if q.section != "subject"]


def _go(ws: Workspace, key: str, index: int) -> None:
    session()[key] = index
    ws.step = index
    # Back, Next and a reviewed answer open the step at its top, with focus on its heading.
    session()[f"{ws.prefix}_focus"] = int(session().get(f"{ws.prefix}_focus_n", 0)) + 1
    session()[f"{ws.prefix}_focus_n"] = session()[f"{ws.prefix}_focus"]


def go_to_step(ws: Workspace, index: int) -> None:
    """Open a step of the form (e.g. from the review), at its top with focus on its heading."""
    _go(ws, f"{ws.prefix}_step", index)


def step_of(ws: Workspace, kb: KnowledgeBase, qid: str) -> int | None:
    """The index of the form step that asks a question."""
    return next((i for i, (_, qs) in enumerate(form_steps(ws, kb)) if any(q.id == qid for q in qs)), None)


def case_fields(ws: Workspace) -> None:
    """The case file's own fields: a pseudonymous case id and free notes (never read by rules)."""
    state = session()
    id_key, notes_key = f"{ws.prefix}_case_id", f"{ws.prefix}_notes"
    if id_key not in state:
        state[id_key] = ws.case_id
    if notes_key not in state:
        state[notes_key] = ws.notes
    ws.case_id = st.text_input(
        "Case id (optional)", key=id_key, max_chars=40,
        help="A short pseudonymous code such as C-0142. Never a name.")
    problem = case_id_problem(ws.case_id.strip())
    if problem:
        st.error(problem, icon=":material/error:")
    ws.notes = st.text_area(
        "Notes (optional; never read by the rules)", key=notes_key, max_chars=NOTES_MAX, height=90,
        help="Saved with the case file; stays in this browser session otherwise.")


def step_form(ws: Workspace, kb: KnowledgeBase, final_label: str,
              final: Callable[[], None], header: Callable[[], None] | None = None) -> None:
    """Draw the step navigator, the progress, the current step's questions, Back and Next."""
    sync(ws, kb)
    steps = form_steps(ws, kb)
    labels = [s.label for s, _ in steps] + [final_label]
    state = session()
    step_key = f"{ws.prefix}_step"
    if state.get(step_key) not in range(len(labels)):
        state[step_key] = min(ws.step, len(labels) - 1)
    index = st.radio("Step", list(range(len(labels))), key=step_key, horizontal=True,
                     format_func=lambda i: f"{i + 1}. {labels[i]}")
    ws.step = index
    asked = answerable(ws, kb)
    done = sum(1 for q in asked if q.id in ws.answers)
    st.progress((index + 1) / len(labels),
                text=f"Step {index + 1} of {len(labels)}: {labels[index]}. "
                     f"{done} of {len(asked)} questions answered; the rest count as unknown.")
    if header is not None:
        header()
    focus = state.pop(f"{ws.prefix}_focus", None)
    if focus is not None:
        focus_heading(labels[index] if index >= len(steps) else steps[index][0].label, int(focus))
    if index < len(steps):
        step, questions = steps[index]
        st.subheader(step.label)
        if step.help:
            st.caption(step.help)
        if questions:
            st.toggle("Show where each question comes from (its source)", key=SOURCES_KEY)
        subject = subject_of(ws, kb)
        groups = {g.id: g.label for g in kb.groups}
        shown_group = None
        several = len({q.group for q in questions}) > 1
        for q in questions:
            if several and q.group != shown_group:
                st.markdown(f"**{groups.get(q.group, q.group)}**")
                shown_group = q.group
            question_input(ws, kb, q, subject)
            subject = subject_of(ws, kb)  # the subject question rewords what follows
        if index == 0:
            case_fields(ws)
    else:
        final()
    back, _, nxt = st.columns([1, 3, 1])
    with back:
        st.button("Back", key=f"{ws.prefix}_back", disabled=index == 0, on_click=_go,
                  args=(ws, step_key, index - 1), width="stretch")
    with nxt:
        st.button("Next", key=f"{ws.prefix}_next", disabled=index == len(labels) - 1,
                  on_click=_go, args=(ws, step_key, index + 1), type="primary",
                  width="stretch")
