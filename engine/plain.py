"""The engine's results in plain words, for every clinician-facing view (app, reports, cards).

Every word about a case comes from the knowledge base: question prompts (worded for the
subject), option labels, catalogue labels, rule titles. Only the names of the *kinds* of
conclusion (the report contract's sections) and connecting words are written here. No id,
answer code or engine term ever leaves these functions; ids are for the appendix and the
"show rule ids" views only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.explain import tally_used
from engine.kb_loader import KnowledgeBase
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
    "argument": "Argument",
}
KIND_PLURALS = {"measure": "measures to give", "interpretation": "readings of a score",
                "inconsistency": "inconsistencies", "finding": "findings", "argument": "arguments",
                "recommendation": "recommendations", "caution": "cautions", "reflection": "reflections"}
# Plural forms used by `could_change` and `what_would_change` ("drivers", "formulations").
KIND_ALIASES = {"drivers": "driver", "formulations": "formulation", "origins": "origin"}
# What an open question could change, most important first ("the position, a driver...").
IMPORTANCE = ("spectrum", "driver", "formulation", "origin", "caution", "recommendation",
              "measure", "interpretation", "reflection", "inconsistency")
INF = float("inf")
# Caution levels in words, so that the level never depends on colour alone.
LEVELS: Mapping[str, str] = {"critical": "Critical", "warning": "Warning", "info": "For information"}


# ---- answers and references ------------------------------------------------------------------

def unknown_label(q: Question) -> str:
    """How 'no answer' reads for a question."""
    if q.kind == "integer":
        return "Unknown (blank)"
    return "Not assessed" if q.section == "findings" else "Unknown"


def option_label(q: Question | None, value: object) -> str:
    """An answer value in words (the catalogue's option label when it has one)."""
    if q is None:
        return str(value)
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


def kind_of(ref: str) -> str:
    """The kind of a 'kind.id' reference (or of a bare kind), plurals resolved."""
    kind = ref.partition(".")[0]
    return KIND_ALIASES.get(kind, kind)


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
    return ident.replace("_", " ")


def kind_name(ref: str) -> str:
    """The kind of a 'kind.id' reference in words."""
    kind = kind_of(ref)
    return KIND_NAMES.get(kind, kind.replace("_", " ").capitalize())


def question_label(kb: KnowledgeBase, qid: str, subject: str | None = None) -> str:
    """A question's prompt, worded for the subject."""
    q = kb.questions.get(qid)
    return q.wording(subject) if q is not None else qid.replace("_", " ")


def answer_words(kb: KnowledgeBase, qid: str, value: object) -> str:
    """An answer to a question in words."""
    return option_label(kb.questions.get(qid), value)


def fact_words(kb: KnowledgeBase, fact: str, subject: str | None = None) -> str:
    """A fact as written in the engine's trace ('q = v', 'kind.id' or 'not kind.id') in words."""
    tally = tally_used(fact)
    if tally is not None:
        return f"the weight {kb.tallies[tally].label.lower()} is {fact.partition(' = ')[2]}"
    if " = " in fact:
        qid, _, raw = fact.partition(" = ")
        q = kb.questions.get(qid)
        value: object = int(raw) if q is not None and q.kind == "integer" and raw.isdigit() else raw
        return f"“{question_label(kb, qid, subject)}” {option_label(q, value)}"
    if fact.startswith("not "):
        return f"without “{ref_label(kb, fact[4:])}”"
    return ref_label(kb, fact)


def _range_text(low: float, high: float) -> str:
    if low == -INF and high == INF:
        return "any number"
    if low != -INF and high != INF:
        return f"{int(low)}" if low == high else f"from {int(low)} to {int(high)}"
    if low != -INF:
        return f"at least {int(low)}"
    return f"fewer than {int(high) + 1}"


def condition_words(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds | TallyRange,
                    subject: str | None = None) -> str:
    """A rule condition in words (question prompts and option labels)."""
    if isinstance(cond, Holds):
        return f"{kind_name(cond.fact)}: {ref_label(kb, cond.fact)}"
    if isinstance(cond, TallyRange):
        weight = f"the weight {kb.tallies[cond.tally].label.lower()}"
        if cond.minus:
            weight += f", less the weight {kb.tallies[cond.minus].label.lower()},"
        low, high = kb.bounds(cond)
        return f"{weight} is {_range_text(low, high)}"
    q = kb.questions.get(cond.answer)
    prompt = question_label(kb, cond.answer, subject)
    if isinstance(cond, AnswerIn):
        return f"“{prompt}” is {' or '.join(option_label(q, v) for v in cond.is_in)}"
    low, high = kb.bounds(cond)
    if q is not None and q.minimum is not None and low != -INF and low <= q.minimum and high != INF:
        low = -INF
    return f"“{prompt}” is {_range_text(low, high)}"


def md_text(text: str) -> str:
    """Text as literal Markdown: every character Markdown (or HTML inside it) would read is escaped.

    HTML is not entity-encoded: `<b>` shows as `<b>` (escaped `\\<b\\>`), never as `&lt;b&gt;`.
    """
    out = text.replace("\\", "\\\\")
    for ch in "*_`[]<>#|~$":
        out = out.replace(ch, "\\" + ch)
    return out


# ---- open questions ------------------------------------------------------------------------

def could_change_most(kb: KnowledgeBase, could_change: Sequence[str]) -> str:
    """What an open question could change most, in one line ('the spectrum position, and 3 more')."""
    if not could_change:
        return ""
    rank = {k: i for i, k in enumerate(IMPORTANCE)}
    ordered = sorted(could_change, key=lambda r: (rank.get(kind_of(r), len(rank)), r))
    top = ordered[0]
    if top.partition(".")[2]:
        what = f"{kind_name(top).lower()}: {ref_label(kb, top)}"
    else:
        what = f"the {kind_name(top).lower()}"
    more = len(ordered) - 1
    return what + (f", and {more} other item{'s' if more != 1 else ''}" if more else "")


def could_change_words(kb: KnowledgeBase, could_change: Sequence[str]) -> list[str]:
    """Everything an open question could change, in words, most important first."""
    rank = {k: i for i, k in enumerate(IMPORTANCE)}
    ordered = sorted(could_change, key=lambda r: (rank.get(kind_of(r), len(rank)), r))
    return [f"{kind_name(r)}: {ref_label(kb, r)}" if r.partition(".")[2] else f"the {kind_name(r).lower()}"
            for r in ordered]


def could_change_summary(kb: KnowledgeBase, could_change: Sequence[str]) -> str:
    """Everything an open question could change, in one line: conclusions named, advice counted."""
    rank = {k: i for i, k in enumerate(IMPORTANCE)}
    by_kind: dict[str, list[str]] = {}
    for ref in sorted(could_change, key=lambda r: (rank.get(kind_of(r), len(rank)), r)):
        by_kind.setdefault(kind_of(ref), []).append(ref)
    parts = []
    for kind, refs in by_kind.items():
        named = [ref_label(kb, r) for r in refs if r.partition(".")[2]]
        name = KIND_NAMES.get(kind, kind).lower()
        if kind in IMPORTANCE[:4]:
            parts.append(f"the {name}" + (f" ({', '.join(named)})" if named else ""))
        else:
            parts.append(f"{len(refs)} {name if len(refs) == 1 else KIND_PLURALS.get(kind, name + 's')}")
    return "; ".join(parts)


# ---- what would change it ------------------------------------------------------------------

def _region(kb: KnowledgeBase, qid: str, value: int) -> tuple[float, float]:
    """The range of numbers that conclude the same as `value` (between the rules' thresholds)."""
    from engine.whatif import domain

    q = kb.questions[qid]
    points = [p for p in domain(kb, qid) if isinstance(p, int)]
    if value not in points:
        return (value, value)
    i = points.index(value)
    low: float = -INF if i == 0 else value
    high: float = points[i + 1] - 1 if i + 1 < len(points) else (q.maximum if q.maximum is not None else INF)
    return low, high


def change_lines(kb: KnowledgeBase, variants: Iterable[Mapping[str, Any]], kind_key: str,
                 subject: str | None = None) -> list[str]:
    """'What would change it' as plain lines: never a change to unknown, ranges of numbers merged.

    Each variant is one of the engine's `what_would_change` entries (changes and the result).
    """
    groups: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    order: list[tuple[Any, ...]] = []
    texts: dict[tuple[Any, ...], str] = {}
    for item in variants:
        changes = list(item.get("changes", []))
        if not changes or any(c.get("to") in (None, UNKNOWN) for c in changes):
            continue
        result = result_words(kb, kind_key, str(item.get("result", "")))
        numeric = [c for c in changes if isinstance(c.get("to"), int)]
        if len(changes) == 1 and numeric:
            c = numeric[0]
            key: tuple[Any, ...] = ("range", c["question"], c.get("from"), result)
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(_region(kb, c["question"], int(c["to"])))
            continue
        parts = [f"“{question_label(kb, c['question'], subject)}” is {_to_words(kb, c)} "
                 f"(now {_now(kb, c)})" for c in changes]
        key = ("set", tuple(parts), result)
        if key not in texts:
            texts[key] = f"If {' and '.join(parts)}: {result}"
            order.append(key)
    lines = []
    for key in order:
        if key in texts:
            lines.append(texts[key])
            continue
        _, qid, before, result = key
        for low, high in _merge(groups[key]):
            low, high = _open_ends(kb.questions[qid], low, high)
            lines.append(f"If “{question_label(kb, qid, subject)}” is {_range_text(low, high)} "
                         f"(now {_now(kb, {'question': qid, 'from': before})}): {result}")
    return lines


def _to_words(kb: KnowledgeBase, change: Mapping[str, Any]) -> str:
    """A change's new answer in words; a number as the range that concludes the same."""
    to = change["to"]
    if not isinstance(to, int) or change["question"] not in kb.questions:
        return answer_words(kb, change["question"], to)
    return _range_text(*_open_ends(kb.questions[change["question"]], *_region(kb, change["question"], to)))


def _open_ends(q: Question, low: float, high: float) -> tuple[float, float]:
    """A range with the scale's own ends left open ("at least 26", not "from 26 to 5200")."""
    if q.maximum is not None and high != INF and high >= q.maximum and low != -INF:
        high = INF
    if q.minimum is not None and low != -INF and low <= q.minimum and high != INF:
        low = -INF
    return low, high


def _now(kb: KnowledgeBase, change: Mapping[str, Any]) -> str:
    before = change.get("from")
    return "not answered" if before is None else answer_words(kb, change["question"], before)


def _merge(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for low, high in sorted(regions):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def result_words(kb: KnowledgeBase, kind_key: str, result: str) -> str:
    """A what-if result ('maladaptive', 'alexithymia, avoidance' or 'none') in words."""
    kind = KIND_ALIASES.get(kind_key, kind_key)
    if "." in result:
        return ref_label(kb, result)
    ids = [x.strip() for x in result.replace("+", ",").split(",") if x.strip() and x.strip() != "none"]
    entries = kb.catalogue.get(kind, {})
    if not ids:
        return "none"
    return ", ".join(entries[i].label if i in entries else i.replace("_", " ") for i in ids)


# ---- why not ------------------------------------------------------------------------------

@dataclass
class WhyNot:
    """Why one conclusion was not reached, each reason once.

    `shared` holds the reasons every way to it has in common; `ways` each rule's own further
    reasons (by the rule's title); `behind` why the findings those reasons need were not
    established, each explained once for the whole explanation.
    """

    label: str
    shared: list[str] = field(default_factory=list)
    ways: list[tuple[str, list[str]]] = field(default_factory=list)
    behind: list[WhyNot] = field(default_factory=list)


def _rule_conditions(kb: KnowledgeBase, rule_id: str) -> tuple[list[Any], int]:
    """A rule's conditions in the engine's order (when, then unless), and how many are `when`."""
    rule = next((r for r in kb.rules if r.id == rule_id), None)
    if rule is None:
        return [], 0
    return [*rule.when, *[Holds(fact=r) for r in rule.unless]], len(rule.when)


def _reason(kb: KnowledgeBase, cond: Any, state: Mapping[str, Any], negated: bool,
            subject: str | None) -> str:
    status = state.get("status")
    if isinstance(cond, (AnswerIn, AnswerRange)):
        need = condition_words(kb, cond, subject)
        if status == "unknown":
            return f"{need}: not answered yet"
        given = state.get("value")
        if given in (None, "unanswered"):
            return need
        return f"{need}: the answer is {option_label(kb.questions.get(cond.answer), given)}"
    if isinstance(cond, TallyRange):
        return f"{condition_words(kb, cond, subject)}: it is {state.get('value', '?')}"
    if isinstance(cond, Holds):
        label = ref_label(kb, cond.fact)
        if negated:
            return (f"“{label}” holds, and this way needs it not to" if status == "unmet"
                    else f"“{label}” must not hold: still open")
        return (f"needs “{label}”, which open questions could still establish" if status == "unknown"
                else f"needs “{label}”, which was not established")
    return str(state.get("label") or "")


def why_not_summary(kb: KnowledgeBase, ref: str, rules: Sequence[Mapping[str, Any]],
                    subject: str | None = None, explained: set[str] | None = None,
                    depth: int = 0) -> WhyNot:
    """Why `ref` was not reached, from the engine's `why_not` entry, with each reason once."""
    explained = explained if explained is not None else set()
    explained.add(ref)
    out = WhyNot(label=ref_label(kb, ref))
    per_way: list[tuple[str, list[str]]] = []
    nested: list[tuple[str, list[Mapping[str, Any]]]] = []
    for rule in rules:
        states = list(rule.get("conditions", []))
        conds, n_when = _rule_conditions(kb, str(rule.get("rule", "")))
        reasons = []
        for i, state in enumerate(states):
            if state.get("status") == "met":
                continue
            cond = conds[i] if len(conds) == len(states) else None
            negated = i >= n_when if cond is not None else str(state.get("text", "")).startswith("not ")
            reason = _reason(kb, cond, state, negated, subject)
            if reason and reason not in reasons:
                reasons.append(reason)
            if isinstance(cond, Holds) and not negated and state.get("unmet_because"):
                nested.append((cond.fact, list(state["unmet_because"])))
        per_way.append((str(rule.get("title", "")), reasons))
    if per_way:
        common = [r for r in per_way[0][1] if all(r in rs for _, rs in per_way)]
        out.shared = common if len(per_way) > 1 else []
        for title, reasons in per_way:
            own = [r for r in reasons if r not in out.shared]
            out.ways.append((title, own))
    for fact, sub in nested:
        if fact in explained or depth >= 1:
            continue
        out.behind.append(why_not_summary(kb, fact, sub, subject, explained, depth + 1))
    return out


def why_not_markdown(item: WhyNot, depth: int = 0) -> str:
    """A why-not summary as Markdown (every text escaped)."""
    pad = "    " * depth
    lines = [f"{pad}- **{md_text(item.label)}** was not reached."]
    if not item.ways:
        lines.append(f"{pad}    - No rule reaches it.")
    if item.shared:
        lines.append(f"{pad}    - Every way to it needs: " + "; ".join(md_text(r) for r in item.shared))
    for title, own in item.ways:
        if own:
            lines.append(f"{pad}    - *{md_text(title)}*: " + "; ".join(md_text(r) for r in own))
        elif len(item.ways) > 1:
            lines.append(f"{pad}    - *{md_text(title)}*: nothing more")
    for sub in item.behind:
        lines.append(why_not_markdown(sub, depth + 1))
    return "\n".join(lines)


def why_not_line(item: WhyNot, limit: int = 3) -> str:
    """A why-not summary in one line: the shared reasons, else the closest way's."""
    reasons = item.shared or min((own for _, own in item.ways if own), key=len, default=[])
    if not reasons:
        return "no rule reaches it" if not item.ways else ""
    more = len(reasons) - limit
    return "; ".join(reasons[:limit]) + (f"; and {more} more" if more > 0 else "")
