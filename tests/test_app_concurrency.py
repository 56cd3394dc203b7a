"""Two sessions assessing different cases at the same time each get their own result.

Streamlit's AppTest keeps one process-global runtime per run, so two AppTests cannot run in
parallel threads. These tests drive the app's own session code path (`ui.state`: the workspace,
the session's evaluator, the memoised evaluation) from two threads at once, each thread with its
own session state, as Streamlit gives each browser session; the engines are lent to one
evaluation at a time (`ui.state.engine_pool`), and the tests record which engine each
evaluation held. The browser test adds two real sessions on one server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import pytest

import ui.state
from engine import KnowledgeBase, parse_case
from engine.inference import Evaluator
from engine.pool import EvaluatorPool
from engine.vignettes import Vignette, default_vignettes
from ui.state import CLIENT, evaluate, load_case, workspace

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


class RecordingPool(EvaluatorPool):
    """The app's pool, recording which engine each evaluation holds and any engine held twice."""

    def __init__(self, kb: KnowledgeBase) -> None:
        super().__init__(kb, keep=4)
        self.holding: set[int] = set()
        self.clashes: list[int] = []
        self.used: list[tuple[str, int]] = []
        self._record = threading.Lock()

    @contextmanager
    def lend(self) -> Iterator[Evaluator]:
        with super().lend() as ev:
            with self._record:
                if id(ev) in self.holding:
                    self.clashes.append(id(ev))
                self.holding.add(id(ev))
                self.used.append((threading.current_thread().name, id(ev)))
            try:
                yield ev
            finally:
                with self._record:
                    self.holding.discard(id(ev))


@pytest.fixture
def recording_pool(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> RecordingPool:
    pool = RecordingPool(kb)
    monkeypatch.setattr(ui.state, "engine_pool", lambda _kb: pool)
    return pool


def _pair(kb: KnowledgeBase) -> tuple[Vignette, Vignette]:
    by_position: dict[str, Vignette] = {}
    for v in default_vignettes():
        by_position.setdefault(v.expect.position, v)
    return by_position["adaptive"], by_position["maladaptive"]


def test_two_sessions_at_once_each_get_their_own_result(
        kb: KnowledgeBase, per_thread_sessions: None, recording_pool: RecordingPool) -> None:
    first, second = _pair(kb)
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {first.id: [], second.id: []}
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
        except Exception as exc:  # reported by the main thread
            errors.append(f"{v.id}: {type(exc).__name__}: {exc}")
            barrier.abort()

    threads = [threading.Thread(target=session, args=(v,), name=v.id) for v in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert results[first.id] == [first.expect.position] * ROUNDS
    assert results[second.id] == [second.expect.position] * ROUNDS
    # Every evaluation had an engine to itself: never one engine in two evaluations at once.
    assert {name for name, _ in recording_pool.used} == {first.id, second.id}
    assert recording_pool.clashes == []


def test_a_session_keeps_no_engine_between_evaluations(
        kb: KnowledgeBase, per_thread_sessions: None, recording_pool: RecordingPool) -> None:
    v, _ = _pair(kb)
    ws = workspace(CLIENT)
    load_case(ws, parse_case(v.case, kb), kb)
    assert evaluate(ws, kb).report is not None
    assert recording_pool.used and recording_pool.holding == set()
    assert not any(isinstance(x, Evaluator) for x in ui.state.session().values())
