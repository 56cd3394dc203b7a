"""The report drawn for people: spectrum picture, conclusions, advice, and the reasoning.

Every conclusion carries expandable How / Why not / What would change it. The explanations come
from the engine (`report.explanations`); when the engine has none, "How" is read from the trace
and the other two say they are not available, so the page always works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st

from engine import Case, KnowledgeBase, Report
from engine.explain import how as engine_how
from engine.formulation import card_markdown, formulation_card
from engine.plain import (
    change_lines,
    could_change_most,
    could_change_summary,
    why_not_markdown,
    why_not_summary,
)
from engine.render import NOTICE
from ui.graph import inference_dot
from ui.spectrum import describe, spectrum_html
from ui.state import Evaluation, Workspace, effective_answers, subject_question
from ui.words import (
    fact_words,
    kind_name,
    md_text,
    option_label,
    question_label,
    ref_label,
)

CONCLUSION_KINDS = (("driver", "drivers", "Drivers"),
                    ("formulation", "formulations", "Formulation"),
                    ("origin", "origins", "Likely origins"))
LEVELS = {"critical": ("Critical", st.error, ":material/report:"),
          "warning": ("Warning", st.warning, ":material/warning:"),
          "info": ("Info", st.info, ":material/info:")}
PIVOTAL_SHOWN = 4
SHOW_IDS_KEY = "show_rule_ids"


def show_ids() -> bool:
    """Whether the trainee's "show rule ids" view is on (ids are hidden from everyone else)."""
    return bool(st.session_state.get(SHOW_IDS_KEY, False))


def rule_id(rule: object) -> str:
    """A rule's id in backticks for the "show rule ids" view, else nothing."""
    return f" (`{rule}`)" if show_ids() and rule else ""


def explanations(report: Report) -> Mapping[str, Any]:
    """The report's explanations (empty when the engine gave none)."""
    return report.explanations or {}


# ---- reasoning pieces ------------------------------------------------------------------------

def _source_line(source: Mapping[str, Any]) -> str:
    line = f"*Source:* {md_text(str(source.get('section', '')))}: “{md_text(str(source.get('quote', '')))}”"
    if source.get("reference"):
        line += f" ({md_text(str(source['reference']))})"
    return line


def how_steps(kb: KnowledgeBase, steps: Iterable[Mapping[str, Any]], subject: str) -> str:
    """Rule firings as a nested Markdown list, deepest reasons indented."""
    lines = []
    for step in steps:
        pad = "    " * int(step.get("depth", 0))
        lines.append(f"{pad}- **{md_text(str(step.get('title', '')))}**{rule_id(step.get('rule'))}  ")
        if step.get("explanation"):
            lines.append(f"{pad}  {md_text(str(step['explanation']))}  ")
        used = [md_text(fact_words(kb, u, subject)) for u in step.get("used", [])]
        if used:
            lines.append(f"{pad}  *Because:* {'; '.join(used)}.  ")
        if step.get("source"):
            lines.append(f"{pad}  {_source_line(step['source'])}")
    return "\n".join(lines)


def how_expander(kb: KnowledgeBase, report: Report, ref: str, subject: str) -> None:
    """'How was this reached': the chain of rules from the answers to this conclusion."""
    how = explanations(report).get("how", {}).get(ref)
    # Without the engine's explanations (they failed), the proof is rebuilt from the trace.
    steps = how.get("steps", []) if isinstance(how, Mapping) else engine_how(kb, report.trace, ref)["steps"]
    with st.expander(f"How “{ref_label(kb, ref)}” was reached"):
        if steps:
            st.markdown(how_steps(kb, steps, subject))
        else:
            st.markdown("No rule fired for this; it is the default when nothing else applies.")


def why_not_expander(kb: KnowledgeBase, report: Report, refs: list[str], title: str,
                     subject: str | None = None) -> None:
    """'Why not': for conclusions not reached, the reasons in words, each shared reason once."""
    why_not = explanations(report).get("why_not")
    with st.expander(title):
        if why_not is None:
            st.markdown("Explanations are not available right now.")
            return
        explained: set[str] = set()
        blocks = [why_not_markdown(why_not_summary(kb, ref, why_not[ref], subject, explained))
                  for ref in refs if ref in why_not and ref not in explained]
        if blocks:
            st.markdown("Each way to a conclusion is one of the rules that can reach it; the reasons "
                        "every way shares are given once.\n\n" + "\n".join(blocks))
        else:
            st.markdown("Nothing to show: every alternative was reached or has no rule.")


