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
from engine.kb_loader import KnowledgeBase, compile_cached
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
        # Weighed once, before the tally's first reader (see source_code).
        value = f"w_{cond.tally}"
        if cond.minus:
            value = f"(w_{cond.tally} - w_{cond.minus})"
        return "(" + " and ".join(_in_range(value, low, high) or ["True"]) + ")"
    test = "(" + " and ".join([f"type(a.get({cond.answer!r})) is int",
                                *_in_range(f"a[{cond.answer!r}]", low, high)]) + ")"
    split = kb.category_split(cond)
    if split is None:
        return test
    category, inside, _ = split
    return (f"({test} or (a.get({cond.answer!r}) is None and "
            f"a.get({category!r}) in {_const(consts, inside)}))")


def source_code(kb: KnowledgeBase, rule_ids: tuple[str, ...] | None = None) -> tuple[str, dict[str, object]]:
    """The generated function's source and the constants it refers to (of all rules, or of
    the rules named: a cone holding every rule its facts depend on evaluates them exactly)."""
    consts: dict[str, object] = {}
    lines = ["def evaluate(a):", "    d = set()", "    fired = []"]
    chosen = kb.rules if rule_ids is None else [r for r in kb.rules if r.id in set(rule_ids)]
    weighed: set[str] = set()
    for rule in sorted(chosen, key=lambda r: (kb.strata[r.id], r.id)):
        for cond in rule.when:
            # Every argument of a tally is asserted below its first reader's stratum, so the
            # weight is final here.
            for tally in (cond.tally, cond.minus) if isinstance(cond, TallyRange) else ():
                if tally is not None and tally not in weighed:
                    weighed.add(tally)
                    lines.append(f"    w_{tally} = {_tally(kb, tally, consts)}")
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
    return rules_evaluator(kb, None)


@cache
def rules_evaluator(kb: KnowledgeBase, rule_ids: tuple[str, ...] | None) -> Evaluate:
    """Some of the rules (None: all) as one Python function, compiled once per set."""
    source, consts = source_code(kb, rule_ids)
    namespace: dict[str, object] = dict(consts)
    exec(compile_cached(source, f"<rules {kb.sha256[:12]}>"), namespace)  # our own validated data
    evaluate: Evaluate = namespace["evaluate"]  # type: ignore[assignment]
    return evaluate


# ---- one kind of conclusion from the answers as positional values --------------------------
# What-if sweeps evaluate the same cone of rules thousands of times on answers that differ in
# one or two places. This form takes the values of the questions the cone reads as arguments
# (`answers.get(q)` for each, in a given order: the sweep's memo key itself), holds each
# derived fact in a local boolean and each answer in a local, and returns only the ids of one
# kind's facts. A property test holds it equal to `rules_evaluator` of the same rules.

KindEvaluate = Callable[..., frozenset[str]]


def _literal_set(values: frozenset[str], consts: dict[str, object]) -> str:
    # Ids and options are validated against ^[a-z][a-z0-9_.]*$ at load time, so a set display
    # of their reprs is safe source; Python folds it into a constant for `in`.
    if values and all(type(v) is str for v in values):
        return "{" + ", ".join(repr(v) for v in sorted(values)) + "}"
    return _const(consts, values)


