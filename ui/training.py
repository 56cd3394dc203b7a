"""Page: training vignettes built from the source's examples.

The trainee commits to a prediction first; only then the engine's reasoning is shown, with
where the two differ.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine import CaseError, KnowledgeBase, KnowledgeBaseError, default_knowledge_base, parse_case
from engine.case import Case
from engine.vignettes import Vignette, default_vignettes
from ui.state import CLIENT, assess_case, load_case, session, workspace
from ui.views import case_line, problems_box, report_view
from ui.words import md_text, option_label, question_label

PAGE_TITLE = "Training vignettes"
PREDICTED = ("spectrum", "driver", "formulation", "origin")
REPORT_FIELD = {"driver": "drivers", "formulation": "formulations", "origin": "origins"}
FIELD_TITLES = {"spectrum": "Spectrum position", "driver": "Drivers", "formulation": "Formulation",
                "origin": "Likely origins"}


def predictions() -> dict[str, dict[str, Any]]:
    """The trainee's committed predictions in this session, by vignette id."""
    state = session()
    if "train_predictions" not in state:
        state["train_predictions"] = {}
    out: dict[str, dict[str, Any]] = state["train_predictions"]
    return out


def _commit(vid: str, kinds: list[str]) -> None:
    state = session()
    pred: dict[str, Any] = {}
    for kind in kinds:
        value = state.get(f"train_{vid}_{kind}")
        pred[kind] = list(value) if isinstance(value, list) else value
    predictions()[vid] = pred


def _forget(vid: str) -> None:
    predictions().pop(vid, None)


def _load_into_assessment(vid: str) -> None:
    kb = default_knowledge_base()
    vignette = next(v for v in default_vignettes() if v.id == vid)
    ws = workspace(CLIENT)
    load_case(ws, parse_case(vignette.case, kb), kb)
    ws.message = ("success", [f"Loaded the vignette “{vignette.title}” into the assessment."])
    session()["train_loaded"] = vid


def case_in_words(kb: KnowledgeBase, case: Case) -> str:
    """The vignette's answers as a Markdown list, in the catalogue's order."""
    lines = [f"- {md_text(question_label(kb, q.id, case.subject))} "
             f"**{md_text(option_label(q, case.answers[q.id]))}**"
             for q in kb.questions.values() if q.id in case.answers and q.section != "subject"]
    return "\n".join(lines) or "- nothing answered"


def _labels(kb: KnowledgeBase, kind: str, ids: Any) -> str:
    if isinstance(ids, str):
        ids = [ids]
    entries = kb.catalogue.get(kind, {})
    return ", ".join(entries[i].label if i in entries else str(i) for i in ids) or "none"


def prediction_form(kb: KnowledgeBase, v: Vignette) -> None:
    """The trainee's prediction, for each kind of conclusion the knowledge base has."""
    kinds = [k for k in PREDICTED if kb.catalogue.get(k)]
    with st.form(key=f"train_form_{v.id}"):
        st.markdown("**Your prediction**, before you see the engine's reasoning:")
        for kind in kinds:
            ids: list[str] = list(kb.catalogue[kind])
            label = FIELD_TITLES[kind]

            def entry_label(i: str, k: str = kind) -> str:
                return kb.catalogue[k][i].label

            if kind == "spectrum":
                st.radio(label, ids, key=f"train_{v.id}_{kind}", format_func=entry_label)
            else:
                st.multiselect(f"{label} (leave empty for none)", ids, key=f"train_{v.id}_{kind}",
                               format_func=entry_label)
        st.form_submit_button("Commit my prediction", type="primary", on_click=_commit,
                              args=(v.id, kinds))


def outcome(kb: KnowledgeBase, v: Vignette, case: Case, prediction: dict[str, Any]) -> None:
    """Where the trainee and the engine agree and differ, then the engine's reasoning."""
    ev = assess_case(case, kb)
    if ev.report is None:
        problems_box(ev.problems)
        return
    report = ev.report
    engine = {"spectrum": report.spectrum.position, "driver": report.drivers,
              "formulation": report.formulations, "origin": report.origins}
    st.subheader("Your prediction and the engine's")
    rows = ["| | You | Engine | |", "|---|---|---|---|"]
    differ = 0
    for kind in PREDICTED:
        if kind not in prediction:
            continue
        mine, theirs = prediction[kind], engine[kind]
        same = set(mine) == set(theirs) if isinstance(mine, list) else mine == theirs
        differ += not same
        rows.append(f"| {FIELD_TITLES[kind]} | {md_text(_labels(kb, kind, mine))} | "
                    f"{md_text(_labels(kb, kind, theirs))} | {'✓ same' if same else '✗ differs'} |")
    st.markdown("\n".join(rows))
    if differ:
        st.info(f"You differ from the engine on {differ} point(s). Open “How” and “Why not” below to "
                "see which answers and rules lead there.", icon=":material/compare_arrows:")
    else:
        st.success("You reached the same conclusions as the engine. Check the reasoning below: the "
                   "same answer can rest on different reasons.", icon=":material/check_circle:")
    if v.teaching_points:
        st.markdown("**Teaching points**\n\n" + "\n".join(f"- {md_text(t)}" for t in v.teaching_points))
    if v.note:
        st.markdown("**The author's reading of the source**\n\n" + md_text(v.note))
    for d in v.dissent:
        st.markdown("**Where the engine reads it differently**\n\n" + md_text(d.argument))
    st.divider()
    report_view(kb, ev, case.subject)


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    try:
        vignettes = list(default_vignettes())
    except KnowledgeBaseError as exc:
        problems_box(exc.lines())
        return
    if not vignettes:
        st.markdown("No vignettes are available.")
        return
    by_id = {v.id: v for v in vignettes}
    vid = st.selectbox("Vignette", list(by_id), key="train_vignette",
                       format_func=lambda i: by_id[i].title)
    v = by_id[vid]
    st.markdown(md_text(v.summary))
    st.caption(f"Source: {v.source.section}: “{v.source.quote}”")
    try:
        case = parse_case(v.case, kb)
    except CaseError as exc:
        problems_box(exc.lines())
        return
    with st.expander("What the clinician knows (the vignette's answers)", expanded=True):
        st.caption(case_line(kb, case))
        st.markdown(case_in_words(kb, case))
    prediction = predictions().get(v.id)
    if prediction is None:
        prediction_form(kb, v)
        st.caption("The engine's reasoning appears once you commit to a prediction.")
        return
    outcome(kb, v, case, prediction)
    left, right = st.columns(2)
    with left:
        st.button("Try this vignette again", key=f"train_{v.id}_again", on_click=_forget, args=(v.id,))
    with right:
        st.button("Load into the assessment (replaces the current answers)", key=f"train_{v.id}_load",
                  on_click=_load_into_assessment, args=(v.id,))
    if session().get("train_loaded") == v.id:
        st.page_link("ui/results.py", label="Loaded: see it on the Results page",
                     icon=":material/insights:")


if __name__ == "__main__":
    render()
