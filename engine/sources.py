"""Checks that every knowledge-base entry quotes the source document verbatim, in its section."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.errors import Problem
from engine.kb_loader import KnowledgeBase
from engine.knowledge import Source

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "seed" / "emotional-detachment.txt"
SOURCE_ENV = "DETACHMENT_SOURCE"


def source_path() -> Path:
    """Where the source document is: $DETACHMENT_SOURCE, else ../shared/seed/ beside the repo."""
    return Path(os.environ.get(SOURCE_ENV) or DEFAULT_SOURCE)


def normalise(text: str) -> str:
    """Collapse runs of whitespace so line breaks and double spaces do not break a match."""
    return re.sub(r"\s+", " ", text).strip()


def split_sections(text: str, headings: tuple[str, ...]) -> dict[str, str]:
    """The document's text under each heading (a heading is a line equal to it)."""
    lines = text.splitlines()
    starts = [(i, line.strip()) for i, line in enumerate(lines) if line.strip() in headings]
    out: dict[str, str] = {}
    for n, (i, heading) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        out[heading] = normalise("\n".join(lines[i + 1:end]))
    return out


def cited_sources(kb: KnowledgeBase) -> Iterator[tuple[str, Source]]:
    """Every entry of the knowledge base with its source, named for messages."""
    return iter(kb.sources())


def quote_problems(kb: KnowledgeBase, document: str,
                   extra: Iterable[tuple[str, Source]] = ()) -> list[Problem]:
    """Entries (and `extra` sources) whose section is not a heading of the document or whose
    quote is not in it."""
    sections = split_sections(document, kb.meta.sections)
    problems = [Problem("knowledge_base/meta.yaml", f"section '{h}' is not a heading of the source")
                for h in kb.meta.sections if h not in sections]
    for where, src in [*cited_sources(kb), *extra]:
        body = sections.get(src.section)
        if body is None:
            problems.append(Problem(where, f"section '{src.section}' is not a source section"))
        elif normalise(src.quote) not in body:
            problems.append(Problem(where, f"quote not found verbatim in '{src.section}': "
                                           f"{src.quote[:60]!r}"))
    return problems
