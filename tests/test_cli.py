"""The command line: exit codes, messages on stderr, no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.kb_loader import DEFAULT_DIR

ROOT = Path(__file__).resolve().parent.parent
CASE = """schema_version: 1
case_id: C-0142
timeline: {stressor: ended, weeks_since_stressor_ended: 26}
criteria: {reconnects_when_safe: no}
findings: {grief_unprocessed: present}
"""


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(CASE)
    return path


def test_assess_json(case_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(case_file)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["spectrum"]["position"] == "maladaptive"
    for field in ("drivers", "formulations", "origins", "recommendations", "cautions", "reflections",
                  "measures", "interpretations", "questions", "inconsistencies", "trace", "knowledge_base"):
        assert field in report
    assert set(report["spectrum"]) >= {"position", "for", "against"}


def test_assess_markdown(case_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(case_file), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "Maladaptive" in out and "supports clinical judgment" in out


def test_invalid_case_exits_2_with_messages_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nfindings: {numbnes: present}\nmeasures: {tas20_total: 7}\n")
    proc = subprocess.run([sys.executable, "-m", "engine", "assess", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "findings.numbnes: unknown finding; did you mean numbness?" in proc.stderr
    assert "measures.tas20_total: must be a whole number from 20 to 100 (got 7)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rules_lists_every_rule_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "spectrum.adaptive" in out
    assert "source: Spectrum of Detachment: Adaptive vs. Maladaptive Forms:" in out


def test_check_passes_on_the_project_knowledge_base(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    assert "0 problem(s)" in capsys.readouterr().out


def test_check_fails_on_an_unreachable_conclusion(tmp_path: Path) -> None:
    kb = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb)
    (kb / "zz_orphan.yaml").write_text(
        "reflections:\n  - id: orphan\n    label: Orphan\n    text: Never reached.\n"
        "    source: {section: \"In Brief\",\n"
        "             quote: \"once that situation passes, it can turn into a pattern that limits connection "
        "and growth\"}\n")
    proc = subprocess.run([sys.executable, "-m", "engine", "--kb", str(kb), "check"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "reflection orphan: no rule that can fire reaches it" in proc.stderr


def test_broken_knowledge_base_stops_the_cli(tmp_path: Path, case_file: Path) -> None:
    kb = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb)
    (kb / "rules" / "spectrum.yaml").write_text("rules: [\n")
    proc = subprocess.run([sys.executable, "-m", "engine", "--kb", str(kb), "assess", str(case_file)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert "knowledge_base/rules/spectrum.yaml:2: is not valid YAML" in proc.stderr
    assert "Traceback" not in proc.stderr
