"""The what-if sweeps' fast paths equal the plain evaluation they stand for.

`Sweeper.conclude_kind` evaluates a kind's cone of rules as a function of positional answer
values (`generated.kind_evaluator`); the pairs of `what_would_change` put a second answer
straight into those values when nothing it requires or is required by can drop. Both are held
here to the plain forms: the cone's `rules_evaluator` on the answers, and the pairs searched
with `with_answer` and a full evaluation each.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import default_knowledge_base, parse_case
from engine.answer_forms import reasoning_answers
from engine.case import Answer
from engine.generated import rules_evaluator
from engine.whatif import CONCLUSION_KINDS, Sweeper, Variant, cone, with_answer
from tests.strategies import case_dicts

KB = default_knowledge_base()
QUESTIONS = sorted(KB.questions)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _answers(data: dict[str, Any], dropped: set[str]) -> dict[str, Answer]:
    case = parse_case(data, KB)
    return {k: v for k, v in reasoning_answers(KB, case.answers, case.as_of).items() if k not in dropped}


def _plain_kind(kind: str, answers: dict[str, Answer]) -> frozenset[str]:
    derived = rules_evaluator(KB, tuple(r.id for r in cone(KB, kind)[0]))(answers)[0]
    prefix = kind + "."
    return frozenset(ref[len(prefix):] for ref in derived if ref.startswith(prefix))


@SETTINGS
@given(case_dicts(KB), st.sets(st.sampled_from(QUESTIONS)))
def test_kind_evaluation_equals_the_cone_evaluator(data: dict[str, Any], dropped: set[str]) -> None:
    answers = _answers(data, dropped)
    sweeper = Sweeper(KB, answers)
    for kind in CONCLUSION_KINDS:
        assert sweeper.conclude_kind(kind, answers) == _plain_kind(kind, answers), kind
        # and after one change of each answer the cone reads (the sweeps' variants)
        for qid in cone(KB, kind)[1][:8]:
            for change in sweeper.alternatives(qid)[:3]:
                changed = with_answer(KB, answers, qid, change.after)
                assert sweeper.conclude_kind(kind, changed) == _plain_kind(kind, changed)


def _plain_pairs(sweeper: Sweeper, kind: str, limit: int = 40) -> list[Variant]:
    """`what_would_change(kind, pairs=True)` as first written: every pair through `with_answer`."""
    kb = sweeper.kb
    questions = cone(kb, kind)[1]
    base = sweeper.base[kind]
    singles = [Variant((change,), sweeper.conclude(changed))
               for change, changed in sweeper._single_answers(questions)
               if _plain_kind(kind, changed) != base]
    decisive = {(v.changes[0].question, v.changes[0].after) for v in singles}
    options = [c for qid in questions for c in sweeper.alternatives(qid) if (qid, c.after) not in decisive]
    found: list[Variant] = []
    for i, first in enumerate(options):
        step = with_answer(kb, sweeper.answers, first.question, first.after)
        for second in options[i + 1:]:
            if first.question == second.question or not kb.questions[second.question].requirements_met(step):
                continue
            changed = with_answer(kb, step, second.question, second.after)
            if _plain_kind(kind, changed) != base:
                found.append(Variant((first, second), sweeper.conclude(changed)))
                if len(found) + len(singles) >= limit:
                    return (singles + found)[:limit]
    return (singles + found)[:limit]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts(KB), st.sets(st.sampled_from(QUESTIONS)), st.sampled_from(CONCLUSION_KINDS[:3]))
def test_pairs_equal_the_plain_search(data: dict[str, Any], dropped: set[str], kind: str) -> None:
    answers = _answers(data, dropped)
    assert Sweeper(KB, answers).what_would_change(kind, pairs=True) == \
        _plain_pairs(Sweeper(KB, answers), kind)


def test_the_kind_comparison_sees_a_difference() -> None:
    """Two vignettes with different positions differ here too: the equality is not vacuous."""
    from engine.vignettes import default_vignettes

    positions = set()
    for v in default_vignettes():
        case = parse_case(v.case, KB)
        answers = reasoning_answers(KB, case.answers, case.as_of)
        positions.add(Sweeper(KB, answers).conclude_kind("spectrum", answers))
    assert len(positions) > 1
