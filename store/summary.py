"""The small part of a report the timeline and the diff need, stored beside the full report.

Opening a client reads these summaries (a few hundred bytes each), not every full report (about
150 kB each with the explanations): opening a client with 50 assessments stays well under the
200 ms goal. The full report is read when one assessment is shown (`cases.load_report`).
"""

from __future__ import annotations

from typing import Any

from engine import KnowledgeBase, default_knowledge_base

LISTED = ("recommendations", "cautions", "reflections", "measures")
NAMED = ("drivers", "formulations", "origins")


def explaining_step(report: dict[str, Any], position: str) -> dict[str, Any] | None:
    """The first step that explains the position: its rule, title, explanation and source."""
    how = (report.get("explanations") or {}).get("how") or {}
    steps = (how.get(f"spectrum.{position}") or {}).get("steps") or []
    step = dict(steps[0]) if steps else None
    if step is None:
        ref = f"spectrum.{position}"
        step = next((dict(t) for t in report.get("trace") or [] if ref in t.get("asserted", [])), None)
    if step is None:
        return None
    source = step.get("source") or {}
    return {"rule": step.get("rule", ""), "title": step.get("title", ""),
            "explanation": step.get("explanation", ""), "quote": source.get("quote", ""),
            "section": source.get("section", "")}


def conclusions(report: dict[str, Any], kb: KnowledgeBase | None = None) -> list[list[str]]:
    """Every conclusion of a report as [kind, id, label] (label: the plain words shown)."""
    kb = kb or default_knowledge_base()
    out: list[list[str]] = []
    for kind in LISTED:
        for item in report.get(kind) or []:
            out.append([kind, str(item["id"]),
                        str(item.get("title") or item.get("name") or item["id"])])
    for kind in NAMED:
        for ident in report.get(kind) or []:
            entry = kb.catalogue.get(kind.rstrip("s"), {}).get(str(ident))
            out.append([kind, str(ident), str(getattr(entry, "label", None) or ident)])
    return out


def summarize(report: dict[str, Any], kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The summary stored with an assessment (labels from the knowledge base that assessed it)."""
    spectrum = report["spectrum"]
    return {"label": spectrum["label"], "because": list(spectrum.get("because") or []),
            "step": explaining_step(report, spectrum["position"]),
            "conclusions": conclusions(report, kb), "reassess": report.get("reassess")}