def change_expander(kb: KnowledgeBase, report: Report, kind_key: str, subject: str) -> None:
    """'What would change it': the smallest changes of answers that give another result."""
    changes = explanations(report).get("what_would_change")
    title = {"spectrum": "the spectrum position", "drivers": "the drivers",
             "formulations": "the formulation"}.get(kind_key, kind_name(kind_key).lower())
    with st.expander(f"What would change {title}"):
        if changes is None:
            st.markdown("Explanations are not available in this version of the engine.")
            return
        items = changes.get(kind_key, [])
        if not items:
            st.markdown("No single change of the answers given or open would change this.")
            return
        lines = change_lines(kb, items, kind_key, subject)
        if not lines:
            st.markdown("No single change of the answers given or open would change this.")
            return
        st.markdown("\n".join(f"- {md_text(line)}" for line in lines))


# ---- sections ------------------------------------------------------------------------------

def spectrum_section(kb: KnowledgeBase, report: Report, subject: str, compact: bool = False) -> None:
    """The spectrum picture, the position in words, and the evidence for and against."""
    st.subheader(f"Spectrum position: {report.spectrum.label}")
    picture = spectrum_html(kb, report)
    if picture:
        st.html(picture)
    entry = kb.catalogue["spectrum"].get(report.spectrum.position)
    if entry is not None:
        st.markdown(md_text(entry.text))
    st.caption(describe(kb, report))
    if compact:
        return
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Evidence for** ({len(report.spectrum.evidence_for)})")
        st.markdown("\n".join(f"- {md_text(e.text)}" for e in report.spectrum.evidence_for)
                    or "- none recorded")
    with right:
        st.markdown(f"**Evidence against** ({len(report.spectrum.against)})")
        st.markdown("\n".join(f"- {md_text(e.text)}" for e in report.spectrum.against)
                    or "- none recorded")
    how_expander(kb, report, f"spectrum.{report.spectrum.position}", subject)
    others = [f"spectrum.{p}" for p in kb.catalogue["spectrum"] if p != report.spectrum.position]
    why_not_expander(kb, report, others, "Why not another position", subject)
    change_expander(kb, report, "spectrum", subject)
    stability_note(kb, report, subject)


def stability_note(kb: KnowledgeBase, report: Report, subject: str) -> None:
    """Whether any open answer could still move the position."""
    robust = explanations(report).get("robustness")
    if not isinstance(robust, Mapping):
        return
    if robust.get("stable"):
        st.success("Stable: no answer to the open questions would move the spectrum position.",
                   icon=":material/check_circle:")
    else:
        pivotal = [question_label(kb, q, subject) for q in robust.get("pivotal", [])]
        reach = [ref_label(kb, f"spectrum.{p}") for p in robust.get("reachable_positions", [])
                 if p != report.spectrum.position]
        text = "Provisional: open answers could still move the position"
        if reach:
            found = "it could become" if robust.get("exhaustive", True) else (
                "a partial search found it could become")
            text += f" ({found}: {', '.join(reach)})"
        if pivotal:
            more = f"; and {len(pivotal) - PIVOTAL_SHOWN} more" if len(pivotal) > PIVOTAL_SHOWN else ""
            text += (". Questions that could move it: "
                     + "; ".join(f"“{p}”" for p in pivotal[:PIVOTAL_SHOWN]) + more)
        st.info(md_text(text) + ".", icon=":material/pending:")


def conclusions_section(kb: KnowledgeBase, report: Report, subject: str) -> None:
    """Drivers, formulation and origins, each with How / Why not / What would change it."""
    for kind, attr, title in CONCLUSION_KINDS:
        st.subheader(title)
        reached = list(getattr(report, attr))
        catalogue = kb.catalogue.get(kind, {})
        if not catalogue:
            st.caption("The knowledge base has no entries of this kind yet.")
            continue
        for ident in reached:
            entry = catalogue.get(ident)
            st.markdown(f"**{md_text(entry.label if entry else ident)}**"
                        + (f": {md_text(entry.text)}" if entry else ""))
            how_expander(kb, report, f"{kind}.{ident}", subject)
        if not reached:
            st.markdown("None established from the answers so far.")
        missing = [f"{kind}.{i}" for i in catalogue if i not in reached]
        if missing:
            why_not_expander(kb, report, missing, f"Why not the other {title.lower()}", subject)
        if attr in ("drivers", "formulations"):
            change_expander(kb, report, attr, subject)


