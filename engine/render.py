"""Reports rendered through jinja2 templates in `templates/`: Markdown, HTML, and PDF from the HTML.

The case notes are free text typed by a clinician: they are never read by the rules and are
always escaped (HTML by autoescaping, Markdown by `quote_markdown`), and every control
character in a rendered report (C0, C1, bidirectional overrides) is written as a visible
escape (`engine.inert`), whichever text it came from. The date a report was
generated is shown outside the reasoning, so the reasoning stays byte-identical.
PDF rendering fetches nothing: the only URLs WeasyPrint may load are `data:` URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.inert import escape_controls
from engine.kb_loader import KnowledgeBase, default_knowledge_base
from engine.report import RecommendationOut, Report, rules_by_fact

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOTICE = (
    "This report supports clinical judgment; it does not replace it. It is not a diagnosis "
    "and gives no probability."
)
# Caution levels in words, so that the level never depends on colour alone.
LEVELS: Mapping[str, str] = {"critical": "Critical", "warning": "Warning", "info": "For information"}

_KIND_NAMES: Mapping[str, str] = {"spectrum": "spectrum position", "driver": "drivers",
                                  "formulation": "formulation", "origin": "likely origins"}

Format = Literal["markdown", "html", "pdf"]
# Format -> (file extension, MIME type), for downloads and output files.
FORMATS: Mapping[str, tuple[str, str]] = {
    "markdown": ("md", "text/markdown; charset=utf-8"),
    "html": ("html", "text/html; charset=utf-8"),
    "pdf": ("pdf", "application/pdf"),
}


class ExternalFetchError(RuntimeError):
    """Rendering tried to load something other than a `data:` URL (a template bug)."""


@cache
def environment() -> Environment:
    """The jinja2 environment: strict about missing fields, autoescaping HTML."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_KEEP = "\n\t"  # the line breaks and tabs of multi-line text are part of it
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#])")
_MD_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return escape_controls(text, keep=_KEEP).strip("\n")


def quote_markdown(text: str) -> str:
    """Free text as an inert Markdown block quote: `& < >` as entities, Markdown syntax escaped."""
    escaped = []
    for line in _clean(text).split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", html.escape(line.strip(), quote=False))
        escaped.append(_MD_LINE_START.sub(
            lambda m: f"{m[1]}\\" if m[1][0].isdigit() else f"\\{m[1]}", line))
    # A trailing backslash is a hard line break: the notes keep the lines they were typed in.
    return "\n".join(
        (f"> {line}\\" if i + 1 < len(escaped) and escaped[i + 1] else f"> {line}") if line else ">"
        for i, line in enumerate(escaped))


def _by_approach(report: Report, kb: KnowledgeBase) -> list[tuple[str, list[RecommendationOut]]]:
    """Recommendations grouped by approach, approaches in knowledge-base order."""
    order = {a: i for i, a in enumerate(kb.approaches)}
    groups: dict[str, list[RecommendationOut]] = {}
    for rec in sorted(report.recommendations, key=lambda r: (order.get(r.approach, len(order)),
                                                             r.approach, r.id)):
        groups.setdefault(rec.approach_label, []).append(rec)
    return list(groups.items())


def _context(report: Report, kb: KnowledgeBase | None, notes: str | None,
             generated: date | None) -> dict[str, Any]:
    kb = kb or default_knowledge_base()
    because = rules_by_fact(report.trace)
    subject_q = kb.questions.get("subject")
    subject = subject_q.option_labels.get(report.subject, report.subject) if subject_q else report.subject
    clean_notes = _clean(notes) if notes and notes.strip() else None

    def label_of(ref: str) -> str:
        """A 'kind.id' reference by its catalogue label; a bare kind by its name."""
        kind, _, ident = ref.partition(".")
        entry = kb.catalogue.get(kind, {}).get(ident)
        return entry.label if entry is not None else _KIND_NAMES.get(ref, ref)

    return {
        "r": report,
        "kb": kb,
        "notice": NOTICE,
        "levels": LEVELS,
        "subject": subject,
        "because": because,
        "by_approach": _by_approach(report, kb),
        "label_of": label_of,
        "notes": clean_notes,
        "notes_markdown": quote_markdown(clean_notes) if clean_notes else None,
        "generated": (generated or date.today()).isoformat(),
    }


def render_markdown(report: Report, kb: KnowledgeBase | None = None, *, notes: str | None = None,
                    generated: date | None = None) -> str:
    """The report as Markdown for the record; `generated` defaults to today."""
    template = environment().get_template("report.md.j2")
    return escape_controls(template.render(_context(report, kb, notes, generated)), keep=_KEEP)


def render_html(report: Report, kb: KnowledgeBase | None = None, *, notes: str | None = None,
                generated: date | None = None) -> str:
    """The report as one self-contained HTML page (CSS inlined, nothing external)."""
    template = environment().get_template("report.html.j2")
    return escape_controls(template.render(_context(report, kb, notes, generated)), keep=_KEEP)


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that loads `data:` URLs only and refuses everything else."""
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                raise ExternalFetchError(f"refused to fetch {url!r}: reports load no external resources")
            return super().fetch(url, headers)

    return DataOnlyFetcher(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=True)


def html_to_pdf(page: str) -> bytes:
    """Render HTML to PDF with WeasyPrint, loading nothing but `data:` URLs."""
    from weasyprint import HTML  # type: ignore[import-untyped]
    from weasyprint.urls import FatalURLFetchingError

    try:
        pdf: bytes = HTML(string=page, url_fetcher=data_only_fetcher()).write_pdf()
    except FatalURLFetchingError as exc:
        raise ExternalFetchError(str(exc.__cause__ or exc)) from None
    return pdf


def render_pdf(report: Report, kb: KnowledgeBase | None = None, *, notes: str | None = None,
               generated: date | None = None) -> bytes:
    """The report as PDF, from the HTML (fonts embedded, page numbers, no external fetch)."""
    return html_to_pdf(render_html(report, kb, notes=notes, generated=generated))


def render_bytes(report: Report, fmt: Format, kb: KnowledgeBase | None = None, *,
                 notes: str | None = None, generated: date | None = None) -> bytes:
    """The report in one format as bytes (UTF-8 for text), e.g. for a download button."""
    if fmt == "pdf":
        return render_pdf(report, kb, notes=notes, generated=generated)
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    render = render_html if fmt == "html" else render_markdown
    return render(report, kb, notes=notes, generated=generated).encode("utf-8")
