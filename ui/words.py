"""Ids in words for the pages: the engine's plain-language functions (`engine.plain`).

Kept as the pages' import point; every label comes from the knowledge base's catalogue.
"""

from __future__ import annotations

from engine.plain import (
    KIND_ALIASES,
    KIND_NAMES,
    answer_words,
    choices,
    condition_words,
    could_change_most,
    could_change_words,
    fact_words,
    kind_name,
    md_text,
    option_label,
    question_label,
    ref_label,
    unknown_label,
)

__all__ = ["KIND_ALIASES", "KIND_NAMES", "answer_words", "choices", "condition_words",
           "could_change_most", "could_change_words", "fact_words", "kind_name", "md_text",
           "option_label", "question_label", "ref_label", "unknown_label"]
