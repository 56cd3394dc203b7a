"""`python -m engine assess CASE --format markdown|html|pdf [-o FILE]`."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from engine.cli import EXIT_INVALID, EXIT_OK, main
from engine.vignettes import default_vignettes

PAYLOAD = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vignette's case with a script payload in the notes, as a JSON file."""
    data = {**default_vignettes()[0].case, "notes": f"Note {PAYLOAD}"}
    path = tmp_path_factory.mktemp("cli") / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_text_formats_to_stdout(fmt: str, case_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(case_file), "--format", fmt]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Spectrum position:" in out
    # HTML entity-encodes the notes; Markdown backslash-escapes them (never HTML entities)
    escaped = ("&lt;script&gt;alert(1)&lt;/script&gt;" if fmt == "html"
               else "\\<script\\>alert(1)\\</script\\>")
    assert escaped in out
    assert PAYLOAD not in out


def test_json_is_the_report_alone(case_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(case_file), "--format", "json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert "notes" not in report and report["spectrum"]["position"]


@pytest.mark.parametrize(("fmt", "head"), [("markdown", b"# Emotional"), ("html", b"<!DOCTYPE html>"),
                                           ("pdf", b"%PDF-")])
def test_output_file(fmt: str, head: bytes, case_file: Path, tmp_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    assert main(["assess", str(case_file), "--format", fmt, "-o", str(out)]) == EXIT_OK
    data = out.read_bytes()
    assert data.startswith(head)
    if fmt == "pdf":
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert "Spectrum position:" in text and PAYLOAD in text


def test_pdf_to_a_pipe(case_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["assess", str(case_file), "--format", "pdf"]) == EXIT_OK
    assert raw.getvalue().startswith(b"%PDF-")


def test_pdf_to_a_terminal_is_refused(case_file: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["assess", str(case_file), "--format", "pdf"]) == EXIT_INVALID
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "-o FILE" in captured.err


def test_unwritable_output_is_a_clear_error(case_file: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing-dir" / "report.md"
    assert main(["assess", str(case_file), "--format", "markdown", "-o", str(out)]) == EXIT_INVALID
    assert "Cannot write" in capsys.readouterr().err
