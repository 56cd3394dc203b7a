"""Downloads: the case file (JSON, YAML) and the report (Markdown, HTML, PDF).

Report formats are built only when their button is clicked (deferred data), so drawing the page
stays fast. A download does not rerun the app (`on_click="ignore"`): a rerun racing the deferred
file could drop it before the browser fetched it. Nothing is written on the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial

import streamlit as st

import engine.render as render
from engine import Case, KnowledgeBase, Report, dump_case
from ui.state import session


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
                           icon=":material/download:", width="stretch", on_click="ignore")
    with right:
        st.download_button("Download the case (YAML)", data=dump_case(case, "yaml"),
                           file_name=f"{stem}.yaml", mime="application/x-yaml", key=f"{key}_yaml",
                           icon=":material/download:", width="stretch", on_click="ignore")


LABELS = {"markdown": "Markdown", "html": "HTML", "pdf": "PDF"}


FeedbackOf = Callable[[], Sequence[render.Feedback]]
MEMO_KEY = "report_bytes"
MEMO_SIZE = 6  # built reports kept in this session's memory (a PDF is some 40 KB)


def _built(report: Report, fmt: str, kb: KnowledgeBase, notes: str | None,
           feedback_of: FeedbackOf = tuple) -> bytes:
    """The report in one format, built once per session and kept in the session's memory only:
    a second download of the same report (or the PDF after the HTML) is served from there,
    nothing is written to disk on the server. The recorded feedback is read only now, when the
    report is wanted, not on every rerun of the page that offers it."""
    feedback = feedback_of()
    memo: dict[tuple[str, str], bytes] = session().setdefault(MEMO_KEY, {})
    key = (fmt, hashlib.sha256((report.model_dump_json() + "\0" + (notes or "") + "\0"
                                + repr(list(feedback))).encode()).hexdigest())
    data = memo.get(key)
    if data is None:
        data = render.render_bytes(report, fmt, kb, notes=notes,  # type: ignore[arg-type]
                                   feedback=feedback)
        if len(memo) >= MEMO_SIZE:
            memo.pop(next(iter(memo)))
        memo[key] = data
    return data


Builder = tuple[str, str, str, Callable[[], bytes]]


def report_formats(kb: KnowledgeBase, report: Report, notes: str | None,
                   feedback_of: FeedbackOf = tuple) -> list[Builder]:
    """The report formats: (label, extension, mime, builder); the notes go into each, escaped,
    and the clinician's recorded agreements and overrides (`feedback_of()`, read at build)."""
    return [
        (LABELS.get(fmt, fmt), ext, mime, partial(_built, report, fmt, kb, notes, feedback_of))
        for fmt, (ext, mime) in render.FORMATS.items()
    ]


def report_downloads(kb: KnowledgeBase, report: Report, notes: str | None, key: str,
                     feedback_of: FeedbackOf = tuple) -> None:
    """One download button per report format, each built only when clicked."""
    formats = report_formats(kb, report, notes, feedback_of)
    stem = file_stem(None, report)
    for col, (label, ext, mime, build) in zip(st.columns(len(formats)), formats, strict=True):
        with col:
            st.download_button(f"Download the report ({label})", data=build,
                               file_name=f"{stem}-report.{ext}", mime=mime, key=f"{key}_{ext}",
                               icon=":material/description:", width="stretch", on_click="ignore")
