"""Exceptions that carry data: callers render the problems, nobody parses strings."""

from __future__ import annotations

from dataclasses import dataclass

from engine.inert import escape_controls

# A message shows at most this many problems, then how many more there are: a file with
# thousands of unknown keys must not flood a terminal or the app's error box.
MAX_LINES = 20
_WHERE_MAX = 120  # a key in a case file can be as long as the file


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (a field path or a file and entry) and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        # Both parts can hold text from a file (a key, a file name): shown inert, and bounded.
        where = self.where if len(self.where) <= _WHERE_MAX else self.where[:_WHERE_MAX - 3] + "..."
        return escape_controls(f"{where}: {self.message}")


class ProblemsError(Exception):
    """Base for errors that carry a list of problems, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self, limit: int = MAX_LINES) -> list[str]:
        """The first `limit` problems, one inert line each, then 'and N more' if there are more."""
        shown = [str(p) for p in self.problems[:limit]]
        rest = len(self.problems) - limit
        if rest > 0:
            shown.append(f"and {rest} more problem{'s' if rest > 1 else ''}")
        return shown


class CaseError(ProblemsError):
    """A case file breaks the case contract; nothing was assessed."""


class KnowledgeBaseError(ProblemsError):
    """The knowledge base is broken; no advice may be given until it is fixed."""
