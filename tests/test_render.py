"""Reports rendered as Markdown, HTML and PDF: every vignette, escaping of notes, the golden file.

Regenerate the golden file after a knowledge-base change (its sha256 is in the report):
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import html5lib
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import UndefinedError
from pypdf import PdfReader

from engine import Case, KnowledgeBase, Report, assess, parse_case
from engine.knowledge import Approach, Entry, Source
from engine.plain import md_text
from engine.render import (
    LEVELS,
    NOTICE,
    TEMPLATES,
    _context,
    _grouped,
    balanced_columns,
    environment,
    quote_markdown,
    render_bytes,
    render_html,
    render_markdown,
    render_pdf,
)
from engine.report import QuestionOut
from engine.vignettes import Vignette, default_vignettes

VIGNETTES = default_vignettes()
IDS = [v.id for v in VIGNETTES]
GOLDEN_VIGNETTE = "er_doctor"
GOLDEN = Path(__file__).parent / "golden" / f"{GOLDEN_VIGNETTE}.md"
FIXED = date(2025, 1, 31)
PAYLOAD = "<script>alert(1)</script>"
NOTES = f"Seen twice. {PAYLOAD} & *not bold*\n# not a heading\n[link](http://example.invalid)"


def _case(vignette: Vignette, kb: KnowledgeBase, notes: str | None = NOTES) -> Case:
    data = dict(vignette.case)
    if notes is not None:
        data["notes"] = notes
    return parse_case(data, kb)


def _text(pdf: bytes) -> str:
    """The PDF's text, whitespace collapsed (lines wrap wherever the layout puts them)."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def _parse_html(page: str) -> Any:
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)


@pytest.fixture(scope="module")
def reports(kb: KnowledgeBase) -> dict[str, tuple[Report, Case]]:
    """Each vignette's report as the CLI builds it, with the case (notes carry a script payload)."""
    out = {}
    for v in VIGNETTES:
        case = _case(v, kb)
        out[v.id] = (assess(case, explain=True), case)
    return out


@pytest.fixture(scope="module")
def pdfs(reports: dict[str, tuple[Report, Case]], kb: KnowledgeBase) -> dict[str, bytes]:
    """Each vignette's PDF, rendered once for the module (WeasyPrint is slowish)."""
    return {vid: render_pdf(r, kb, notes=c.notes, generated=FIXED) for vid, (r, c) in reports.items()}


def full_report(kb: KnowledgeBase) -> tuple[Report, KnowledgeBase]:
    """A report with every section filled, and a knowledge base that knows its extra ids.

    The knowledge base grows over time; this keeps every template section exercised meanwhile.
    """
    src = Source(section=kb.meta.sections[0], quote="q")
    catalogue = {kind: dict(entries) for kind, entries in kb.catalogue.items()}
    for kind in ("driver", "formulation", "origin"):
        catalogue[kind][f"t_{kind}"] = Entry(id=f"t_{kind}", label=f"Test {kind} label",
                                             text=f"Test {kind} text.", source=src)
    approaches = {**kb.approaches,
                  "t_one": Approach(id="t_one", label="Test approach one", source=src),
                  "t_two": Approach(id="t_two", label="Test approach two", source=src)}
    kb2 = dataclasses.replace(kb, catalogue=catalogue, approaches=approaches)
    v = next(v for v in VIGNETTES if v.id == GOLDEN_VIGNETTE)
    data = assess(parse_case(v.case, kb)).to_json_dict()

    def rec(i: str, approach: str) -> dict[str, Any]:
        return dict(id=f"t_rec_{i}", title=f"Test recommendation {i}", approach=approach,
                    approach_label=approaches[approach].label, text=f"Do {i}.",
                    pacing=f"Pacing {i}.", why=f"Why {i}.", because=[f"rule.rec_{i}"])

    data.update(
        drivers=["t_driver"], formulations=["t_formulation"], origins=["t_origin"],
        recommendations=[rec("a", "t_two"), rec("b", "t_one"), rec("c", "t_one")],
        cautions=[dict(id=f"t_caution_{lvl}", level=lvl, title=f"Test caution {lvl}",
                       text=f"Caution text {lvl}.", because=["rule.caution"]) for lvl in LEVELS],
        reflections=[dict(id="t_reflection", title="Test reflection", text="Reflect.",
                          because=["rule.reflection"])],
        measures=[dict(id="t_measure", name="Test measure", reason="Test reason",
                       because=["rule.measure"])],
        interpretations=[dict(id="t_interp", measure="t_measure", title="Test reading",
                              text="Reading text.", scores={"tas20_total": 64},
                              because=["rule.interp"])],
        questions=[QuestionOut(id="t_question", prompt="Test open question?", needed=True,
                               could_change=["spectrum", "origin.t_origin", "unknown.thing"]),
                   QuestionOut(id="t_question2", prompt="Not needed?", needed=False, could_change=[])],
        inconsistencies=[dict(id="t_inconsistency", title="Test inconsistency", text="Check it.",
                              because=["rule.inconsistency"])],
    )
    return Report.model_validate(data), kb2


