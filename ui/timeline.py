"""Page: the open client over time: the position of each assessment as a chart, what changed
between two assessments, the shift when it happens (with the rule and the source's quote), and
the clinician's agreement or disagreement with a conclusion.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from engine import default_knowledge_base
from engine.knowledge import Position
from store import cases
from store.db import Store, StoreError
from store.feedback import client_feedback, conclusion_rules, counts_per_rule, reasons, record_feedback
from store.timeline import diff, timeline
from ui import persistence
from ui.words import md_text, option_label

PAGE_TITLE = "Timeline"


def _value(kb: object, qid: str, value: object) -> str:
    if value is None:
        return "not given"
    q = default_knowledge_base().questions.get(qid)
    return option_label(q, value) if q is not None else str(value)


def main() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    store = persistence.current()
    code = persistence.open_code()
    if store is None or code is None:
        st.info("Open a client on **Cases** to see its assessments over time.")
        return
    record = cases.assessments(store, code)
    st.subheader(f"Client {code}")
    if not record.assessments:
        st.caption("No saved assessment yet: save one on **Cases**.")
        return
    points = timeline(record, kb)
    ranked = sorted((p for p in kb.catalogue.get("spectrum", {}).values()
                     if isinstance(p, Position) and p.rank is not None), key=lambda p: p.rank or 0)
    labels: dict[int, str] = {p.rank: p.label for p in ranked if p.rank is not None}
    data = [{"as_of": p.as_of.isoformat(), "rank": p.rank, "position": p.label, "version": p.version}
            for p in points if p.rank is not None]
    expr = " : ".join(f"datum.value == {r} ? {label!r}" for r, label in labels.items()) + " : ''"
    source = alt.Data(values=data)  # type: ignore[no-untyped-call]
    chart = (alt.Chart(source).mark_line(point=True).encode(
        x=alt.X("as_of:T", title="Assessment date"),
        y=alt.Y("rank:Q", title=None, scale=alt.Scale(domain=[min(labels), max(labels)]),
                axis=alt.Axis(values=list(labels), labelExpr=expr)),
        tooltip=[alt.Tooltip("version:Q", title="Assessment"), alt.Tooltip("as_of:T", title="As of"),
                 alt.Tooltip("position:N", title="Position")]).properties(height=260))
    st.altair_chart(chart, width="stretch")
    unranked = [p for p in points if p.rank is None]
    if unranked:
        st.caption("Not on the chart (not placed on the spectrum): " +
                   ", ".join(f"assessment {p.version} ({p.label})" for p in unranked))

    versions = [a.version for a in record.assessments]
    by_version = {a.version: a for a in record.assessments}
    if len(versions) >= 2:
        st.subheader("What changed")
        cols = st.columns(2)
        before = cols[0].selectbox("From assessment", versions, index=len(versions) - 2, key="tl_from")
        after = cols[1].selectbox("To assessment", versions, index=len(versions) - 1, key="tl_to")
        d = diff(by_version[before], by_version[after], kb)
        if d.shift is not None:
            s = d.shift
            box = st.warning if s.direction == "towards maladaptive" else st.success
            box(f"**{md_text(s.sentence())}** ({by_version[before].as_of} → {by_version[after].as_of})\n\n"
                f"{md_text(s.rule_title)}: {md_text(s.explanation)}\n\n"
                f"Source: “{md_text(s.quote)}” ({md_text(s.section)})")  # full contrast, no quote block
        else:
            st.caption(f"The position did not move: {by_version[after].label}.")
        if d.answers:
            st.markdown("**Answers that changed**")
            st.dataframe([{"Question": c.prompt, "Before": _value(kb, c.question, c.before),
                           "After": _value(kb, c.question, c.after)} for c in d.answers],
                         hide_index=True, key="tl_answers")
        else:
            st.caption("The same answers (only the assessment date differs).")
        if d.conclusions:
            st.markdown("**Conclusions that changed**")
            st.dataframe([{"": "added" if c.change == "added" else "no longer",
                           "Kind": persistence.KIND_WORDS.get(c.kind, c.kind), "Conclusion": c.label}
                          for c in d.conclusions], hide_index=True, key="tl_conclusions")

    _feedback(store, code, record)


def _feedback(store: Store, code: str, record: cases.ClientRecord) -> None:
    latest = record.assessments[-1]
    labels = persistence.conclusion_labels(record)
    st.subheader("Do you agree?")
    st.caption(f"With the conclusions of assessment {latest.version} (as of {latest.as_of}).")
    report = cases.with_report(store, code, latest).report or {}
    refs = conclusion_rules(report)
    options = [(f"spectrum.{latest.position}", f"Position: {latest.label}")]
    for kind, ident, _label in latest.summary["conclusions"]:
        ref = f"{kind.rstrip('s')}.{ident}"
        if ref in refs:
            options.append((ref, labels[ref]))
    _, vocab = reasons()
    with st.form("tl_feedback", clear_on_submit=True):
        choice = st.selectbox("Conclusion", range(len(options)), format_func=lambda i: options[i][1])
        agree = st.radio("Your judgement", ["Agree", "Disagree"], horizontal=True) == "Agree"
        reason = st.selectbox("Reason (when you disagree)", list(vocab), format_func=vocab.__getitem__)
        comment = st.text_area("Comment (optional)", max_chars=2000)
        if st.form_submit_button("Record"):
            try:
                record_feedback(store, code, latest.version, options[choice][0], agree,
                                persistence.ACTOR, reason_code=None if agree else reason,
                                comment=comment or None)
                st.success("Recorded.")
            except StoreError as exc:
                st.error(str(exc))
    history = client_feedback(store, code)
    if history:
        st.dataframe([{"Assessment": f.version,
                       "Conclusion": labels.get(f.conclusion, "an earlier conclusion"),
                       "Judgement": "agree" if f.agree else "disagree", "Reason": f.reason_display or "",
                       "Comment": f.comment or "", "When": f.created_at.strftime("%Y-%m-%d %H:%M")}
                      for f in history], hide_index=True, key="tl_history")
    counts = counts_per_rule(store)
    if counts:
        titles = {r.id: r.title for r in default_knowledge_base().rules}
        with st.expander("Agreement per rule, all clients (for the knowledge base's upkeep)"):
            st.dataframe([{"Rule": titles.get(rule, "a rule no longer in the knowledge base"),
                           "Disagree": c.disagree, "Agree": c.agree,
                           "Reasons": "; ".join(f"{vocab.get(code, code)} ({n})"
                                                for code, n in c.reasons.most_common())}
                          for rule, c in counts.items()], hide_index=True, key="tl_counts")


main()
