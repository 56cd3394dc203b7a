"""The committed lock of verified citations: the source's sha256 and each quote's position.

The source document stays outside the repository, so a clone cannot check quotes against it.
`python -m engine check --source FILE` verifies every quote in the document and writes this
lock; without the document, every quote of the knowledge base must be in the lock, so a quote
edited (or invented) since it was last verified is refused, at load and by `check`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.errors import Problem
from engine.knowledge import Source

LOCK_FILE = "citations.lock.json"


class LockedQuote(BaseModel):
    """One verified quote: where it is in its section of the source (whitespace-normalised)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    section: str
    quote: str
    offset: int


class CitationLock(BaseModel):
    """The verified citations and the document they were verified against."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source_sha256: str
    quotes: tuple[LockedQuote, ...]

    def verified(self) -> set[tuple[str, str]]:
        """(section, quote) of every locked quote."""
        return {(q.section, q.quote) for q in self.quotes}


def read_lock(directory: Path) -> tuple[CitationLock | None, list[Problem]]:
    """The lock in a knowledge-base directory, or the problem reading it."""
    path = directory / LOCK_FILE
    where = f"{directory.name}/{LOCK_FILE}"
    if not path.is_file():
        return None, [Problem(where, "missing: run `python -m engine check --source FILE` to verify "
                                     "the quotes against the source and write it")]
    try:
        return CitationLock.model_validate_json(path.read_bytes()), []
    except (OSError, ValidationError, ValueError) as exc:
        return None, [Problem(where, f"is not a valid citation lock ({type(exc).__name__})")]


def unlocked(sources: Iterable[tuple[str, Source]], lock: CitationLock) -> list[Problem]:
    """Entries whose quote is not in the lock (edited or added since the last verification)."""
    keys = lock.verified()
    return [Problem(where, f"quote not verified against the source (not in {LOCK_FILE}): "
                           f"{src.quote[:60]!r}; verify with `python -m engine check --source FILE`")
            for where, src in sources if (src.section, src.quote) not in keys]


def build_lock(sources: Iterable[tuple[str, Source]], document: str,
               sections: dict[str, str]) -> CitationLock:
    """The lock for quotes already verified in `sections` (normalised text by heading)."""
    from engine.sources import normalise  # beside the verification it records

    quotes = {(s.section, s.quote) for _, s in sources}
    locked = [LockedQuote(section=sec, quote=q, offset=sections[sec].index(normalise(q)))
              for sec, q in sorted(quotes)]
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    return CitationLock(source_sha256=digest, quotes=tuple(locked))


def write_lock(directory: Path, lock: CitationLock) -> None:
    """Write the lock, one quote per line, stable for diffs."""
    data = lock.model_dump(mode="json")
    lines = ['{', f'  "source_sha256": {json.dumps(data["source_sha256"])},', '  "quotes": [']
    rows = [json.dumps(q, ensure_ascii=False, sort_keys=True) for q in data["quotes"]]
    lines += [f"    {row}{',' if i < len(rows) - 1 else ''}" for i, row in enumerate(rows)]
    lines += ["  ]", "}"]
    (directory / LOCK_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
