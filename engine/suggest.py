"""Nearest-id suggestions for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(word: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The known ids closest to `word`, best first."""
    return difflib.get_close_matches(word, sorted(known), n=limit, cutoff=0.6)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """'; did you mean x?' (or 'x or y'), or '' when nothing is close."""
    close = nearest(word, known)
    if not close:
        return ""
    return "; did you mean " + " or ".join(close) + "?"
