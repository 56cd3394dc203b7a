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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.formulation import FormulationCard, card_markdown, formulation_card, stability
from engine.inert import escape_controls
from engine.kb_loader import KnowledgeBase, default_knowledge_base
from engine.knowledge import Position
from engine.plain import (
    LEVELS,
    answer_words,
    change_lines,
    could_change_most,
    could_change_summary,
    fact_words,
    md_text,
    question_label,
    ref_label,
    why_not_line,
    why_not_summary,
)
from engine.report import RecommendationOut, Report, rules_by_fact

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOTICE = (
    "This report supports clinical judgment; it does not replace it. It is not a diagnosis "
    "and gives no probability."
)
__all__ = ["FORMATS", "LEVELS", "NOTICE", "Feedback", "environment", "render_bytes", "render_html",
           "render_markdown", "render_pdf"]

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
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = lambda text: md_text(" ".join(str(text).split()))
    return env


_KEEP = "\n\t"  # the line breaks and tabs of multi-line text are part of it
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#<>&])")
_MD_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return escape_controls(text, keep=_KEEP).strip("\n")


def quote_markdown(text: str) -> str:
    """Free text as an inert Markdown block quote: Markdown syntax (and `& < >`) backslash-escaped.

    Markdown is escaped, not HTML: `<b>` is written `\\<b\\>` and shows as `<b>`, never `&lt;b&gt;`.
    """
    escaped = []
    for line in _clean(text).split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line.strip())
        escaped.append(_MD_LINE_START.sub(
            lambda m: f"{m[1]}\\" if m[1][0].isdigit() else f"\\{m[1]}", line))
    # A trailing backslash is a hard line break: the notes keep the lines they were typed in.
    return "\n".join(
        (f"> {line}\\" if i + 1 < len(escaped) and escaped[i + 1] else f"> {line}") if line else ">"
        for i, line in enumerate(escaped))


T = TypeVar("T")

# Characters on one line of a column of the PDF (A4, the report's font sizes): to balance the
# columns by the lines their entries take.
ANSWER_COLUMN_CHARS = 45
RECOMMENDATION_COLUMN_CHARS = 58


