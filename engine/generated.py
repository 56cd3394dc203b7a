"""A plain Python function generated from the rule data, for fast what-if sweeps.

experta answers one case in about a millisecond, too slow for sweeps of hundreds or
thousands of variants. This module writes the same rules as straight-line Python (one `if`
per rule, in stratum order) and compiles it once per knowledge base. A property test checks
that it fires exactly the rules experta fires, so explanations built on it can be trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from engine.case import Answer
from engine.kb_loader import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Holds, TallyRange

Evaluate = Callable[[Mapping[str, Answer]], tuple[frozenset[str], tuple[str, ...]]]


def _const(consts: dict[str, object], value: object) -> str:
    name = f"S{len(consts)}"
    consts[name] = value
    return name


def _in_range(expr: str, low: float, high: float) -> list[str]:
    parts = []
    if low != float("-inf"):
        parts.append(f"{expr} >= {int(low)}")
    if high != float("inf"):
        parts.append(f"{expr} <= {int(high)}")
    return parts


def _tally(kb: KnowledgeBase, tally: str, consts: dict[str, object]) -> str:
    weights = kb.tally_arguments(tally)
    return f"sum(w for r, w in {_const(consts, weights)} if r in d)"


def _test(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds | TallyRange,
          consts: dict[str, object]) -> str:
    # Ids and options are validated against ^[a-z][a-z0-9_.]*$ at load time and numbers are
    # ints, so repr() of them is safe to place in generated source.
    if isinstance(cond, Holds):
        return f"{cond.fact!r} in d"
    if isinstance(cond, AnswerIn):
        return f"a.get({cond.answer!r}) in {_const(consts, frozenset(cond.is_in))}"
    low, high = kb.bounds(cond)
    if isinstance(cond, TallyRange):
        value = _tally(kb, cond.tally, consts)
        if cond.minus:
            value = f"({value} - {_tally(kb, cond.minus, consts)})"
        return "(" + " and ".join(_in_range(value, low, high) or ["True"]) + ")"
    test = "(" + " and ".join([f"type(a.get({cond.answer!r})) is int",
                                *_in_range(f"a[{cond.answer!r}]", low, high)]) + ")"
    split = kb.category_split(cond)
    if split is None:
        return test
    category, inside, _ = split
    return (f"({test} or (a.get({cond.answer!r}) is None and "
            f"a.get({category!r}) in {_const(consts, inside)}))")


def source_code(kb: KnowledgeBase) -> tuple[str, dict[str, object]]:
    """The generated function's source and the constants it refers to."""
    consts: dict[str, object] = {}
    lines = ["def evaluate(a):", "    d = set()", "    fired = []"]
    for rule in sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id)):
        tests = [_test(kb, c, consts) for c in rule.when]
        tests += [f"{ref!r} not in d" for ref in rule.unless]
        lines.append(f"    # {rule.id}")
        lines.append(f"    if {' and '.join(tests)}:")
        lines.append(f"        fired.append({rule.id!r})")
        lines.append(f"        d.update({tuple(rule.then)!r})")
    lines.append("    return frozenset(d), tuple(fired)")
    return "\n".join(lines) + "\n", consts


@cache
def generated_evaluator(kb: KnowledgeBase) -> Evaluate:
    """The rules of a knowledge base as one Python function: answers -> (derived facts, fired rules)."""
    source, consts = source_code(kb)
    namespace: dict[str, object] = dict(consts)
    exec(compile(source, f"<rules {kb.sha256[:12]}>", "exec"), namespace)  # our own validated data
    evaluate: Evaluate = namespace["evaluate"]  # type: ignore[assignment]
    return evaluate
