"""Issue 14 item 4: a wrong knowledge base cannot advise; `assess` stops (exit 3) naming the file
and the entry, the same as `check` would, instead of advising from it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASE = {"schema_version": 1, "timeline": {"stressor": "ended", "weeks_since_stressor_ended": 20},
        "findings": {"numbness": "present"}}


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge_base"
    shutil.copytree(ROOT / "knowledge_base", target)
    (tmp_path / "case.json").write_text(json.dumps(CASE), encoding="utf-8")
    return target


def assess(kb_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "--kb", str(kb_dir), "assess",
                           str(kb_dir.parent / "case.json")], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_issue14_a_fabricated_quote_stops_the_assessment(kb_dir: Path) -> None:
    edit(kb_dir / "rules" / "spectrum.yaml", 'quote: "It\'s time-limited and situation-specific"',
         'quote: "Detachment always resolves within six weeks."')
    proc = assess(kb_dir)
    assert proc.returncode == 3 and not proc.stdout
    assert "rule frame.during_situation: quote not verified against the source" in proc.stderr


def test_issue14_a_negative_persistence_threshold_is_refused_with_its_range(kb_dir: Path) -> None:
    edit(kb_dir / "parameters.yaml", "  - id: persistence_weeks\n    value: 12",
         "  - id: persistence_weeks\n    value: -5")
    proc = assess(kb_dir)
    assert proc.returncode == 3
    assert ("knowledge_base/parameters.yaml: parameters[0] (persistence_weeks): entry: Value error, "
            "value -5 is outside its allowed range 1..104") in proc.stderr


def test_issue14_a_tas20_cut_off_of_500_is_refused(kb_dir: Path) -> None:
    edit(kb_dir / "parameters.yaml", "  - id: tas20_alexithymic_from\n    value: 61",
         "  - id: tas20_alexithymic_from\n    value: 500")
    proc = assess(kb_dir)
    assert proc.returncode == 3 and "(tas20_alexithymic_from)" in proc.stderr
    assert "outside its allowed range 21..100" in proc.stderr


def test_issue14_inverted_cut_offs_are_refused(kb_dir: Path) -> None:
    edit(kb_dir / "parameters.yaml", "  - id: tas20_possible_from\n    value: 52",
         "  - id: tas20_possible_from\n    value: 70")
    proc = assess(kb_dir)
    assert proc.returncode == 3
    assert ("parameters (tas20_alexithymic_from): value 61 must be above tas20_possible_from (70)"
            in proc.stderr)


def test_issue14_a_deleted_conclusions_file_is_named_as_missing(kb_dir: Path) -> None:
    (kb_dir / "conclusions.yaml").unlink()
    proc = assess(kb_dir)
    assert proc.returncode == 3
    lines = [line.strip() for line in proc.stderr.splitlines()[1:]]
    assert lines[0] == "knowledge_base/conclusions.yaml: missing: a knowledge base needs this file"
    assert len(lines) < 10  # not one "unknown position" line per rule
