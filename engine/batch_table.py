"""The intake table rendered: CSV, JSON, Markdown or HTML, every cell escaped for its format.

Cells can hold text from the case files (a case id, a file name, the problems with unknown
keys): control characters are shown as escapes in every format (`engine.inert`), Markdown
cells are escaped like the report's notes, HTML is autoescaped by jinja2, and a CSV cell that a
spreadsheet would run as a formula (starting with = + - @) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from engine.batch import CAUTION_LEVELS, Row
from engine.inert import escape_controls
from engine.json_io import dumps as json_dumps
from engine.kb_loader import KnowledgeBase
from engine.render import LEVELS, NOTICE, environment

Format = Literal["csv", "json", "markdown", "html"]
FORMATS: tuple[str, ...] = ("csv", "json", "markdown", "html")
COLUMNS = ("Case", "File", "Position", "Status", "Drivers", "Top caution", "Next question", "Problems")
ORDER = ("invalid cases first, then by the most severe caution, then by spectrum rank (highest "
         "first; unranked: the highest the open questions could reach), open before stable")
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#])")


STATUS_QUESTIONS = 5  # a cell names the first few open questions, then how many more


def status(row: Row) -> str:
    """'invalid', 'stable', or 'open: ' and the (first few) questions that could still change
    the position, most useful first."""
    if row.invalid:
        return "invalid"
    if row.stable:
        return "stable"
    if not row.unassessed:
        return "open"
    shown = ", ".join(row.unassessed[:STATUS_QUESTIONS])
    more = len(row.unassessed) - STATUS_QUESTIONS
    return f"still unassessed: {shown}" + (f" and {more} more" if more > 0 else "")


def cells(row: Row) -> list[str]:
    """The row's cells, in COLUMNS order, as plain text."""
    caution = f"{LEVELS.get(row.caution_level or '', row.caution_level)}: {row.caution_title}" \
        if row.caution_title else ""
    return [row.case, row.source, row.position_label or "", status(row), ", ".join(row.driver_labels),
            caution, row.next_prompt or "", "; ".join(row.problems)]


def _json_row(row: Row) -> dict[str, Any]:
    return {
        "case": row.case, "file": row.source, "position": row.position,
        "position_label": row.position_label, "stable": row.stable, "unassessed": list(row.unassessed),
        "drivers": list(row.drivers),
        "caution": {"id": row.caution_id, "level": row.caution_level, "title": row.caution_title}
        if row.caution_id else None,
        "next_question": {"id": row.next_question, "prompt": row.next_prompt} if row.next_question else None,
        "problems": list(row.problems),
    }


def _csv_cell(text: str) -> str:
    text = escape_controls(text)
    return "'" + text if _FORMULA.match(text) else text


def markdown_cell(text: str) -> str:
    """A table cell: one inert line (line breaks shown as escapes too), `& < >` as entities,
    Markdown syntax (the cell separator `|` included) backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(escape_controls(text), quote=False))


def render_table(rows: Sequence[Row], fmt: Format, kb: KnowledgeBase) -> str:
    """The table in one format, as text."""
    info: Mapping[str, str] = {"version": kb.meta.version, "sha256": kb.sha256}
    if fmt == "json":
        return json_dumps({"knowledge_base": info, "order": ORDER, "caution_levels": list(CAUTION_LEVELS),
                           "rows": [_json_row(r) for r in rows]}) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([_csv_cell(c) for c in cells(r)] for r in rows)
        return out.getvalue()
    if fmt not in ("markdown", "html"):
        raise ValueError(f"unknown table format {fmt!r}; allowed: {', '.join(FORMATS)}")
    template = environment().get_template("batch.md.j2" if fmt == "markdown" else "batch.html.j2")
    page = template.render(columns=COLUMNS, rows=[cells(r) for r in rows], invalid=[r.invalid for r in rows],
                           kb=info, order=ORDER, notice=NOTICE, cell=markdown_cell)
    return escape_controls(page, keep="\n\t")
