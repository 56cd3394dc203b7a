"""Shared fixtures: the knowledge base, a per-test evaluator, and a case factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import Case, KnowledgeBase, Report, assess, default_knowledge_base, parse_case
from engine.inference import Evaluator


@pytest.fixture(autouse=True)
def no_real_case_store(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test touches the case store of the person running the tests: the app's store is a
    locked file in a temporary directory unless a test configures its own."""
    from store.db import KEY_ENV, URL_ENV
    path = tmp_path_factory.getbasetemp() / "no-real-store" / "cases.db"
    monkeypatch.setenv(URL_ENV, f"sqlite+pysqlcipher:///{path}")
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The project's knowledge base (validated once)."""
    return default_knowledge_base()


@pytest.fixture
def evaluator(kb: KnowledgeBase) -> Evaluator:
    """A fresh evaluator (own experta engine) per test."""
    return Evaluator(kb)


def case_data(**sections: Any) -> dict[str, Any]:
    """A version-1 case file from keyword sections (timeline=..., criteria=..., ...)."""
    return {"schema_version": 1, **sections}


@pytest.fixture
def make_case(kb: KnowledgeBase) -> Callable[..., Case]:
    """Build and validate a case from keyword sections."""

    def make(**sections: Any) -> Case:
        return parse_case(case_data(**sections), kb)

    return make


@pytest.fixture
def run_case(make_case: Callable[..., Case], evaluator: Evaluator) -> Callable[..., Report]:
    """Assess a case given as keyword sections."""

    def run(**sections: Any) -> Report:
        return assess(make_case(**sections), evaluator)

    return run