def _lines(text: str, width: int) -> int:
    return -(-len(text) // width) or 1


def balanced_columns(items: Sequence[T], count: int, weight: Callable[[T], float]) -> list[list[T]]:
    """`items` cut into at most `count` runs in order (read down, then across), each about as heavy.

    Laid out as fixed table cells, these look like CSS columns but cost WeasyPrint one layout
    pass instead of the repeated passes by which it balances `column-count`.
    """
    total = sum(weight(i) for i in items)
    columns: list[list[T]] = [[]]
    done = 0.0
    for item in items:
        w = weight(item)
        cut = total * len(columns) / count
        # A new column once this item would end nearer the next cut than the current column does.
        if columns[-1] and len(columns) < count and done + w / 2 > cut:
            columns.append([])
        columns[-1].append(item)
        done += w
    return columns


def _grouped(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """(key, value) pairs as each key with its values, keys in order of first appearance.

    Open questions that could change the same things are listed once under that line: many share
    it, and one line per question repeated it dozens of times in the appendix.
    """
    groups: dict[str, list[str]] = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return list(groups.items())


def _by_approach(report: Report, kb: KnowledgeBase) -> list[tuple[str, list[RecommendationOut]]]:
    """Recommendations grouped by approach, approaches in knowledge-base order."""
    order = {a: i for i, a in enumerate(kb.approaches)}
    groups: dict[str, list[RecommendationOut]] = {}
    for rec in sorted(report.recommendations, key=lambda r: (order.get(r.approach, len(order)),
                                                             r.approach, r.id)):
        groups.setdefault(rec.approach_label, []).append(rec)
    return list(groups.items())


@dataclass(frozen=True)
class Feedback:
    """The clinician's agreement with the assessment or override of it, where recorded.

    The store fills these (one per recorded act, append-only); the report shows them as given.
    """

    date: str
    verdict: str               # "accepted" (agreed) or "overridden"
    conclusion: str | None = None  # the conclusion judged, in words
    by: str | None = None
    reason: str | None = None  # the override reason in words
    note: str | None = None


VERDICTS: Mapping[str, str] = {"accepted": "Agreed", "overridden": "Overridden"}
OPEN_SHOWN = 5     # open questions in the main body; the full list is in the appendix
CHANGES_SHOWN = 2  # what-would-change lines per kind in the main body
OPEN_ENDINGS = ("not answered yet", "could still establish", "still open")
_CONCLUSIONS = (("driver", "drivers", "Drivers"), ("formulation", "formulations", "Formulation"),
                ("origin", "origins", "Likely origins"))


def spectrum_svg(kb: KnowledgeBase, report: Report) -> str:
    """The spectrum picture as inline SVG (escaped text; no external reference), or ''.

    The position is marked by a heavy outline, a bold label and an arrow with words, never by
    colour alone; the text alternative is in <title> and aria-label.
    """
    on = sorted((p for p in kb.catalogue["spectrum"].values()
                 if isinstance(p, Position) and p.rank is not None), key=lambda p: (p.rank or 0, p.id))
    if not on:
        return ""
    counts = {p.id: 0 for p in on}
    for e in [*report.spectrum.evidence_for, *report.spectrum.against]:
        if e.direction in counts:
            counts[e.direction] += 1
    width, gap, top = 170, 8, 16
    fills = ("#d9eee4", "#f7ebcf", "#f3d9d6", "#e4e0f0", "#dde7f3")
    placed = report.spectrum.position in counts
    alt = spectrum_words(kb, report)
    total = len(on) * width + (len(on) - 1) * gap
    parts = [f'<svg role="img" aria-label="{html.escape(alt)}" '
             f'width="{total}" height="96" viewBox="0 0 {total} 96" class="spectrum">',
             f"<title>{html.escape(alt)}</title>"]
    for i, p in enumerate(on):
        x = i * (width + gap)
        here = p.id == report.spectrum.position
        n = counts[p.id]
        if n:
            parts.append(f'<text x="{x + width / 2}" y="11" text-anchor="middle" font-size="9" '
                         f'fill="#333">{n} finding{"s" if n != 1 else ""} toward</text>')
        stroke = 'stroke="#111" stroke-width="3.5"' if here else (
            'stroke="#555" stroke-width="1"' + ("" if placed else ' stroke-dasharray="4 3"'))
        parts.append(f'<rect x="{x + 2}" y="{top}" width="{width - 4}" height="40" rx="8" '
                     f'fill="{fills[i % len(fills)]}" {stroke}/>')
        weight = ' font-weight="bold"' if here else ""
        parts.append(f'<text x="{x + width / 2}" y="{top + 24}" text-anchor="middle" font-size="10"'
                     f'{weight} fill="#111">{html.escape(p.label)}</text>')
        if here:
            parts.append(f'<text x="{x + width / 2}" y="{top + 62}" text-anchor="middle" '
                         f'font-size="10" font-weight="bold" fill="#111">▲ This case</text>')
    if not placed:
        label = html.escape(report.spectrum.label)
        parts.append(f'<text x="{total / 2}" y="{top + 62}" text-anchor="middle" font-size="10" '
                     f'font-weight="bold" fill="#111">Not placed: {label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def spectrum_words(kb: KnowledgeBase, report: Report) -> str:
    """The spectrum picture in words (the Markdown report's picture, the SVG's text alternative)."""
    on = sorted((p for p in kb.catalogue["spectrum"].values()
                 if isinstance(p, Position) and p.rank is not None), key=lambda p: (p.rank or 0, p.id))
    counts: dict[str, int] = {}
    for e in [*report.spectrum.evidence_for, *report.spectrum.against]:
        counts[e.direction] = counts.get(e.direction, 0) + 1
    cells = []
    for p in on:
        mark = "[this case] " if p.id == report.spectrum.position else ""
        n = counts.get(p.id, 0)
        cells.append(f"{mark}{p.label}" + (f" ({n} finding{'s' if n != 1 else ''} toward)" if n else ""))
    line = " | ".join(cells)
    if report.spectrum.position not in {p.id for p in on}:
        line += f". Not placed: {report.spectrum.label}"
    return f"Spectrum: {line}."


def _context(report: Report, kb: KnowledgeBase | None, notes: str | None,
             generated: date | None, assessor: str | None = None,
             feedback: Sequence[Feedback] = (), pdf: bool = False) -> dict[str, Any]:
    kb = kb or default_knowledge_base()
    because = rules_by_fact(report.trace)
    subject_q = kb.questions.get("subject")
    subject = subject_q.option_labels.get(report.subject, report.subject) if subject_q else report.subject
    clean_notes = _clean(notes) if notes and notes.strip() else None
    titles = {r.id: r.title for r in kb.rules}
    ex = report.explanations or {}
    steps = {s.id: s.label for s in kb.steps}

    def label_of(ref: str) -> str:
        """A 'kind.id' reference by its catalogue label; a bare kind by its name."""
        return ref_label(kb, ref) if "." in ref else _KIND_NAMES.get(ref, ref_label(kb, ref))

    def why(ref: str) -> str:
        return "; ".join(dict.fromkeys(titles[r] for r in because.get(ref, []) if r in titles))

    answers = [(steps.get(kb.questions[q].step, ""), question_label(kb, q, report.subject),
                answer_words(kb, q, v))
               for q, v in report.answers.items()
               if q in kb.questions and kb.questions[q].section != "subject"]
    explained: set[str] = set()
    why_not = ex.get("why_not", {})

    def not_reached(kind: str, reached: Sequence[str]) -> list[tuple[str, str]]:
        """Each conclusion of a kind not reached, with its first reason in words."""
        out = []
        for ident in kb.catalogue.get(kind, {}):
            ref = f"{kind}.{ident}"
            if ident in reached or ref not in why_not:
                continue
            out.append((ref_label(kb, ref), why_not_line(
                why_not_summary(kb, ref, why_not[ref], report.subject, explained), limit=1)))
        return out

    def split_open(items: list[tuple[str, str]]) -> tuple[list[str], list[tuple[str, str]]]:
        """The conclusions only waiting for answers (named together), and the others with a reason."""
        waiting = [label for label, line in items if line.endswith(OPEN_ENDINGS)]
        return waiting, [(label, line) for label, line in items if not line.endswith(OPEN_ENDINGS)]

    conclusions = []
    for kind, attr, title in _CONCLUSIONS:
        ids = list(getattr(report, attr))
        conclusions.append({
            "title": title,
            # A conclusion outside the catalogue is a bug: fail loudly (KeyError), never guess.
            "reached": [(kb.catalogue[kind][i].label, kb.catalogue[kind][i].text, why(f"{kind}.{i}"))
                        for i in ids],
            "waiting": split_open(not_reached(kind, ids))[0],
            "not_reached": split_open(not_reached(kind, ids))[1],
            "changes": change_lines(kb, ex.get("what_would_change", {}).get(attr, []), attr,
                                    report.subject)[:2],
        })
    spectrum_changes = change_lines(kb, ex.get("what_would_change", {}).get("spectrum", []), "spectrum",
                                    report.subject)
    needed = [q for q in report.questions if q.needed]
    card: FormulationCard = formulation_card(kb, report)
    stable, _ = stability(report)
    by_approach = _by_approach(report, kb)
    trace = [{"rule": s.rule, "title": s.title, "used": [fact_words(kb, u, report.subject) for u in s.used],
              "used_ids": s.used, "asserted": [label_of(a) for a in s.asserted], "asserted_ids": s.asserted,
              "source": s.source} for s in report.trace]
    return {
        "r": report,
        "kb": kb,
        "notice": NOTICE,
        "levels": LEVELS,
        "subject": subject,
        "because": because,
        "by_approach": by_approach,
        "label_of": label_of,
        "why": why,
        "notes": clean_notes,
        "notes_markdown": quote_markdown(clean_notes) if clean_notes else None,
        "generated": (generated or date.today()).isoformat(),
        "assessed": report.as_of or (generated or date.today()).isoformat(),
        "assessor": escape_controls(assessor.strip(), keep="") if assessor and assessor.strip() else None,
        "feedback": [(f, VERDICTS.get(f.verdict, f.verdict)) for f in feedback],
        "card": card,
        "card_markdown": card_markdown(card),
        "stable": stable,
        "answers": answers,
        "answer_columns": balanced_columns(
            answers, 3, lambda a: _lines(f"{a[1]} {a[2]}", ANSWER_COLUMN_CHARS)),
        "rec_columns": balanced_columns(
            by_approach, 2, lambda group: 1 + sum(
                _lines(f"{r.title}: {r.pacing}", RECOMMENDATION_COLUMN_CHARS) for r in group[1])),
        "spectrum_svg": spectrum_svg(kb, report),
        "spectrum_words": spectrum_words(kb, report),
        "spectrum_why": why(f"spectrum.{report.spectrum.position}"),
        "spectrum_not": not_reached("spectrum", [report.spectrum.position]),
        "spectrum_changes": spectrum_changes[:CHANGES_SHOWN],
        "more_changes": max(0, len(spectrum_changes) - CHANGES_SHOWN),
        "conclusions": conclusions,
        "open": [(q.prompt, could_change_most(kb, q.could_change)) for q in needed[:OPEN_SHOWN]],
        "open_all": _grouped([(could_change_summary(kb, q.could_change), q.prompt) for q in needed]),
        "open_more": max(0, len(needed) - OPEN_SHOWN),
        "not_needed": len(report.questions) - len(needed),
        "trace": trace,
        "pdf": pdf,
    }


def render_markdown(report: Report, kb: KnowledgeBase | None = None, *, notes: str | None = None,
                    generated: date | None = None, assessor: str | None = None,
                    feedback: Sequence[Feedback] = ()) -> str:
    """The report as Markdown for the record; `generated` defaults to today."""
    template = environment().get_template("report.md.j2")
    context = _context(report, kb, notes, generated, assessor, feedback)
    return escape_controls(template.render(context), keep=_KEEP)


def render_html(report: Report, kb: KnowledgeBase | None = None, *, notes: str | None = None,
                generated: date | None = None, assessor: str | None = None,
                feedback: Sequence[Feedback] = (), _pdf: bool = False) -> str:
    """The report as one self-contained HTML page (CSS inlined, nothing external)."""
    template = environment().get_template("report.html.j2")
    context = _context(report, kb, notes, generated, assessor, feedback, pdf=_pdf)
    return escape_controls(template.render(context), keep=_KEEP)


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that loads `data:` URLs only and refuses everything else."""
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                raise ExternalFetchError(f"refused to fetch {url!r}: reports load no external resources")
            return super().fetch(url, headers)

    return DataOnlyFetcher(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=True)


@cache
def _pdf_resources() -> tuple[Any, Any]:
    """The report's stylesheet, parsed once per process, with the font configuration it uses.

    Parsing the CSS and loading the fonts are the slow part of a small PDF; both depend only on
    the template files, never on a case.
    """
    from weasyprint import CSS  # type: ignore[import-untyped]
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    fonts = FontConfiguration()
    css = CSS(string=(TEMPLATES / "report.css").read_text(encoding="utf-8"), font_config=fonts,
              url_fetcher=data_only_fetcher())
    return css, fonts


def html_to_pdf(page: str, *, report_style: bool = False) -> bytes:
    """Render HTML to PDF with WeasyPrint, loading nothing but `data:` URLs.

    With `report_style`, the report's own stylesheet (parsed once per process) is applied: the
    page then carries no <style> of its own.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    try:
        document = HTML(string=page, url_fetcher=data_only_fetcher())
        if report_style:
            css, fonts = _pdf_resources()
            pdf: bytes = document.write_pdf(stylesheets=[css], font_config=fonts)
        else:
            pdf = document.write_pdf()
    except FatalURLFetchingError as exc:
        raise ExternalFetchError(str(exc.__cause__ or exc)) from None
    return pdf


def render_pdf(report: Report, kb: KnowledgeBase | None = None, *, notes: str | None = None,
               generated: date | None = None, assessor: str | None = None,
               feedback: Sequence[Feedback] = ()) -> bytes:
    """The report as PDF, from the HTML (fonts embedded, page numbers, no external fetch)."""
    page = render_html(report, kb, notes=notes, generated=generated, assessor=assessor,
                       feedback=feedback, _pdf=True)
    return html_to_pdf(page, report_style=True)


def render_bytes(report: Report, fmt: Format, kb: KnowledgeBase | None = None, *,
                 notes: str | None = None, generated: date | None = None,
                 assessor: str | None = None, feedback: Sequence[Feedback] = ()) -> bytes:
    """The report in one format as bytes (UTF-8 for text), e.g. for a download button."""
    if fmt == "pdf":
        return render_pdf(report, kb, notes=notes, generated=generated, assessor=assessor,
                          feedback=feedback)
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    render = render_html if fmt == "html" else render_markdown
    return render(report, kb, notes=notes, generated=generated, assessor=assessor,
                  feedback=feedback).encode("utf-8")