def cautions_section(report: Report) -> None:
    """Caution cards by level: the level is written out and has its own icon, not only a colour."""
    if not report.cautions:
        return
    st.subheader("Cautions")
    for c in report.cautions:
        word, box, icon = LEVELS.get(c.level, ("Info", st.info, ":material/info:"))
        box(f"**{word}: {md_text(c.title)}**  \n{md_text(c.text)}", icon=icon)


def recommendations_section(kb: KnowledgeBase, report: Report, subject: str) -> None:
    """Recommendations grouped by approach, each with its pacing and why."""
    st.subheader("Recommendations")
    if not report.recommendations:
        st.markdown("None from the answers so far.")
        return
    groups: dict[str, list[Any]] = {}
    for rec in report.recommendations:
        groups.setdefault(rec.approach_label, []).append(rec)
    for approach, recs in groups.items():
        st.markdown(f"##### {md_text(approach)}")
        for rec in recs:
            st.markdown(f"**{md_text(rec.title)}**: {md_text(rec.text)}  \n"
                        f"*Pacing:* {md_text(rec.pacing)}  \n*Why:* {md_text(rec.why)}")
            how_expander(kb, report, f"recommendation.{rec.id}", subject)


def measures_section(kb: KnowledgeBase, report: Report) -> None:
    """Measures to give, and the reading of the scores given."""
    st.subheader("Standardized measures")
    if report.measures:
        st.markdown("**To administer**")
        st.markdown("\n".join(f"- **{md_text(m.name)}**: {md_text(m.reason)}" for m in report.measures))
    if report.interpretations:
        st.markdown("**Scores given**")
        st.markdown("\n".join(
            f"- **{md_text(i.title)}** "
            f"({md_text('; '.join(f'{question_label(kb, k)}: {v}' for k, v in i.scores.items()))}): "
            f"{md_text(i.text)}" for i in report.interpretations))
    if not report.measures and not report.interpretations:
        st.markdown("None suggested, and no scores to read.")


def reflections_section(report: Report) -> None:
    """Prompts for the therapist's own reflection (countertransference, self-care)."""
    st.subheader("Reflections for the therapist")
    if not report.reflections:
        st.markdown("None from the answers so far.")
        return
    st.markdown("\n".join(f"- **{md_text(r.title)}**: {md_text(r.text)}" for r in report.reflections))


def open_questions_section(kb: KnowledgeBase, report: Report, subject: str, limit: int = 10) -> None:
    """The unanswered questions, most useful first: one line each on what it could change most,
    everything it could change behind an expander."""
    st.subheader("Open questions")
    if not report.questions:
        st.markdown("No ranked questions are available." if not explanations(report)
                    else "None: every question that matters has an answer.")
        return
    needed = [q for q in report.questions if getattr(q, "needed", True)]
    rest = [q for q in report.questions if not getattr(q, "needed", True)]
    lines = [f"1. {md_text(question_label(kb, q.id, subject))}: could change "
             f"{md_text(could_change_most(kb, q.could_change))}" for q in needed[:limit]]
    st.markdown("\n".join(lines) or "None that could change a conclusion.")
    if needed:
        with st.expander(f"Everything each of the {len(needed)} open questions could change"):
            st.markdown("\n".join(f"1. {md_text(question_label(kb, q.id, subject))}: "
                                   f"{md_text(could_change_summary(kb, q.could_change))}" for q in needed))
    if rest:
        st.caption(f"{len(rest)} other unanswered questions would not change any conclusion.")


def answer_next(kb: KnowledgeBase, ws: Workspace, report: Report, subject: str, count: int = 3) -> None:
    """The next open questions as inputs, answered in place (the assessment's own answers)."""
    from ui.widgets import question_input, seed  # the form widgets, only on pages that ask

    given = effective_answers(ws, kb)[0]
    ids = [q.id for q in report.questions if q.needed and q.id in kb.questions
           and kb.questions[q.id].requirements_met(given)][:count]
    if not ids:
        return
    st.subheader("Answer the next questions here")
    st.caption("These are the answers most likely to change the result; each answer updates the "
               "page and is kept in the assessment.")
    for qid in ids:
        # Seeded from the answers each time: a widget state left by another page must not win.
        seed(ws, kb.questions[qid])
        with st.container(border=True):
            question_input(ws, kb, kb.questions[qid], subject)


