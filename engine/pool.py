"""Evaluators lent out one evaluation at a time: never two evaluations on one engine at once.

Building an experta engine costs more than an assessment, and an engine kept by every session
would stay in memory as long as the session does (a disconnected session is kept for a while
in case its browser reconnects). So a process keeps a few engines and lends each to one
evaluation; the engine resets before every run (engine.inference) and is emptied (a run on no
answers) before it goes back, so no case's facts stay in an idle engine. Engines beyond `keep`
are built when more evaluations run at once, and dropped when they come back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from engine.inference import Evaluator
from engine.kb_loader import KnowledgeBase


class EvaluatorPool:
    """Engines for one knowledge base, each lent to one evaluation at a time."""

    def __init__(self, kb: KnowledgeBase, keep: int, prefill: int = 0) -> None:
        self.kb = kb
        self.keep = keep
        self._lock = threading.Lock()
        self._free: list[Evaluator] = [Evaluator(kb) for _ in range(min(prefill, keep))]
        self.lent = 0

    @contextmanager
    def lend(self) -> Iterator[Evaluator]:
        """An engine of this pool's own for the `with` block; emptied when it comes back."""
        with self._lock:
            evaluator = self._free.pop() if self._free else None
            self.lent += 1
        if evaluator is None:
            evaluator = Evaluator(self.kb)
        try:
            yield evaluator
        finally:
            evaluator.run_answers({})
            with self._lock:
                self.lent -= 1
                if len(self._free) < self.keep:
                    self._free.append(evaluator)

    @property
    def idle(self) -> int:
        """How many engines wait to be lent."""
        with self._lock:
            return len(self._free)
