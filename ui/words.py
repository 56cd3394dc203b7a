"""Ids in words: every label comes from the knowledge base's catalogue, nothing is hard-coded.

Only the names of the *kinds* of conclusion (the report contract's sections) are written here.
"""

from __future__ import annotations

from engine import KnowledgeBase
from engine.explain import tally_used
from engine.knowledge import UNKNOWN, AnswerIn, AnswerRange, Holds, Question, TallyRange

KIND_NAMES = {
    "spectrum": "Spectrum position",
    "driver": "Driver",
    "formulation": "Formulation",
    "origin": "Likely origin",
    "recommendation": "Recommendation",
    "caution": "Caution",
    "reflection": "Reflection",
    "measure": "Measure to give",
    "interpretation": "Reading of a score",
    "inconsistency": "Inconsistency",
    "finding": "Finding",
}
# Plural forms used by `could_change` and `what_would_change` ("drivers", "formulations").
KIND_ALIASES = {"drivers": "driver", "formulations": "formulation", "origins": "origin"}


def unknown_label(q: Question) -> str:
    """How 'no answer' reads for a question."""
    if q.kind == "integer":
        return "Unknown (blank)"
    return "Not assessed" if q.section == "findings" else "Unknown"


def option_label(q: Question, value: object) -> str:
    """An answer value in words (the catalogue's option label when it has one)."""
    if value is None or value == UNKNOWN:
        return unknown_label(q)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return q.option_labels.get(text, text.replace("_", " ").capitalize())


def choices(q: Question) -> list[str]:
    """A choice question's options, with `unknown` always available (except for who is assessed)."""
    opts = list(q.allowed_options())
    if UNKNOWN not in opts and q.section != "subject":
        opts.append(UNKNOWN)
    return opts


def ref_label(kb: KnowledgeBase, ref: str) -> str:
    """A 'kind.id' reference (or a bare kind such as 'spectrum') in words."""
    kind, _, ident = ref.partition(".")
    kind = KIND_ALIASES.get(kind, kind)
    if not ident:
        return KIND_NAMES.get(kind, kind.replace("_", " ").capitalize())
    entries = kb.catalogue.get(kind, {})
    if ident in entries:
        return entries[ident].label
    if kind == "question" and ident in kb.questions:
        return kb.questions[ident].prompt
    return ref


def kind_name(ref: str) -> str:
    """The kind of a 'kind.id' reference in words."""
    kind = KIND_ALIASES.get(ref.partition(".")[0], ref.partition(".")[0])
    return KIND_NAMES.get(kind, kind.replace("_", " ").capitalize())


def question_label(kb: KnowledgeBase, qid: str, subject: str | None = None) -> str:
    """A question's prompt, worded for the subject."""
    q = kb.questions.get(qid)
    return q.wording(subject) if q is not None else qid


def fact_words(kb: KnowledgeBase, fact: str, subject: str | None = None) -> str:
    """A fact as written in the engine's trace ('q = v', 'kind.id' or 'not kind.id') in words."""
    tally = tally_used(fact)
    if tally is not None:
        return f"the weight {kb.tallies[tally].label.lower()} is {fact.partition(' = ')[2]}"
    if " = " in fact:
        qid, _, raw = fact.partition(" = ")
        q = kb.questions.get(qid)
        value: object = int(raw) if q is not None and q.kind == "integer" and raw.isdigit() else raw
        return f"“{question_label(kb, qid, subject)}” {option_label(q, value) if q else raw}"
    if fact.startswith("not "):
        return f"without “{ref_label(kb, fact[4:])}”"
    return ref_label(kb, fact)


def condition_words(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds | TallyRange) -> str:
    """A rule condition in words for trainees (question prompts and option labels)."""
    if isinstance(cond, Holds):
        return f"{kind_name(cond.fact)}: {ref_label(kb, cond.fact)}"
    if isinstance(cond, TallyRange):
        weight = f"the weight {kb.tallies[cond.tally].label.lower()}"
        if cond.minus:
            weight += f", less the weight {kb.tallies[cond.minus].label.lower()},"
        low, high = kb.bounds(cond)
        if low != float("-inf") and high != float("inf"):
            return f"{weight} is from {int(low)} to {int(high)}"
        if low != float("-inf"):
            return f"{weight} is at least {int(low)}"
        return f"{weight} is at most {int(high)}"
    q = kb.questions.get(cond.answer)
    prompt = q.prompt if q is not None else cond.answer
    if isinstance(cond, AnswerIn):
        opts = " or ".join(option_label(q, v) if q else v for v in cond.is_in)
        return f"“{prompt}” is {opts}"
    low, high = kb.bounds(cond)
    if low != float("-inf") and high != float("inf"):
        return f"“{prompt}” from {int(low)} to {int(high)}"
    if low != float("-inf"):
        return f"“{prompt}” at least {int(low)}"
    return f"“{prompt}” at most {int(high)}"


def md_text(text: str) -> str:
    """Knowledge-base text safe inside Markdown (no accidental emphasis or HTML)."""
    out = text.replace("\\", "\\\\")
    for ch in "*_`[]<>#|~$":
        out = out.replace(ch, "\\" + ch)
    return out