def inconsistencies_section(report: Report) -> None:
    """Answers that contradict each other, for the clinician to check."""
    if not report.inconsistencies:
        return
    st.subheader("Answers to check")
    for x in report.inconsistencies:
        st.warning(f"**Check: {md_text(x.title)}**  \n{md_text(x.text)}", icon=":material/rule:")


def trace_section(kb: KnowledgeBase, report: Report, subject: str) -> None:
    """Every rule that fired, in order, with the facts it used and its source."""
    st.toggle("Show rule ids (for trainees and knowledge engineers)", key=SHOW_IDS_KEY)
    with st.expander(f"Full reasoning: {len(report.trace)} rules fired"):
        lines = []
        for i, step in enumerate(report.trace, 1):
            used = "; ".join(md_text(fact_words(kb, u, subject)) for u in step.used)
            asserted = ", ".join(md_text(ref_label(kb, a)) for a in step.asserted)
            lines.append(f"{i}. **{md_text(step.title)}**{rule_id(step.rule)}  \n"
                         f"   Because: {used}  \n   Concludes: {asserted}  \n"
                         f"   {_source_line(step.source.model_dump())}")
        st.markdown("\n".join(lines) or "No rule fired.")
    fired = {step.rule for step in report.trace}
    if fired:
        with st.expander("Reasoning graph for this case"):
            st.caption("Left to right: the answers given, the findings, the conclusions and the advice "
                       "this case reached, each marked ✓ with a double outline, joined by the rules "
                       "that fired. Notes are answers, ellipses findings, hexagons conclusions, "
                       "boxes advice.")
            reached = {f"question.{q}" for q in report.answers} | {
                a for step in report.trace for a in step.asserted}
            st.graphviz_chart(inference_dot(kb, [r for r in kb.rules if r.id in fired], highlight=fired,
                                            reached=reached),
                              width="stretch", alt=f"Reasoning graph: {len(fired)} rules fired")


def case_line(kb: KnowledgeBase, case: Case) -> str:
    """One line naming the case: its id, who is assessed, how many answers were given."""
    sq = subject_question(kb)
    who = option_label(sq, case.subject) if sq is not None else case.subject
    given = sum(1 for q in case.answers if q in kb.questions and kb.questions[q].section != "subject")
    return (f"Case {case.case_id or '(no case id)'}. Who: {who}. {given} answers given; "
            "everything else counts as unknown.")


def problems_box(problems: list[str]) -> None:
    """Why the case could not be assessed, one line per problem."""
    st.error("The case cannot be assessed until this is fixed (your answers are kept):\n\n"
             + "\n".join(f"- {md_text(p)}" for p in problems))


def formulation_section(kb: KnowledgeBase, report: Report) -> None:
    """The formulation card (the one the reports and the CDS cards show) at the top."""
    with st.container(border=True):
        st.markdown(card_markdown(formulation_card(kb, report), heading="Formulation at a glance"))


def report_view(kb: KnowledgeBase, ev: Evaluation, subject: str, ws: Workspace | None = None) -> None:
    """The whole report for one evaluation; with the workspace, open questions answerable in place."""
    if ev.report is None:
        problems_box(ev.problems)
        return
    report = ev.report
    st.info(NOTICE, icon=":material/info:")
    formulation_section(kb, report)
    if ws is not None:
        answer_next(kb, ws, report, subject)
    if not ev.explained:
        st.caption("Explanations (why not, what would change it, ranked questions) are not available "
                   "right now; the conclusions and their reasoning are.")
    if ev.set_aside:
        st.caption("Kept aside (their condition is not met): "
                   + "; ".join(md_text(question_label(kb, q, subject)) for q in ev.set_aside))
    spectrum_section(kb, report, subject)
    cautions_section(report)
    inconsistencies_section(report)
    conclusions_section(kb, report, subject)
    recommendations_section(kb, report, subject)
    measures_section(kb, report)
    reflections_section(report)
    open_questions_section(kb, report, subject)
    trace_section(kb, report, subject)
