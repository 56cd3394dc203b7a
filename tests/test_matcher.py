"""The indexed Rete matcher fires exactly what experta's own matcher fires."""

from __future__ import annotations

from typing import Any

from experta.matchers.rete import ReteMatcher
from hypothesis import HealthCheck, given, settings

from engine import default_knowledge_base, parse_case
from engine.inference import Evaluator, FastTracingEngine, TracingEngine, plain_engine_class
from tests.strategies import case_dicts

KB = default_knowledge_base()


class PlainEvaluator(Evaluator):
    """The same compiled rules on experta's unmodified ReteMatcher and engine loop."""

    def __init__(self) -> None:
        super().__init__(KB)
        self._engine = plain_engine_class(KB)()


FAST, PLAIN = Evaluator(KB), PlainEvaluator()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts(KB))
def test_indexed_matcher_fires_what_experta_fires(data: dict[str, Any]) -> None:
    case = parse_case(data, KB)
    fast, plain = FAST.run(case), PLAIN.run(case)
    assert fast.derived == plain.derived
    assert fast.trace == plain.trace


def test_the_plain_evaluator_really_uses_experta_matcher() -> None:
    assert type(PLAIN._engine.matcher) is ReteMatcher
    assert type(FAST._engine.matcher) is not ReteMatcher
    assert issubclass(type(FAST._engine.matcher), ReteMatcher)
    assert isinstance(FAST._engine, FastTracingEngine)
    assert not isinstance(PLAIN._engine, FastTracingEngine) and isinstance(PLAIN._engine, TracingEngine)


def test_engines_from_one_network_share_no_state() -> None:
    """Engines get their own copy of the class's network: no node, memory or agenda in common,
    and one engine's facts never reach another's (issue 13: a fresh engine from a network built
    once per process)."""
    from engine.matcher import _walk
    from engine.vignettes import default_vignettes

    first, second = Evaluator(KB), Evaluator(KB)
    e1, e2 = first._engine, second._engine
    template = vars(type(e1)).get("_rete_template")
    assert template is not None  # built once, for the class
    assert e1.matcher.root_node is not template and e2.matcher.root_node is not template
    nodes1 = {id(n) for n in _walk(e1.matcher.root_node)} | {id(n) for n in e1.matcher._nodes}
    nodes2 = {id(n) for n in _walk(e2.matcher.root_node)} | {id(n) for n in e2.matcher._nodes}
    assert not nodes1 & nodes2
    assert e1.agenda is not e2.agenda and e1.facts is not e2.facts

    vignettes = [parse_case(v.case, KB) for v in default_vignettes()]
    alone = [Evaluator(KB).run(c) for c in vignettes[:6]]
    # Interleaved on two engines, each gives what a fresh engine gives.
    for case, expected in zip(vignettes[:6], alone, strict=True):
        other = vignettes[-1]
        assert first.run(case) == expected
        second.run(other)
        assert first.run(case) == expected
    # The template never matched anything: its conflict sets are empty.
    assert all(not getattr(n, "memory", None) for n in _walk(template))
    # One engine holding facts leaves the other's memories empty.
    first.run(vignettes[0])
    e2.reset()
    assert any(getattr(n, "memory", None) for n in e1.matcher._nodes)
    assert not any(getattr(n, "memory", None) for n in e2.matcher._nodes)


def test_made_facts_are_the_facts_experta_makes() -> None:
    """`made_fact` gives what the class's constructor gives (items, order, identity in the
    fact list), and falls back to the constructor for anything but a str or an int."""
    from experta.factlist import FactList

    from engine.inference import TallyFact, _answer_class, _FactList, made_fact

    cls = _answer_class("stressor")
    for fields in ({"q": "stressor", "v": "ended"}, {"q": "weeks", "v": 26}, {"q": "x", "v": (1, 2)}):
        made, built = made_fact(cls, fields), cls(**fields)
        assert made == built and list(made.items()) == list(built.items())
        assert type(made) is type(built) and vars(made) == vars(built)
        assert _FactList._get_fact_id(made) == FactList._get_fact_id(built)
    tally = made_fact(TallyFact, {"t": "pattern", "v": 0})
    assert tally == TallyFact(t="pattern", v=0) and tally != TallyFact(t="pattern", v=1)
    declared = _FactList()
    declared.declare(tally)
    assert declared.declare(made_fact(TallyFact, {"t": "pattern", "v": 0})) is None  # duplicate
    assert _FactList._get_fact_id(tally) == FactList._get_fact_id(tally)  # with __factid__ set
    # Declared as experta's fact list declares: the same id, items, counts and changes.
    theirs = FactList()
    twin = TallyFact(t="pattern", v=0)
    theirs.declare(twin)
    assert tally.__factid__ == twin.__factid__ == 0 and dict(tally) == dict(twin)
    assert dict(declared.reference_counter) == dict(theirs.reference_counter)
    assert declared.last_index == theirs.last_index and declared.changes == theirs.changes


def test_recorded_firings_are_the_dataclass_built_normally() -> None:
    """The firings a run records (their fields set directly) equal, hash and print as
    `Firing(...)` built through the dataclass; the derived facts are what they asserted."""
    from engine.inference import Firing
    from engine.vignettes import default_vignettes

    for vignette in default_vignettes()[:10]:
        run = FAST.run(parse_case(vignette.case, KB))
        assert run.trace
        assert run.derived == frozenset(ref for f in run.trace for ref in f.asserted)
        for firing in run.trace:
            built = Firing(firing.rule, firing.stratum, firing.used, firing.asserted)
            assert firing == built and hash(firing) == hash(built) and repr(firing) == repr(built)
            assert vars(firing) == vars(built) and type(firing.used) is tuple


def test_declaring_made_facts_leaves_the_fact_list_experta_leaves() -> None:
    """The engine's inlined declaration of its own facts (a duplicate among them) gives the
    fact list experta's `FactList.declare` gives: the same ids, counts, items and changes."""
    from experta import InitialFact
    from experta.factlist import FactList

    from engine.inference import TallyFact, _derived_class, engine_class, made_fact

    engine = engine_class(KB)()
    engine.reset()
    engine.running = True  # as during a run: the declaration leaves the changes to the loop
    cls = _derived_class("finding.x")
    engine._declare_made([InitialFact(), made_fact(cls, {"ref": "finding.x"}),
                          made_fact(cls, {"ref": "finding.x"}), made_fact(TallyFact, {"t": "p", "v": 2})])
    theirs = FactList()
    for fact in (InitialFact(), cls(ref="finding.x"), cls(ref="finding.x"), TallyFact(t="p", v=2)):
        theirs.declare(fact)
    ours = engine.facts
    assert dict(ours.reference_counter) == dict(theirs.reference_counter)
    assert ours.last_index == theirs.last_index == 3
    assert {i: dict(f) for i, f in ours.items()} == {i: dict(f) for i, f in theirs.items()}
    assert ours.changes == theirs.changes
