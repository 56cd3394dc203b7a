"""Every knowledge-base entry cites a section of the source document and quotes it verbatim."""

from __future__ import annotations

import pytest

from engine import KnowledgeBase
from engine.sources import cited_sources, normalise, quote_problems, source_path, split_sections
from engine.vignettes import default_vignettes


@pytest.fixture(scope="module")
def document() -> str:
    path = source_path()
    assert path.is_file(), f"source document not found at {path} (set DETACHMENT_SOURCE)"
    return path.read_text(encoding="utf-8")


def test_every_quote_is_verbatim_in_its_section(kb: KnowledgeBase, document: str) -> None:
    assert quote_problems(kb, document) == []


def test_every_entry_kind_is_checked(kb: KnowledgeBase) -> None:
    names = {where.split(" ")[0] for where, _ in cited_sources(kb)}
    assert {"question", "rule", "parameter"} <= names


def test_a_wrong_quote_is_caught(kb: KnowledgeBase, document: str) -> None:
    sections = split_sections(document, kb.meta.sections)
    spectrum = sections["Spectrum of Detachment: Adaptive vs. Maladaptive Forms"]
    assert normalise("They can reconnect when the situation allows.") in spectrum
    assert normalise("They can always reconnect.") not in spectrum


def test_vignette_quotes_are_verbatim(kb: KnowledgeBase, document: str) -> None:
    sections = split_sections(document, kb.meta.sections)
    for v in default_vignettes():
        assert normalise(v.source.quote) in sections[v.source.section], v.id
