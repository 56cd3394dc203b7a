"""The compiled three-valued evaluation equals the interpreted one it was written from."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import default_knowledge_base, parse_case
from engine.answer_forms import reasoning_answers
from engine.whatif import _in_stratum_order, cone, three_valued, three_valued_interpreted
from tests.strategies import case_dicts

KB = default_knowledge_base()
QUESTIONS = sorted(KB.questions)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts(KB), st.sets(st.sampled_from(QUESTIONS)), st.sets(st.sampled_from(QUESTIONS)))
def test_compiled_three_valued_equals_interpreted(data: dict[str, Any], dropped: set[str],
                                                  closed: set[str]) -> None:
    case = parse_case(data, KB)
    answers = {k: v for k, v in reasoning_answers(KB, case.answers, case.as_of).items() if k not in dropped}
    shut = frozenset(q for q in closed if q not in answers)
    for rules in (_in_stratum_order(KB), cone(KB, "spectrum")[0], cone(KB, "driver")[0]):
        for c in (frozenset(), shut):
            assert three_valued(KB, rules, answers, c) == three_valued_interpreted(KB, rules, answers, c)


def test_the_comparison_sees_a_difference() -> None:
    """Evaluated on different answers, the two differ: the equality above is not vacuous."""
    rules = _in_stratum_order(KB)
    assert three_valued(KB, rules, {}) != three_valued_interpreted(KB, rules, {"stressor": "ongoing"})
