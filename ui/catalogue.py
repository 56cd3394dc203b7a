"""Page: the rule catalogue for trainees, searchable, with the inference graph as a picture."""

from __future__ import annotations

import streamlit as st

from engine import KnowledgeBase, default_knowledge_base
from engine.knowledge import Rule
from ui.graph import inference_dot, overview_dot, overview_groups, related_rules
from ui.views import SHOW_IDS_KEY, show_ids
from ui.words import KIND_NAMES, condition_words, kind_name, md_text, ref_label

PAGE_TITLE = "Rule catalogue"
MAX_DETAILED = 40  # rules in one detailed picture before it stops being readable


def rule_text(kb: KnowledgeBase, rule: Rule) -> str:
    """Everything searchable about a rule, in words."""
    parts = [rule.id, rule.title, rule.explanation, rule.source.section, rule.source.quote,
             *(condition_words(kb, c) for c in rule.when), *(ref_label(kb, r) for r in rule.unless),
             *(ref_label(kb, r) for r in rule.then)]
    return " ".join(parts).lower()


def filter_rules(kb: KnowledgeBase, text: str, concludes: list[str], sections: list[str]) -> list[Rule]:
    """The rules matching a free-text search, asserting one of `concludes`, from one of `sections`."""
    words = text.lower().split()
    out = []
    for rule in kb.rules:
        if concludes and not set(rule.then) & set(concludes):
            continue
        if sections and rule.source.section not in sections:
            continue
        haystack = rule_text(kb, rule)
        if all(w in haystack for w in words):
            out.append(rule)
    return out


def rule_card(kb: KnowledgeBase, rule: Rule) -> None:
    """One rule explained: conditions in words, what it concludes, its source."""
    with st.expander(rule.title + (f"  ·  {rule.id}" if show_ids() else "")):
        st.markdown(md_text(rule.explanation))
        conds = [f"- {md_text(condition_words(kb, c))}" for c in rule.when]
        conds += [f"- and not: {md_text(ref_label(kb, r))}" for r in rule.unless]
        st.markdown("**When all of these hold**\n\n" + "\n".join(conds))
        st.markdown("**It concludes**\n\n" + "\n".join(
            f"- {kind_name(r)}: {md_text(ref_label(kb, r))}" for r in rule.then))
        src = f"**Source:** *{md_text(rule.source.section)}*: “{md_text(rule.source.quote)}”"
        if rule.source.reference:
            src += f" ({md_text(rule.source.reference)})"
        st.markdown(src)
        if show_ids():
            st.caption(f"Rule id `{rule.id}`; stage {kb.strata.get(rule.id, 0) + 1} (it runs after every "
                       "rule whose conclusions it reads).")


def graph_tab(kb: KnowledgeBase, rules: list[Rule], targets: list[str]) -> None:
    """The inference graph: an overview, one conclusion with everything behind it, or the rules listed."""
    modes = {"overview": "Overview", "focus": "One conclusion and its reasons",
             "listed": "The rules listed"}
    mode = st.radio("Graph", list(modes), key="cat_graph_mode", horizontal=True,
                    format_func=modes.__getitem__)
    if mode == "overview":
        st.caption("Left to right: answers (grouped by form step) → findings → conclusions → advice "
                   "(grouped by kind). An arrow means some rule uses the one to conclude the other. "
                   "Each group is one node until you expand it.")
        groups = overview_groups(kb)
        expanded = st.multiselect("Expand groups", list(groups), key="cat_graph_expand",
                                  format_func=groups.__getitem__)
        st.graphviz_chart(overview_dot(kb, expanded), width="stretch",
                          alt="Overview of the inference graph: answers, findings, conclusions, advice")
        return
    if mode == "focus":
        ref = st.selectbox("Conclusion", targets, key="cat_graph_focus",
                           format_func=lambda r: f"{kind_name(r)}: {ref_label(kb, r)}")
        shown = related_rules(kb, ref) if ref else []
        st.caption(f"Every rule behind “{ref_label(kb, ref)}”, and the rules that use it: "
                   f"{len(shown)} rules." if ref else "")
    else:
        shown = rules
        ref = None
    if not shown:
        st.markdown("No rule to draw.")
        return
    if mode == "listed" and len(shown) > MAX_DETAILED:
        st.info(f"{len(shown)} rules are too many to read in one picture. Narrow the list with the "
                f"filters above (at most {MAX_DETAILED}), or draw one conclusion and its reasons.",
                icon=":material/filter_alt:")
        return
    st.caption("Each rounded box is a rule: all its incoming arrows must hold; a dashed arrow marked "
               "“unless” must not. Shapes tell the kinds apart: notes are answers, ellipses findings, "
               "hexagons conclusions, boxes advice.")
    st.graphviz_chart(inference_dot(kb, shown, focus=ref if mode == "focus" else None), width="stretch",
                      alt=f"Inference graph of {len(shown)} rules")


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    st.markdown(f"The {len(kb.rules)} rules the engine reasons with, each with its conditions in "
                "words and its source. Several rules concluding the same thing are alternatives.")
    order = {kind: i for i, kind in enumerate(KIND_NAMES)}
    targets = sorted({r for rule in kb.rules for r in rule.then},
                     key=lambda r: (order.get(r.partition(".")[0], len(order)), ref_label(kb, r)))
    sections = list(kb.meta.sections)
    search, by_conclusion, by_source = st.columns([2, 2, 2])
    with search:
        text = st.text_input("Search rules", key="cat_search",
                             placeholder="words from titles, conditions, sources")
    with by_conclusion:
        concludes = st.multiselect("Concludes", targets, key="cat_concludes",
                                   format_func=lambda r: f"{kind_name(r)}: {ref_label(kb, r)}")
    with by_source:
        chosen = st.multiselect("Source section", sections, key="cat_sections")
    rules = sorted(filter_rules(kb, text, concludes, chosen), key=lambda r: (r.title.lower(), r.id))
    st.caption(f"{len(rules)} of {len(kb.rules)} rules shown, by title.")
    st.toggle("Show rule ids (for trainees and knowledge engineers)", key=SHOW_IDS_KEY)

    tab_list, tab_graph = st.tabs(["Rules", "Inference graph"])
    with tab_list:
        for rule in rules:
            rule_card(kb, rule)
        if not rules:
            st.markdown("No rule matches these filters.")
    with tab_graph:
        graph_tab(kb, rules, targets)


if __name__ == "__main__":
    render()
