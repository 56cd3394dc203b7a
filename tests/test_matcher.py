"""The indexed Rete matcher fires exactly what experta's own matcher fires."""

from __future__ import annotations

from typing import Any

from experta.matchers.rete import ReteMatcher
from hypothesis import HealthCheck, given, settings

from engine import default_knowledge_base, parse_case
from engine.inference import Evaluator, engine_class
from tests.strategies import case_dicts

KB = default_knowledge_base()


class PlainEvaluator(Evaluator):
    """The same compiled rules on experta's unmodified ReteMatcher."""

    def __init__(self) -> None:
        super().__init__(KB)
        plain = type("PlainEngine", (engine_class(KB),), {"__matcher__": ReteMatcher})
        self._engine = plain()


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
