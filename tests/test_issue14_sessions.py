"""Issue 14 item 7, many sessions: an answer costs a plain assessment, not the explanations, and
a session holds no engine, so what an ended session keeps is its answers and a few evaluations.

The load figures (rerun time at 10, 20 and 40 sessions, the server's memory) come from
`scripts/bench_sessions.py`, a load script, not a test.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import engine.assessment
from engine import KnowledgeBase
from engine.inference import Evaluator
from engine.pool import EvaluatorPool
from tests.test_app import APP, VIGNETTES, client, goto, load_vignette, run, set_answer
from ui.state import MEMO_SIZE


def _explanations_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = engine.assessment.add_explanations

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.assessment, "add_explanations", counted)
    return calls


def _engines_in(value: Any, seen: set[int] | None = None) -> int:
    """How many experta engines (evaluators) are reachable from a session state value."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, Evaluator):
        return 1
    if isinstance(value, dict):
        return sum(_engines_in(v, seen) for v in value.values())
    if isinstance(value, list | tuple | set):
        return sum(_engines_in(v, seen) for v in value)
    if hasattr(value, "__dict__") and type(value).__module__.startswith("ui."):
        return sum(_engines_in(v, seen) for v in vars(value).values())
    return 0


def test_issue14_item7_many_sessions_an_answer_on_the_assessment_page_computes_no_explanations(
        kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run(AppTest.from_file(APP, default_timeout=30))
    calls = _explanations_counted(monkeypatch)
    set_answer(at, kb, "numbness", "present")
    set_answer(at, kb, "numbness", "absent")
    assert client(at).answers["numbness"] == "absent"
    assert "Provisional position" in " ".join(str(c.value) for c in at.caption)
    assert calls == [], "an answer on the assessment page ran the explanations"
    goto(at, "results")  # the Results page explains the current answers, once
    assert len(calls) == 1
    goto(at, "assessment")
    goto(at, "results")
    assert len(calls) == 1, "the same answers were explained twice"


def test_issue14_item7_many_sessions_a_session_holds_no_engine_and_few_evaluations(
        kb: KnowledgeBase) -> None:
    at = run(AppTest.from_file(APP, default_timeout=30))
    load_vignette(at, VIGNETTES[0])
    for value in ("present", "absent", "present", "absent", "present"):
        goto(at, "assessment")
        set_answer(at, kb, "numbness", value)
        goto(at, "results")
    state = {k: at.session_state[k] for k in at.session_state}
    assert _engines_in(state) == 0
    assert len(client(at)._memo) <= MEMO_SIZE


def test_issue14_item7_many_sessions_engines_are_lent_to_one_evaluation_at_a_time(
        kb: KnowledgeBase) -> None:
    pool = EvaluatorPool(kb, keep=1)
    inside = threading.Barrier(3)
    held: list[Evaluator] = []
    lock = threading.Lock()

    def evaluation() -> None:
        with pool.lend() as ev:
            with lock:
                held.append(ev)
            inside.wait(timeout=10)  # all three hold an engine at the same moment

    threads = [threading.Thread(target=evaluation) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len({id(e) for e in held}) == 3, "two evaluations held one engine at once"
    assert pool.idle == 1 and pool.lent == 0  # one kept, the others dropped


def test_issue14_item7_many_sessions_a_lent_engine_comes_back_empty(kb: KnowledgeBase) -> None:
    from engine import parse_case

    def facts(ev: Evaluator) -> set[str]:
        return {repr(f) for f in ev._engine.facts.values()}

    blank = Evaluator(kb)
    blank.run_answers({})
    pool = EvaluatorPool(kb, keep=1)
    with pool.lend() as ev:
        assert ev.run(parse_case(VIGNETTES[0].case, kb)).derived
        assert facts(ev) != facts(blank)
    assert facts(ev) == facts(blank), "a case's facts stayed in an idle engine"
    with pool.lend() as again:
        assert again is ev
