"""The validated knowledge base cached on disk (issue 13, cold start): used only when its key
matches the files, invalidated by any change, never trusted when damaged, never in the repo."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from engine import kb_loader
from engine.kb_loader import CACHE_ENV, DEFAULT_DIR, cache_dir, load, load_cached

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def kb_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    target = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("vignettes"))
    return target


def _loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each real load (validation) from now on."""
    calls: list[Path] = []
    real = kb_loader.load

    def counting(directory: Path | str = DEFAULT_DIR,
                 verify_citations: bool = True) -> kb_loader.KnowledgeBase:
        calls.append(Path(directory))
        return real(directory, verify_citations)

    monkeypatch.setattr(kb_loader, "load", counting)
    return calls


def test_kb_cache_gives_the_validated_knowledge_base_without_validating_again(
        kb_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _loads(monkeypatch)
    first = load_cached(kb_copy)
    again = load_cached(kb_copy)
    assert len(calls) == 1  # the second came from the cache
    fresh = load(kb_copy)
    assert again.sha256 == first.sha256 == fresh.sha256
    assert again.rules == fresh.rules and dict(again.strata) == dict(fresh.strata)
    assert dict(again.parameters) == dict(fresh.parameters)


@pytest.mark.parametrize("edit", ["parameters.yaml", "citations.lock.json", "rules/spectrum.yaml"])
def test_kb_cache_is_invalidated_by_any_change(kb_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                              edit: str) -> None:
    load_cached(kb_copy)
    calls = _loads(monkeypatch)
    path = kb_copy / edit
    path.write_bytes(path.read_bytes() + b"\n")  # same meaning, other bytes: a new key
    load_cached(kb_copy)
    assert calls == [kb_copy]


def test_kb_cache_never_serves_a_knowledge_base_that_no_longer_validates(
        kb_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_cached(kb_copy)
    params = kb_copy / "parameters.yaml"
    params.write_text(params.read_text().replace("value: 12", "value: -5", 1))
    with pytest.raises(kb_loader.KnowledgeBaseError):
        load_cached(kb_copy)


def test_kb_cache_ignores_a_damaged_or_foreign_cache_file(kb_copy: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    load_cached(kb_copy)
    (cached,) = (tmp_path / "cache").glob("kb-*.pickle")
    calls = _loads(monkeypatch)
    cached.write_bytes(cached.read_bytes()[:200])  # truncated
    assert load_cached(kb_copy).strata
    cached.write_bytes(b"0" * 64 + b"\n" + b"not a pickle")  # another key
    assert load_cached(kb_copy).strata
    assert len(calls) == 2


def test_kb_cache_can_be_switched_off(kb_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None
    load_cached(kb_copy)
    assert not (tmp_path / "cache").exists()


def test_kb_cache_is_never_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    where = cache_dir()
    if where is not None and where.resolve().is_relative_to(ROOT):
        # only inside the virtual environment, which git ignores
        assert where.resolve().is_relative_to(Path(sys.prefix).resolve())
