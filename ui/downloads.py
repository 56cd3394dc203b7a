"""Downloads: the case file (JSON, YAML) and the report (Markdown; HTML and PDF when available).

Report formats are built only when their button is clicked (deferred data), so drawing the page
stays fast. Nothing is written on the server.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

import engine.render as render
from engine import Case, KnowledgeBase, Report, dump_case


def file_stem(case: Case | None, report: Report | None = None) -> str:
    """A file name stem from the pseudonymous case id (its pattern allows only safe characters)."""
    case_id = (case.case_id if case else None) or (report.case_id if report else None)
    return case_id or "case"


def case_downloads(case: Case, key: str) -> None:
    """Download buttons for the case file as JSON and as YAML."""
    stem = file_stem(case)
    left, right = st.columns(2)
    with left:
        st.download_button("Download the case (JSON)", data=dump_case(case, "json"),
                           file_name=f"{stem}.json", mime="application/json", key=f"{key}_json",
                           icon=":material/download:", width="stretch")
    with right:
        st.download_button("Download the case (YAML)", data=dump_case(case, "yaml"),
                           file_name=f"{stem}.yaml", mime="application/x-yaml", key=f"{key}_yaml",
                           icon=":material/download:", width="stretch")


def report_formats(kb: KnowledgeBase, report: Report,
                   notes: str | None) -> list[tuple[str, str, str, Callable[[], str | bytes]]]:
    """The report formats this engine can render: (label, extension, mime, builder)."""
    formats: list[tuple[str, str, str, Callable[[], str | bytes]]] = [
        ("Markdown", "md", "text/markdown", lambda: render.render_markdown(report, kb)),
    ]
    html = getattr(render, "render_html", None)
    if callable(html):
        formats.append(("HTML", "html", "text/html", lambda: html(report, notes=notes)))
    pdf = getattr(render, "render_pdf", None)
    if callable(pdf):
        formats.append(("PDF", "pdf", "application/pdf", lambda: pdf(report, notes=notes)))
    return formats


def report_downloads(kb: KnowledgeBase, report: Report, notes: str | None, key: str) -> None:
    """One download button per report format, each built only when clicked."""
    formats = report_formats(kb, report, notes)
    stem = file_stem(None, report)
    for col, (label, ext, mime, build) in zip(st.columns(len(formats)), formats, strict=True):
        with col:
            st.download_button(f"Download the report ({label})", data=build,
                               file_name=f"{stem}-report.{ext}", mime=mime, key=f"{key}_{ext}",
                               icon=":material/description:", width="stretch")