FULL_SECTION_TEXTS = [
    "Test driver label", "Test formulation label", "Test origin label",
    "Test approach one", "Test approach two", "Test recommendation a", "Pacing b.", "Why c.",
    *(f"{word}: Test caution {lvl}" for lvl, word in LEVELS.items()),
    "Test measure", "Test reason", "Test reading", "Reading text.", "64",
    "Test reflection", "Test open question?", "Test inconsistency",
    "Test open question? (could change the spectrum position, and 2 other items)",
    "1 other unanswered question would not change any conclusion",
]


# ---- every vignette in every format ------------------------------------------------------

@pytest.mark.parametrize("vid", IDS)
def test_markdown_renders_every_vignette(vid: str, reports: dict[str, tuple[Report, Case]],
                                         kb: KnowledgeBase) -> None:
    report, case = reports[vid]
    md = render_markdown(report, kb, notes=case.notes, generated=FIXED)
    assert f"## Spectrum position: {report.spectrum.label}" in md
    assert NOTICE in md
    assert report.knowledge_base.sha256 in md
    assert PAYLOAD not in md and not re.search(r"(?<!\\)<", md)  # every < is escaped
    assert "\\<script\\>alert(1)\\</script\\>" in md  # Markdown-escaped, not HTML-encoded
    assert "&lt;" not in md
    appendix = md.index("## Appendix")
    for step in report.trace:
        assert f"`{step.rule}`: {md_text(step.title)}" in md[appendix:]
    listed = md[appendix:md.index("### Reasoning")]
    for q in report.questions:
        assert (f". {md_text(q.prompt)}\n" in listed) == q.needed, q.id
    for rec in report.recommendations:
        assert f"- **{md_text(rec.title)}**: {md_text(rec.pacing)}" in md[:appendix]
        assert f"{md_text(rec.text)} Why: {md_text(rec.why)}" in md[appendix:]


@pytest.mark.parametrize("vid", IDS)
def test_html_renders_every_vignette_and_parses_cleanly(
        vid: str, reports: dict[str, tuple[Report, Case]], kb: KnowledgeBase) -> None:
    report, case = reports[vid]
    page = render_html(report, kb, notes=case.notes, generated=FIXED)
    doc = _parse_html(page)  # strict: raises on any parse error
    assert doc.find("body") is not None
    assert "<script" not in page.lower()
    notes = doc.find(".//blockquote[@class='notes']")
    assert notes is not None and notes.text == case.notes  # the payload is text, not an element
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"Spectrum position: {report.spectrum.label}" in page
    assert NOTICE in page
    assert "http://" not in page.replace("http://example.invalid", "")  # nothing external


@pytest.mark.parametrize("vid", IDS)
def test_pdf_renders_every_vignette(vid: str, reports: dict[str, tuple[Report, Case]],
                                    pdfs: dict[str, bytes]) -> None:
    report, _ = reports[vid]
    pdf = pdfs[vid]
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert f"Spectrum position: {report.spectrum.label}" in text
    for rec in report.recommendations:
        assert rec.title in text
    assert PAYLOAD in text  # shown as plain text, never interpreted
    assert "Page 1 / " in text and FIXED.isoformat() in text
    # The answers and recommendations sit in columns that may cross a page: none may be lost.
    context = _context(report, None, None, FIXED, pdf=True)
    for _, prompt, value in context["answers"]:
        assert " ".join(f"{prompt} {value}".split()) in text
    for _, prompts in context["open_all"]:
        for prompt in prompts:
            assert " ".join(prompt.split()) in text


def test_pdf_is_byte_identical_for_the_same_input(reports: dict[str, tuple[Report, Case]],
                                                 pdfs: dict[str, bytes], kb: KnowledgeBase) -> None:
    report, case = reports[GOLDEN_VIGNETTE]
    assert render_pdf(report, kb, notes=case.notes, generated=FIXED) == pdfs[GOLDEN_VIGNETTE]