def kind_source(kb: KnowledgeBase, rule_ids: tuple[str, ...], questions: tuple[str, ...],
                kind: str) -> tuple[str, dict[str, object]]:
    """The source of `evaluate(*values)`: `values` the answers to `questions` in that order
    (None: unanswered); the rules named, in stratum order, as `rules_evaluator` runs them;
    returns the ids of the `kind.` facts derived."""
    consts: dict[str, object] = {}
    chosen = sorted((r for r in kb.rules if r.id in set(rule_ids)), key=lambda r: (kb.strata[r.id], r.id))
    arg = {q: f"v{i}" for i, q in enumerate(questions)}
    facts: dict[str, str] = {}

    def fact(ref: str) -> str:
        return facts.setdefault(ref, f"f{len(facts)}")

    def value(qid: str) -> str:
        if qid not in arg:
            raise ValueError(f"question {qid} is read by the rules but not among the arguments")
        return arg[qid]

    def test(cond: AnswerIn | AnswerRange | Holds | TallyRange) -> str:
        if isinstance(cond, Holds):
            return fact(cond.fact)
        if isinstance(cond, AnswerIn):
            return f"{value(cond.answer)} in {_literal_set(frozenset(cond.is_in), consts)}"
        low, high = kb.bounds(cond)
        if isinstance(cond, TallyRange):
            weight = f"w_{cond.tally}" + (f" - w_{cond.minus}" if cond.minus else "")
            return "(" + " and ".join(_in_range(f"({weight})", low, high) or ["True"]) + ")"
        v = value(cond.answer)
        number = "(" + " and ".join([f"type({v}) is int", *_in_range(v, low, high)]) + ")"
        split = kb.category_split(cond)
        if split is None:
            return number
        category, inside, _ = split
        return f"({number} or ({v} is None and {value(category)} in {_literal_set(inside, consts)}))"

    body: list[str] = []
    weighed: set[str] = set()
    for rule in chosen:
        for cond in rule.when:
            for tally in (cond.tally, cond.minus) if isinstance(cond, TallyRange) else ():
                if tally is not None and tally not in weighed:
                    weighed.add(tally)
                    terms = [f"({w} if {fact(ref)} else 0)" for ref, w in kb.tally_arguments(tally)]
                    body.append(f"    w_{tally} = {' + '.join(terms) or '0'}")
        tests = [test(c) for c in rule.when] + [f"not {fact(ref)}" for ref in rule.unless]
        body.append(f"    # {rule.id}")
        body.append(f"    if {' and '.join(tests) or 'True'}:")
        body.extend(f"        {fact(ref)} = True" for ref in dict.fromkeys(rule.then))
    prefix = kind + "."
    mine = [(ref[len(prefix):], name) for ref, name in facts.items() if ref.startswith(prefix)]
    lines = [f"def evaluate({', '.join(arg[q] for q in questions)}):"]
    if facts:
        lines.append("    " + " = ".join(facts.values()) + " = False")
    lines.extend(body)
    lines.append("    out = []")
    for ident, name in mine:
        lines.append(f"    if {name}:")
        lines.append(f"        out.append({ident!r})")
    lines.append("    return frozenset(out)")
    return "\n".join(lines) + "\n", consts


@cache
def kind_evaluator(kb: KnowledgeBase, rule_ids: tuple[str, ...], questions: tuple[str, ...],
                   kind: str) -> KindEvaluate:
    """Some rules as one function of the values of `questions` that returns the ids of the
    `kind` facts they derive (see `kind_source`), compiled once per set."""
    source, consts = kind_source(kb, rule_ids, questions, kind)
    namespace: dict[str, object] = dict(consts)
    exec(compile_cached(source, f"<kind {kb.sha256[:12]}>"), namespace)  # our own validated data
    evaluate: KindEvaluate = namespace["evaluate"]  # type: ignore[assignment]
    return evaluate


# ---- three-valued evaluation, compiled the same way ----------------------------------------
# Truth values as numbers: 0 false, 1 unknown, 2 true, so Kleene's "and" is min, "or" is max
# and "not" is 2 - x. engine.whatif.three_valued (interpreted) is the reference; a property
# test holds the two equal.

ThreeValued = Callable[[Mapping[str, Answer], frozenset[str]], tuple[dict[str, int], dict[str, int]]]


def _interval3(get: Callable[[str, int], int], args: tuple[tuple[str, int], ...]) -> tuple[int, int]:
    """The least and greatest weight of a tally: asserted arguments, then the open ones too."""
    low = high = 0
    for ref, w in args:
        s = get(ref, 0)
        if s == 2:
            low += w
            high += w
        elif s == 1:
            high += w
    return low, high


def _can_answer(kb: KnowledgeBase, qid: str) -> str:
    """Whether a question can still be answered: not closed, and what it requires allows it."""
    parts = [f"{qid!r} not in c"]
    for other, allowed in kb.questions[qid].requires.items():
        parts.append(f"(a[{other!r}] in {frozenset(allowed)!r} if {other!r} in a else {other!r} not in c)")
    return "(" + " and ".join(parts) + ")"


