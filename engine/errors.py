"""Exceptions that carry data: callers render the problems, nobody parses strings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (a field path or a file and entry) and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ProblemsError(Exception):
    """Base for errors that carry a list of problems, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        """The problems, one human-readable line each."""
        return [str(p) for p in self.problems]


class CaseError(ProblemsError):
    """A case file breaks the case contract; nothing was assessed."""


class KnowledgeBaseError(ProblemsError):
    """The knowledge base is broken; no advice may be given until it is fixed."""