def test_pdf_embeds_its_fonts(pdfs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(pdfs[GOLDEN_VIGNETTE]))
    seen = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), \
                font["/BaseFont"]
            seen += 1
    assert seen


def test_render_bytes_gives_every_format(reports: dict[str, tuple[Report, Case]],
                                         kb: KnowledgeBase) -> None:
    report, case = reports[GOLDEN_VIGNETTE]
    md = render_bytes(report, "markdown", kb, notes=case.notes, generated=FIXED)
    assert md.decode("utf-8") == render_markdown(report, kb, notes=case.notes, generated=FIXED)
    assert render_bytes(report, "html", kb, generated=FIXED).startswith(b"<!DOCTYPE html>")
    with pytest.raises(ValueError, match="unknown report format"):
        render_bytes(report, "docx", kb)  # type: ignore[arg-type]  # deliberately wrong


# ---- a report with every section filled --------------------------------------------------

def test_every_section_renders_in_markdown_and_html(kb: KnowledgeBase) -> None:
    report, kb2 = full_report(kb)
    md = render_markdown(report, kb2, generated=FIXED)
    page_text = " ".join("".join(_parse_html(render_html(report, kb2, generated=FIXED)).itertext()).split())
    plain_md = md.replace("\\", "")
    for text in FULL_SECTION_TEXTS:
        assert text in plain_md, text
        assert text in page_text, text
    # grouped by approach, in knowledge-base order, each with pacing (and in full in the appendix)
    assert md.index("**Test approach one**") < md.index("- **Test recommendation b**") \
        < md.index("- **Test recommendation c**") < md.index("**Test approach two**") \
        < md.index("- **Test recommendation a**")
    assert "- **Test recommendation a**: Pacing a." in md
    assert "Do a. Why: Why a." in md[md.index("## Appendix"):]
    assert "none established" not in md
    assert "Not needed?" not in md and "Not needed?" not in page_text  # counted, not listed


def test_every_section_renders_in_pdf(kb: KnowledgeBase) -> None:
    report, kb2 = full_report(kb)
    text = _text(render_pdf(report, kb2, generated=FIXED))
    for expected in FULL_SECTION_TEXTS:
        assert expected.replace("For information", "FOR INFORMATION").replace(
            "Critical", "CRITICAL").replace("Warning", "WARNING") in text, expected
    for rec in report.recommendations:
        assert rec.title in text
    assert f"Spectrum position: {report.spectrum.label}" in text


# ---- strictness and escaping --------------------------------------------------------------

def test_missing_field_fails_loudly(reports: dict[str, tuple[Report, Case]], kb: KnowledgeBase) -> None:
    report, _ = reports[GOLDEN_VIGNETTE]
    with pytest.raises(UndefinedError):
        environment().from_string("{{ r.no_such_field }}").render(r=report)
    unknown = report.model_copy(update={"drivers": ["not_in_the_catalogue"]})
    with pytest.raises((UndefinedError, KeyError)):
        render_markdown(unknown, kb, generated=FIXED)
    with pytest.raises((UndefinedError, KeyError)):
        render_html(unknown, kb, generated=FIXED)


def test_html_template_autoescapes_and_markdown_does_not() -> None:
    autoescape = environment().autoescape
    assert callable(autoescape)
    assert autoescape("report.html.j2") is True
    assert autoescape("report.md.j2") is False


def test_markdown_notes_are_an_inert_quote() -> None:
    quoted = quote_markdown("a <b>&amp;</b> *x* _y_ `z` [l](u) |t|\r\n# h\n- item\n12. n\n\n   ===\n\x07end")
    assert quoted.split("\n") == [
        "> a \\<b\\>\\&amp;\\</b\\> \\*x\\* \\_y\\_ \\`z\\` \\[l\\](u) \\|t\\|\\",
        "> \\# h\\",
        "> \\- item\\",
        "> 12\\. n",
        ">",
        "> \\===\\",
        "> \\\\x07end",  # the bell shown as an escape (issue 14), its backslash escaped
    ]


def test_no_notes_no_notes_section(reports: dict[str, tuple[Report, Case]], kb: KnowledgeBase) -> None:
    report, _ = reports[GOLDEN_VIGNETTE]
    assert "## Notes" not in render_markdown(report, kb, notes=None, generated=FIXED)
    assert 'id="notes"' not in render_html(report, kb, notes="  \n ", generated=FIXED)


