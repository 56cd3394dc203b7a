"""Page: the rule catalogue for trainees, searchable, with the inference graph as a picture."""

from __future__ import annotations

import streamlit as st

from engine import KnowledgeBase, default_knowledge_base
from engine.knowledge import Rule
from ui.graph import inference_dot
from ui.views import md_text
from ui.words import condition_words, kind_name, ref_label

PAGE_TITLE = "Rule catalogue"


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
    with st.expander(f"{rule.title}  ·  {rule.id}"):
        st.markdown(md_text(rule.explanation))
        conds = [f"- {md_text(condition_words(kb, c))}" for c in rule.when]
        conds += [f"- not: {md_text(ref_label(kb, r))}" for r in rule.unless]
        st.markdown("**When all of these hold**\n\n" + "\n".join(conds))
        st.markdown("**It concludes**\n\n" + "\n".join(
            f"- {kind_name(r)}: {md_text(ref_label(kb, r))}" for r in rule.then))
        src = f"**Source:** *{md_text(rule.source.section)}*: “{md_text(rule.source.quote)}”"
        if rule.source.reference:
            src += f" ({md_text(rule.source.reference)})"
        st.markdown(src)
        st.caption(f"Stage {kb.strata.get(rule.id, 0) + 1}: it runs after every rule whose "
                   "conclusions it reads.")


def render() -> None:
    """Draw the page."""
    kb = default_knowledge_base()
    st.title(PAGE_TITLE)
    st.markdown(f"The {len(kb.rules)} rules the engine reasons with, each with its conditions in "
                "words and its source. Several rules concluding the same thing are alternatives.")
    targets = sorted({r for rule in kb.rules for r in rule.then},
                     key=lambda r: (kind_name(r), ref_label(kb, r)))
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
    rules = filter_rules(kb, text, concludes, chosen)
    st.caption(f"{len(rules)} of {len(kb.rules)} rules shown.")

    tab_list, tab_graph = st.tabs(["Rules", "Inference graph"])
    with tab_list:
        for rule in rules:
            rule_card(kb, rule)
        if not rules:
            st.markdown("No rule matches these filters.")
    with tab_graph:
        st.caption("Answers → findings → conclusions → advice, for the rules shown. Each small box is "
                   "a rule: all its incoming conditions must hold; a dashed arrow marked “unless” "
                   "must not. Hover a node for its full text.")
        if rules:
            st.graphviz_chart(inference_dot(kb, rules), width="stretch",
                              alt=f"Inference graph of {len(rules)} rules")


if __name__ == "__main__":
    render()
