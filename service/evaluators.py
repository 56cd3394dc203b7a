"""A small pool of evaluators, one per concurrent assessment: never two requests on one engine.

Building an experta engine takes tens of milliseconds, longer than an assessment, so each
worker keeps `engines` of them. A request has its engine to itself for the whole assessment;
the engine resets before every run (engine.inference), and after the request it is emptied
(a run on no answers) before it goes back, so no case's facts stay in an idle engine.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TypeVar

import anyio

from engine import KnowledgeBase, new_evaluator
from engine.inference import Evaluator

T = TypeVar("T")


class EvaluatorPool:
    """`size` evaluators, lent out one request at a time."""

    def __init__(self, kb: KnowledgeBase, size: int) -> None:
        self.kb = kb
        self.size = size
        self._free: queue.SimpleQueue[Evaluator] = queue.SimpleQueue()
        for _ in range(size):
            self._free.put(new_evaluator(kb))
        self.limiter = anyio.CapacityLimiter(size)

    def _with_evaluator(self, work: Callable[[Evaluator], T]) -> T:
        evaluator = self._free.get_nowait()  # the limiter guarantees one is free
        try:
            return work(evaluator)
        finally:
            evaluator.run_answers({})
            self._free.put(evaluator)

    async def run(self, work: Callable[[Evaluator], T]) -> T:
        """Run `work(evaluator)` in a worker thread once an evaluator is free."""
        return await anyio.to_thread.run_sync(self._with_evaluator, work, limiter=self.limiter)
