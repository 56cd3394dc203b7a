"""The service's evaluators: one per concurrent assessment, never two requests on one engine.

Each worker keeps `engines` of them (engine.pool), built at start-up; a request has its engine
to itself for the whole assessment, and at most `engines` requests assess at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

from engine import KnowledgeBase
from engine.inference import Evaluator
from engine.pool import EvaluatorPool as EnginePool

T = TypeVar("T")


class EvaluatorPool:
    """`size` evaluators, lent out one request at a time."""

    def __init__(self, kb: KnowledgeBase, size: int) -> None:
        self.kb = kb
        self.size = size
        self._engines = EnginePool(kb, keep=size, prefill=size)
        self.limiter = anyio.CapacityLimiter(size)

    def _with_evaluator(self, work: Callable[[Evaluator], T]) -> T:
        with self._engines.lend() as evaluator:
            return work(evaluator)

    async def run(self, work: Callable[[Evaluator], T]) -> T:
        """Run `work(evaluator)` in a worker thread once an evaluator is free."""
        return await anyio.to_thread.run_sync(self._with_evaluator, work, limiter=self.limiter)