def test_generated_date_stays_outside_the_reasoning(reports: dict[str, tuple[Report, Case]],
                                                    kb: KnowledgeBase) -> None:
    report, case = reports[GOLDEN_VIGNETTE]
    other = date(2031, 12, 1)
    for render in (render_markdown, render_html):
        a = render(report, kb, notes=case.notes, generated=FIXED)
        b = render(report, kb, notes=case.notes, generated=other)
        assert a != b
        assert a.replace(FIXED.isoformat(), other.isoformat()) == b
        assert FIXED.isoformat() not in a[a.index("Reasoning:"):a.rindex("Knowledge base")]
    assert f"| Generated | {date.today().isoformat()} |" in render_markdown(report, kb)


# ---- golden file ---------------------------------------------------------------------------

def test_golden_markdown(kb: KnowledgeBase) -> None:
    v = next(v for v in VIGNETTES if v.id == GOLDEN_VIGNETTE)
    md = render_markdown(assess(_case(v, kb, notes=None), explain=True), kb, generated=FIXED)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(md, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == md, (
        "the Markdown report changed; if intended, regenerate with "
        "UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py")


def test_templates_reference_nothing_external() -> None:
    for path in TEMPLATES.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"url\(|@import|https?://|<link|<img|<script|src=", text), path.name


# ---- plain language and length (issue 11) ------------------------------------------------------

APPENDIX = "Appendix: open questions, reasoning and rule ids"


def body_pages(pdf: bytes) -> int:
    """The PDF's pages before the appendix (which starts on a new page under its heading)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    starts = [i for i, p in enumerate(pages) if APPENDIX in p.extract_text()]
    assert len(starts) == 1, "the appendix heading is missing or repeated"
    return starts[0]


@pytest.mark.parametrize("vid", IDS)
def test_main_body_fits_two_a4_pages(vid: str, pdfs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(pdfs[vid]))
    width, height = (float(x) for x in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert 1 <= body_pages(pdfs[vid]) <= 2


def test_the_page_count_check_can_fail(kb: KnowledgeBase) -> None:
    report, kb2 = full_report(kb)
    many = [r.model_copy(update={"id": f"{r.id}_{i}", "title": f"{r.title} {i}"})
            for i in range(60) for r in report.recommendations]
    long = report.model_copy(update={"recommendations": many})
    assert body_pages(render_pdf(long, kb2, generated=FIXED)) > 2


def main_body(text: str) -> str:
    """The report's text before its appendix."""
    return text[:text.index(APPENDIX)]


@pytest.mark.parametrize("vid", IDS)
def test_no_engine_id_in_the_main_body_of_any_format(vid: str, reports: dict[str, tuple[Report, Case]],
                                                     pdfs: dict[str, bytes], kb: KnowledgeBase) -> None:
    from tests.plain_check import engine_tokens

    report, _ = reports[vid]
    md = render_markdown(report, kb, notes=None, generated=FIXED)
    page = render_html(report, kb, notes=None, generated=FIXED)
    html_text = " ".join("".join(_parse_html(page).find("body").itertext()).split())
    for name, text in (("markdown", md.replace("\\", "")), ("html", html_text), ("pdf", _text(pdfs[vid]))):
        assert engine_tokens(kb, main_body(text)) == [], name
    # the appendix does carry the ids, for audit
    for step in report.trace:
        assert step.rule in md[md.index("## Appendix"):]


# ---- columns and groups laid out by the template (issue 13: a cheaper PDF) -----------------------

@given(st.lists(st.integers(min_value=1, max_value=20), max_size=40), st.integers(min_value=1, max_value=4))
def test_balanced_columns_keep_order_and_balance(weights: list[int], count: int) -> None:
    items = list(enumerate(weights))
    columns = balanced_columns(items, count, lambda item: item[1])
    assert [item for column in columns for item in column] == items  # read down, then across
    assert len(columns) <= max(1, count) and all(columns[1:])
    if items:
        bound = sum(weights) / count + max(weights)
        assert all(sum(w for _, w in column) <= bound for column in columns)


def test_balanced_columns_use_every_column_for_even_items() -> None:
    assert balanced_columns(list("abcdef"), 3, lambda _: 1) == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_open_questions_grouped_by_what_they_could_change_in_first_order() -> None:
    pairs = [("x", "q1"), ("y", "q2"), ("x", "q3")]
    assert _grouped(pairs) == [("x", ["q1", "q3"]), ("y", ["q2"])]
