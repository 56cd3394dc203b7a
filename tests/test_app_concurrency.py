"""Two sessions assessing different cases at the same time each get their own result.

Streamlit's AppTest keeps one process-global runtime per run, so two AppTests cannot run in
parallel threads. These tests drive the app's own session code path (`ui.state`: the workspace,
the session's evaluator, the memoised evaluation) from two threads at once, each thread with its
own session state, as Streamlit gives each browser session. The browser test adds two real
sessions on one server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest

import ui.state
from engine import KnowledgeBase, parse_case
from engine.inference import Evaluator
from engine.vignettes import Vignette, default_vignettes
from ui.state import CLIENT, evaluate, evaluator, load_case, workspace

ROUNDS = 40


@pytest.fixture
def per_thread_sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each thread gets its own session state, like each browser session in Streamlit."""
    local = threading.local()

    def session() -> MutableMapping[str, Any]:
        if not hasattr(local, "state"):
            local.state = {}
        state: MutableMapping[str, Any] = local.state
        return state

    monkeypatch.setattr(ui.state, "session", session)
    yield


def _pair(kb: KnowledgeBase) -> tuple[Vignette, Vignette]:
    by_position: dict[str, Vignette] = {}
    for v in default_vignettes():
        by_position.setdefault(v.expect.position, v)
    return by_position["adaptive"], by_position["maladaptive"]


def test_two_sessions_at_once_each_get_their_own_result(kb: KnowledgeBase, per_thread_sessions: None) -> None:
    first, second = _pair(kb)
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {first.id: [], second.id: []}
    engines: dict[str, set[int]] = {first.id: set(), second.id: set()}
    errors: list[str] = []

    def session(v: Vignette) -> None:
        try:
            case = parse_case(v.case, kb)
            ws = workspace(CLIENT)
            for _ in range(ROUNDS):
                barrier.wait(timeout=30)
                load_case(ws, case, kb)       # as the upload page does
                ev = evaluate(ws, kb)         # as the results page does
                assert ev.report is not None, ev.problems
                results[v.id].append(ev.report.spectrum.position)
                if ev.report.case_id != case.case_id:
                    errors.append(f"{v.id}: got case id {ev.report.case_id}")
                engines[v.id].add(id(evaluator(kb)))
        except Exception as exc:  # reported by the main thread
            errors.append(f"{v.id}: {type(exc).__name__}: {exc}")
            barrier.abort()

    threads = [threading.Thread(target=session, args=(v,)) for v in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert results[first.id] == [first.expect.position] * ROUNDS
    assert results[second.id] == [second.expect.position] * ROUNDS
    # One engine per session, kept for the session's life, never the other session's.
    assert len(engines[first.id]) == 1 and len(engines[second.id]) == 1
    assert engines[first.id].isdisjoint(engines[second.id])


def test_each_session_builds_its_own_evaluator(kb: KnowledgeBase, per_thread_sessions: None) -> None:
    made: dict[int, list[Evaluator]] = {0: [], 1: []}

    def session(n: int) -> None:
        made[n].extend([evaluator(kb), evaluator(kb)])

    threads = [threading.Thread(target=session, args=(n,)) for n in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made[0][0] is made[0][1] and made[1][0] is made[1][1]
    assert made[0][0] is not made[1][0]
