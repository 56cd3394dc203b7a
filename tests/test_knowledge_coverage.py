"""The vignettes exercise the whole knowledge base, and `python -m engine check` says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import KnowledgeBase
from engine.check import vignette_coverage
from engine.cli import main
from engine.kb_loader import DEFAULT_DIR
from engine.vignettes import default_vignettes

VIGNETTES = default_vignettes()
# Expectation field -> catalogue kind.
EXPECTED_KINDS = {
    "drivers": "driver", "formulations": "formulation", "origins": "origin",
    "recommendations": "recommendation", "cautions": "caution", "reflections": "reflection",
    "measures": "measure", "interpretations": "interpretation", "inconsistencies": "inconsistency",
}


def test_there_are_at_least_twenty_vignettes() -> None:
    assert len(VIGNETTES) >= 20


def test_every_rule_fires_and_every_entry_is_produced_in_some_vignette(kb: KnowledgeBase) -> None:
    coverage = vignette_coverage(kb, VIGNETTES)
    assert [str(p) for p in coverage.problems] == []
    assert coverage.fired == {r.id for r in kb.rules}
    assert coverage.vignettes == len(VIGNETTES)


@pytest.mark.parametrize("field", sorted(EXPECTED_KINDS))
def test_every_conclusion_and_suggestion_is_expected_by_some_vignette(
        field: str, kb: KnowledgeBase) -> None:
    """Not just produced on the way: some vignette states it as an expected outcome."""
    expected = {i for v in VIGNETTES for i in (getattr(v.expect, field) or ())}
    missing = set(kb.catalogue[EXPECTED_KINDS[field]]) - expected
    assert not missing, f"no vignette expects these {field}: {sorted(missing)}"


def test_every_spectrum_position_is_expected_by_some_vignette(kb: KnowledgeBase) -> None:
    assert {v.expect.position for v in VIGNETTES} - {None} == set(kb.catalogue["spectrum"])


def test_every_vignette_names_its_key_reasons() -> None:
    for v in VIGNETTES:
        # rules that must fire, or (written without the rules) passages of the source cited
        assert v.expect.fired or v.expect.reasons, f"{v.id}: no key reasons"
        assert v.teaching_points or v.note, f"{v.id}: no teaching points or note"


def test_a_missing_vignette_shows_as_uncovered(kb: KnowledgeBase) -> None:
    without = [v for v in VIGNETTES if v.id != "stressful_divorce"]
    problems = {str(p) for p in vignette_coverage(kb, without).problems}
    assert "rule therapist.pushing_within_situation: no vignette fires it" in problems
    assert "caution pushing_destabilizes: no vignette produces it" in problems


def test_check_reports_zero_problems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr()
    assert "0 problem(s)" in out.out
    assert f"{len(VIGNETTES)} vignettes fire" in out.out
    assert out.err == ""


def test_check_fails_when_a_rule_is_fired_by_no_vignette(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb_dir)
    (kb_dir / "vignettes" / "stressful_divorce.yaml").unlink()
    assert main(["--kb", str(kb_dir), "check"]) == 1
    err = capsys.readouterr().err
    assert "rule therapist.pushing_within_situation: no vignette fires it" in err
    assert "caution pushing_destabilizes: no vignette produces it" in err


def test_check_fails_on_an_invalid_vignette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb_dir)
    path = kb_dir / "vignettes" / "er_doctor.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("stressor: ongoing", "stressor: often"),
                    encoding="utf-8")
    assert main(["--kb", str(kb_dir), "check"]) == 1
    err = capsys.readouterr().err
    assert "vignette er_doctor: invalid case" in err