def _test3(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds | TallyRange,
           consts: dict[str, object]) -> str:
    if isinstance(cond, Holds):
        return f"g({cond.fact!r}, 0)"
    if isinstance(cond, TallyRange):
        # The tallies' intervals are computed once, before their first reader (see below).
        low, high = kb.bounds(cond)
        lo_name, hi_name = _const(consts, low), _const(consts, high)
        if cond.minus:
            value_lo = f"(lo_{cond.tally} - hi_{cond.minus})"
            value_hi = f"(hi_{cond.tally} - lo_{cond.minus})"
        else:
            value_lo, value_hi = f"lo_{cond.tally}", f"hi_{cond.tally}"
        return (f"(2 if {lo_name} <= {value_lo} and {value_hi} <= {hi_name} else "
                f"0 if {value_hi} < {lo_name} or {value_lo} > {hi_name} else 1)")
    can = _can_answer(kb, cond.answer)
    if isinstance(cond, AnswerIn):
        return (f"((2 if v in {_const(consts, frozenset(cond.is_in))} else 0) "
                f"if (v := a.get({cond.answer!r})) is not None else (1 if {can} else 0))")
    low, high = kb.bounds(cond)
    holds = " and ".join(["type(v) is int", *_in_range("v", low, high)])
    unknown = f"(1 if {can} else 0)"
    split = kb.category_split(cond)
    if split is not None:
        category, inside, outside = split
        unknown = (f"(2 if (w := a.get({category!r})) in {_const(consts, inside)} else 0 "
                   f"if w in {_const(consts, outside)} else (1 if {can} or ({category!r} not in a "
                   f"and {_can_answer(kb, category)}) else 0))")
    return f"((2 if {holds} else 0) if (v := a.get({cond.answer!r})) is not None else {unknown})"


def three_valued_source(kb: KnowledgeBase, rule_ids: tuple[str, ...]) -> tuple[str, dict[str, object]]:
    """The compiled three-valued evaluation of some rules (in the order given, which must be
    stratum order): its source and constants. `evaluate(a, c)`: answers, closed questions ->
    (fact truths, rule truths); a fact absent from the first is false."""
    consts: dict[str, object] = {"TI": _interval3}
    rules = {r.id: r for r in kb.rules}
    lines = ["def evaluate(a, c):", "    f = {}", "    g = f.get", "    r = {}"]
    weighed: set[str] = set()
    for rid in rule_ids:
        rule = rules[rid]
        lines.append(f"    # {rid}")
        for cond in rule.when:
            # Every argument of a tally is settled before its first reader (the rules come in
            # stratum order, and a tally's reader is above every rule asserting its arguments).
            for tally in (cond.tally, cond.minus) if isinstance(cond, TallyRange) else ():
                if tally is not None and tally not in weighed:
                    weighed.add(tally)
                    lines.append(f"    lo_{tally}, hi_{tally} = TI(g, "
                                 f"{_const(consts, kb.tally_arguments(tally))})")
        lines.append("    t = 2")
        tests = [_test3(kb, cond, consts) for cond in rule.when]
        tests += [f"2 - g({ref!r}, 0)" for ref in rule.unless]
        for test in tests:
            lines.append("    if t:")
            lines.append(f"        x = {test}")
            lines.append("        if x < t:")
            lines.append("            t = x")
        lines.append(f"    r[{rid!r}] = t")
        for ref in rule.then:
            lines.append(f"    if t > g({ref!r}, 0):")
            lines.append(f"        f[{ref!r}] = t")
    lines.append("    return f, r")
    return "\n".join(lines) + "\n", consts


@cache
def three_valued_evaluator(kb: KnowledgeBase, rule_ids: tuple[str, ...]) -> ThreeValued:
    """Three-valued evaluation of these rules as one Python function (compiled once per set)."""
    strata = [kb.strata[rid] for rid in rule_ids]
    if strata != sorted(strata):
        raise ValueError("three-valued evaluation needs the rules in stratum order")
    source, consts = three_valued_source(kb, rule_ids)
    namespace: dict[str, object] = dict(consts)
    exec(compile_cached(source, f"<three-valued {kb.sha256[:12]}>"), namespace)  # our own data
    evaluate: ThreeValued = namespace["evaluate"]  # type: ignore[assignment]
    return evaluate
