"""Reports rendered through jinja2 templates in `templates/`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.kb_loader import KnowledgeBase, default_knowledge_base
from engine.report import Report

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOTICE = (
    "This report supports clinical judgment; it does not replace it. It is not a diagnosis "
    "and gives no probability."
)


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


def render_markdown(report: Report, kb: KnowledgeBase | None = None) -> str:
    """The report as Markdown."""
    kb = kb or default_knowledge_base()
    template = environment().get_template("report.md.j2")
    return template.render(r=report, kb=kb, notice=NOTICE)
