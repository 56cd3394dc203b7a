"""Every knowledge-base entry cites a section of the source document and quotes it verbatim.

The source stays outside the repository: with it beside the clone (or at $DETACHMENT_SOURCE)
every quote is checked in it and the committed lock must match it; without it, every quote must
be in the committed lock of verified citations, so an edited quote still fails.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from engine import KnowledgeBase, KnowledgeBaseError, load
from engine.citations import LOCK_FILE, read_lock, unlocked
from engine.cli import main
from engine.kb_loader import DEFAULT_DIR
from engine.sources import cited_sources, normalise, quote_problems, source_path, split_sections
from engine.vignettes import default_vignettes


@pytest.fixture(scope="module")
def document() -> str | None:
    """The source document when it is available, else None (a clone without ../shared)."""
    path = source_path()
    return path.read_text(encoding="utf-8") if path.is_file() else None


def test_every_quote_is_in_the_citation_lock(kb: KnowledgeBase) -> None:
    lock, problems = read_lock(DEFAULT_DIR)
    assert lock is not None and problems == []
    assert unlocked(kb.sources(), lock) == []
    assert all(q.offset >= 0 for q in lock.quotes)


def test_every_quote_is_verbatim_in_its_section_and_the_lock_matches(
        kb: KnowledgeBase, document: str | None) -> None:
    lock, _ = read_lock(DEFAULT_DIR)
    assert lock is not None
    if document is None:  # no source here: the lock is the verification (previous test)
        assert len(lock.source_sha256) == 64
        return
    assert quote_problems(kb, document) == []
    assert lock.source_sha256 == hashlib.sha256(document.encode()).hexdigest()
    sections = split_sections(document, kb.meta.sections)
    for q in lock.quotes:
        assert sections[q.section][q.offset:].startswith(normalise(q.quote)), q.quote


def test_every_entry_kind_is_checked(kb: KnowledgeBase) -> None:
    names = {where.split(" ")[0] for where, _ in cited_sources(kb)}
    assert {"question", "rule", "parameter", "tally", "key"} <= names


def test_an_edited_quote_that_was_never_verified_stops_the_knowledge_base(tmp_path: Path) -> None:
    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb_dir)
    path = kb_dir / "rules" / "spectrum.yaml"
    old = "They can reconnect when the situation allows."
    path.write_text(path.read_text(encoding="utf-8").replace(old, "They can always reconnect.", 1),
                    encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as exc:
        load(kb_dir)
    (line,) = exc.value.lines()
    assert "not verified against the source" in line and "They can always reconnect." in line
    assert main(["--kb", str(kb_dir), "check"]) == 3  # no advice, and check says why


def test_check_with_the_source_verifies_and_rewrites_the_lock(tmp_path: Path, document: str | None) -> None:
    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb_dir)
    source = tmp_path / "source.txt"
    # Without the real document here, check a copy of the lock against an invented source:
    # every quote is then missing from it, and the lock is left as it was.
    source.write_text(document or "In Brief\nNothing here.\n", encoding="utf-8")
    before = (kb_dir / LOCK_FILE).read_text(encoding="utf-8")
    code = main(["--kb", str(kb_dir), "check", "--source", str(source)])
    if document is None:
        assert code == 1 and (kb_dir / LOCK_FILE).read_text(encoding="utf-8") == before
        return
    (kb_dir / LOCK_FILE).unlink()
    assert main(["--kb", str(kb_dir), "check", "--source", str(source)]) == 0
    assert (kb_dir / LOCK_FILE).read_text(encoding="utf-8") == before  # same quotes, same lock


def test_a_wrong_quote_is_caught(kb: KnowledgeBase, document: str | None) -> None:
    lock, _ = read_lock(DEFAULT_DIR)
    assert lock is not None
    spectrum = "Spectrum of Detachment: Adaptive vs. Maladaptive Forms"
    assert (spectrum, "They can reconnect when the situation allows.") in lock.verified()
    assert (spectrum, "They can always reconnect.") not in lock.verified()
    if document is not None:
        sections = split_sections(document, kb.meta.sections)
        assert normalise("They can reconnect when the situation allows.") in sections[spectrum]
        assert normalise("They can always reconnect.") not in sections[spectrum]


def test_vignette_quotes_are_verbatim(kb: KnowledgeBase, document: str | None) -> None:
    lock, _ = read_lock(DEFAULT_DIR)
    assert lock is not None
    for v in default_vignettes():
        assert (v.source.section, v.source.quote) in lock.verified(), v.id
        if document is not None:
            sections = split_sections(document, kb.meta.sections)
            assert normalise(v.source.quote) in sections[v.source.section], v.id
