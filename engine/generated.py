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
from engine.knowledge import AnswerIn, AnswerRange, Holds

Evaluate = Callable[[Mapping[str, Answer]], tuple[frozenset[str], tuple[str, ...]]]


def _test(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds, consts: dict[str, object]) -> str:
    # Ids and options are validated against ^[a-z][a-z0-9_.]*$ at load time and numbers are
    # ints, so repr() of them is safe to place in generated source.
    if isinstance(cond, Holds):
        return f"{cond.fact!r} in d"
    if isinstance(cond, AnswerIn):
        name = f"S{len(consts)}"
        consts[name] = frozenset(cond.is_in)
        return f"a.get({cond.answer!r}) in {name}"
    low, high = kb.bounds(cond)
    parts = [f"type(a.get({cond.answer!r})) is int"]
    if low != float("-inf"):
        parts.append(f"a[{cond.answer!r}] >= {int(low)}")
    if high != float("inf"):
        parts.append(f"a[{cond.answer!r}] <= {int(high)}")
    return "(" + " and ".join(parts) + ")"


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
