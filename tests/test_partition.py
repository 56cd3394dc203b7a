"""`engine check` proves the spectrum position is a partition: every case gets exactly one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import KnowledgeBase, load
from engine.cli import main
from engine.generated import generated_evaluator
from engine.kb_loader import DEFAULT_DIR
from engine.partition import prove_partition
from engine.whatif import conclusions_of


def test_every_case_gets_exactly_one_position(kb: KnowledgeBase) -> None:
    report = prove_partition(kb)
    assert report.violations == []
    # every frame (within, outlasting, neither, chronic partly) times every pair of tally weights
    assert report.points > 500


def _without(tmp_path: Path, rule_id: str, replace: tuple[str, str] | None = None) -> Path:
    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb_dir)
    path = kb_dir / "rules" / "spectrum.yaml"
    text = path.read_text(encoding="utf-8")
    if replace:
        text = text.replace(*replace)
    start = text.index(f"  - id: {rule_id}\n")
    end = text.find("\n  - id: ", start + 1)
    path.write_text(text[:start] + (text[end + 1:] if end != -1 else ""), encoding="utf-8")
    return kb_dir


def test_a_gap_is_named_with_answers_that_fall_into_it(tmp_path: Path) -> None:
    # Issue 9: a fully answered case once came out with no rule placing it.
    kb = load(_without(tmp_path, "spectrum.adaptive.reconnected"))
    report = prove_partition(kb)
    assert report.violations
    (facts, _), got, answers = report.violations[0]
    assert got == [] and "finding.persists_beyond_situation" in facts
    assert answers is not None
    assert conclusions_of(generated_evaluator(kb)(answers)[0])["spectrum"] == frozenset()


def test_an_overlap_is_named(tmp_path: Path) -> None:
    loose = ("      - {tally: protection, at_least: 1}\n"
             "      - {tally: pattern, minus: protection, below: pattern_margin}\n"
             "    then: [spectrum.adaptive]",
             "      - {tally: protection, at_least: 1}\n    then: [spectrum.adaptive]")
    kb_dir = _without(tmp_path, "spectrum.adaptive.reconnected", replace=loose)
    report = prove_partition(load(kb_dir))
    overlaps = [v for v in report.violations if len(v[1]) == 2]
    assert overlaps and overlaps[0][2] is not None
    assert set(overlaps[0][1]) == {"spectrum.adaptive", "spectrum.at_risk"}


def test_check_fails_and_names_the_combination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb_dir = _without(tmp_path, "spectrum.undetermined")
    assert main(["--kb", str(kb_dir), "check"]) == 1
    err = capsys.readouterr().err
    assert "spectrum: a case with pattern weighs 0, protection weighs 0 gets no position" in err
    assert "for example the answers {}" in err
