"""Find engine words in text meant for clinicians: rule ids, 'kind.id' references, fact, question
and catalogue ids, answer codes and engine terms. Used by the report, app and browser tests."""

from __future__ import annotations

import re

from engine import KnowledgeBase

# A dotted id (`spectrum.maladaptive`, `finding.x_y`) or a snake_case word of two or more parts.
DOTTED = re.compile(r"\b[a-z][a-z0-9]*\.[a-z0-9]+(?:_[a-z0-9]+)+\b|\b[a-z]+\.[a-z]+_[a-z_]+\b")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
DOT_REF = re.compile(r"\b(?:spectrum|driver|formulation|origin|finding|argument|recommendation|caution|"
                     r"reflection|measure|interpretation|inconsistency|plan|tally|question)\.[a-z0-9_]+\b")
ENGINE_TERMS = ("answer given:", "asserted:", "✓ met", "✗ not met", "tally ", "stage 1",
                "because: `", " = ")


def engine_tokens(kb: KnowledgeBase, text: str) -> list[str]:
    """Every engine word found in `text` (empty when it is plain language)."""
    found = [m.group(0) for m in DOTTED.finditer(text)]
    found += [m.group(0) for m in DOT_REF.finditer(text)]
    found += [m.group(0) for m in SNAKE.finditer(text)]
    found += [r.id for r in kb.rules if r.id in text]
    lowered = text.lower()
    found += [t for t in ENGINE_TERMS if t in lowered]
    return sorted(set(found))
