"""A feedback sink for the tests: every issued card and feedback record as one JSON line."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.feedback import FeedbackRecord, IssuedCard


class JsonLinesSink:
    """Appends {"kind": "card" | "feedback", ...} lines to a file."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _append(self, kind: str, record: Any) -> None:
        line = json.dumps({"kind": kind, **dataclasses.asdict(record)}, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def card_issued(self, card: IssuedCard) -> None:
        """Remember an issued card."""
        self._append("card", card)

    def feedback(self, records: Sequence[FeedbackRecord]) -> None:
        """Store feedback records."""
        for record in records:
            self._append("feedback", record)


def make(path: str) -> JsonLinesSink:
    """The factory the configuration names (feedback_sink = "tests.service.sinks:make")."""
    return JsonLinesSink(path)


def read(path: Path) -> list[dict[str, Any]]:
    """The lines written so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
