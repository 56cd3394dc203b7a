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
from engine.render import NOTICE
from ui.graph import inference_dot
from ui.spectrum import describe, spectrum_html
from ui.state import Evaluation, subject_question
from ui.words import (
    condition_words,
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
STATUS_WORDS = {"met": "✓ met", "unmet": "✗ not met", "unknown": "? unknown (not answered)"}


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
        lines.append(f"{pad}- **{md_text(str(step.get('title', '')))}** (`{step.get('rule', '')}`)  ")
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


def _condition_texts(kb: KnowledgeBase, rule_id: str, count: int) -> list[str] | None:
    """A rule's conditions in words, in the engine's order (when, then unless)."""
    rule = next((r for r in kb.rules if r.id == rule_id), None)
    if rule is None:
        return None
    texts = [condition_words(kb, c) for c in rule.when]
    texts += [f"without “{ref_label(kb, r)}”" for r in rule.unless]
    return texts if len(texts) == count else None


def why_not_lines(kb: KnowledgeBase, rules: Iterable[Mapping[str, Any]], depth: int = 0) -> list[str]:
    """The rules that could have reached a conclusion, each condition with its status in words."""
    pad = "    " * depth
    lines = []
    for rule in rules:
        rid = str(rule.get("rule", ""))
        lines.append(f"{pad}- {md_text(str(rule.get('title', '')))} (`{rid}`)")
        conds = list(rule.get("conditions", []))
        texts = _condition_texts(kb, rid, len(conds))
        for i, cond in enumerate(conds):
            status = str(cond.get("status"))
            text = texts[i] if texts else str(cond.get("label") or cond.get("text", ""))
            line = f"{pad}    - {STATUS_WORDS.get(status, status)}: {md_text(text)}"
            if status == "unmet" and cond.get("value") not in (None, "unanswered"):
                line += f" (answer given: {md_text(str(cond['value']))})"
            lines.append(line)
            nested = cond.get("unmet_because")
            if nested and depth < 2:
                lines.append(f"{pad}        - which was not reached because:")
                lines.extend(why_not_lines(kb, nested, depth + 3))
    return lines


def why_not_expander(kb: KnowledgeBase, report: Report, refs: list[str], title: str) -> None:
    """'Why not': for conclusions not reached, which conditions of their rules are unmet or unknown."""
    why_not = explanations(report).get("why_not")
    with st.expander(title):
        if why_not is None:
            st.markdown("Explanations are not available in this version of the engine.")
            return
        shown = False
        for ref in refs:
            rules = why_not.get(ref, [])
            if not rules:
                continue
            shown = True
            st.markdown(f"**{md_text(ref_label(kb, ref))}** was not reached. Each rule below would "
                        "reach it if all its conditions were met:\n\n" + "\n".join(why_not_lines(kb, rules)))
        if not shown:
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
        lines = []
        for item in items:
            parts = []
            for ch in item.get("changes", []):
                qid = str(ch.get("question", ""))
                q = kb.questions.get(qid)
                to = option_label(q, ch.get("to")) if q else str(ch.get("to"))
                frm = option_label(q, ch.get("from")) if q else str(ch.get("from"))
                parts.append(f"“{md_text(question_label(kb, qid, subject))}” {md_text(to)} "
                             f"(now {md_text(frm)})")
            result = str(item.get("result", ""))
            lines.append(f"- If {' and '.join(parts)}: {md_text(_result_words(kb, kind_key, result))}")
        st.markdown("\n".join(lines))


def _result_words(kb: KnowledgeBase, kind_key: str, result: str) -> str:
    kind = {"spectrum": "spectrum", "drivers": "driver", "formulations": "formulation",
            "origins": "origin"}.get(kind_key, kind_key)
    if "." in result:
        return ref_label(kb, result)
    ids = [x.strip() for x in result.replace("+", ",").split(",") if x.strip()]
    entries = kb.catalogue.get(kind, {})
    if ids and all(i in entries for i in ids):
        return ", ".join(entries[i].label for i in ids)
    return result or "none"


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
    why_not_expander(kb, report, others, "Why not another position")
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
            why_not_expander(kb, report, missing, f"Why not the other {title.lower()}")
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


def measures_section(report: Report) -> None:
    """Measures to give, and the reading of the scores given."""
    st.subheader("Standardized measures")
    if report.measures:
        st.markdown("**To administer**")
        st.markdown("\n".join(f"- **{md_text(m.name)}**: {md_text(m.reason)}" for m in report.measures))
    if report.interpretations:
        st.markdown("**Scores given**")
        st.markdown("\n".join(
            f"- **{md_text(i.title)}** ({', '.join(f'{k} = {v}' for k, v in i.scores.items())}): "
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
    """The unanswered questions, most useful first, and what each could change."""
    st.subheader("Open questions")
    if not report.questions:
        st.markdown("No ranked questions are available." if not explanations(report)
                    else "None: every question that matters has an answer.")
        return
    needed = [q for q in report.questions if getattr(q, "needed", True)]
    rest = [q for q in report.questions if not getattr(q, "needed", True)]
    lines = []
    for q in needed[:limit]:
        could = ", ".join(ref_label(kb, r) if "." in r else kind_name(r) for r in q.could_change)
        lines.append(f"1. {md_text(question_label(kb, q.id, subject))}"
                     + (f" *(could change: {md_text(could)})*" if could else ""))
    st.markdown("\n".join(lines) or "None that could change a conclusion.")
    if len(needed) > limit:
        st.caption(f"{len(needed) - limit} more open questions could still change something.")
    if rest:
        st.caption(f"{len(rest)} other unanswered questions would not change any conclusion.")


def inconsistencies_section(report: Report) -> None:
    """Answers that contradict each other, for the clinician to check."""
    if not report.inconsistencies:
        return
    st.subheader("Answers to check")
    for x in report.inconsistencies:
        st.warning(f"**Check: {md_text(x.title)}**  \n{md_text(x.text)}", icon=":material/rule:")


def trace_section(kb: KnowledgeBase, report: Report, subject: str) -> None:
    """Every rule that fired, in order, with the facts it used and its source."""
    with st.expander(f"Full reasoning: {len(report.trace)} rules fired"):
        lines = []
        for i, step in enumerate(report.trace, 1):
            used = "; ".join(md_text(fact_words(kb, u, subject)) for u in step.used)
            asserted = ", ".join(md_text(ref_label(kb, a)) for a in step.asserted)
            lines.append(f"{i}. **{md_text(step.title)}** (`{step.rule}`)  \n"
                         f"   Because: {used}  \n   Concludes: {asserted}  \n"
                         f"   {_source_line(step.source.model_dump())}")
        st.markdown("\n".join(lines) or "No rule fired.")
    fired = {step.rule for step in report.trace}
    if fired:
        with st.expander("Reasoning graph for this case"):
            st.caption("The rules that fired (bold boxes), from the answers to the conclusions. "
                       "Notes are answers, ellipses findings, hexagons conclusions, boxes advice.")
            st.graphviz_chart(inference_dot(kb, [r for r in kb.rules if r.id in fired], highlight=fired),
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


def report_view(kb: KnowledgeBase, ev: Evaluation, subject: str) -> None:
    """The whole report for one evaluation."""
    if ev.report is None:
        problems_box(ev.problems)
        return
    report = ev.report
    st.info(NOTICE, icon=":material/info:")
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
    measures_section(report)
    reflections_section(report)
    open_questions_section(kb, report, subject)
    trace_section(kb, report, subject)
