"""Explanations as plain text, for the command line."""

from __future__ import annotations

from typing import Any

from engine.kb_loader import KnowledgeBase
from engine.plain import change_lines
from engine.report import Report

STATUS = {"met": "[met]    ", "unmet": "[unmet]  ", "unknown": "[unknown]"}


def _conditions(conditions: list[dict[str, Any]], indent: str) -> list[str]:
    lines = []
    for c in conditions:
        value = f" (answer: {c['value']})" if "value" in c else ""
        lines.append(f"{indent}{STATUS[c['status']]} {c.get('label', c['text'])}{value}")
        if c.get("because"):
            lines.append(f"{indent}          holds because of: {', '.join(c['because'])}")
        for rule in c.get("unmet_because", []):
            lines.append(f"{indent}          would follow from {rule['rule']}: {rule['title']}")
            lines.extend(_conditions(rule["conditions"], indent + "            "))
    return lines


def why_not_text(kb: KnowledgeBase, report: Report, ref: str) -> list[str]:
    """Why a conclusion was not reached: each rule that would reach it, condition by condition."""
    label = kb.entry(ref).label
    rules = report.explanations["why_not"].get(ref)
    if rules is None:
        return [f"{label} ({ref}) was reached; see how above."]
    lines = [f"Why not {label} ({ref})?"]
    if not rules:
        lines.append("  No rule reaches it.")
    for rule in rules:
        lines.append(f"  {rule['rule']}: {rule['title']}")
        lines.extend(_conditions(rule["conditions"], "    "))
    for e in report.explanations["evidence_against"].get(ref, []):
        lines.append(f"  evidence against: {e['text']} ({', '.join(e['because'])})")
    return lines


def explanation_text(kb: KnowledgeBase, report: Report, why_not: str | None = None) -> str:
    """The whole explanation of a report as readable text."""
    ex = report.explanations
    out = [f"Spectrum position: {report.spectrum.label}", ""]
    for ref, proof in ex["how"].items():
        if ref.partition(".")[0] not in ("spectrum", "driver", "formulation", "origin"):
            continue
        out.append(f"How: {proof['label']} ({ref})")
        for step in proof["steps"]:
            pad = "  " * (step["depth"] + 1)
            out.append(f"{pad}{step['rule']}: {step['title']}")
            out.append(f"{pad}  because: {'; '.join(step['used_text'])}")
            out.append(f"{pad}  source: {step['source']['section']}: \"{step['source']['quote']}\"")
        out.append("")
    if why_not:
        out.extend(why_not_text(kb, report, why_not))
        out.append("")
    for name, variants in ex["what_would_change"].items():
        out.append(f"What would change the {name}:")
        # In words: never a change to unknown, ranges of numbers merged (engine.plain).
        lines = change_lines(kb, variants, name, report.subject)
        out.extend(f"  {line}" for line in lines[:12])
        if not lines:
            out.append("  no change of one answer" + (" or two" if any(
                len(v["changes"]) > 1 for vs in ex["what_would_change"].values() for v in vs) else ""))
        out.append("")
    rob = ex["robustness"]
    if rob["stable"]:
        out.append("Robustness: the position holds whatever the open questions turn out to be.")
    else:
        qualifier = "" if rob["exhaustive"] else " (search stopped at its limit)"
        out.append(f"Robustness: answers to open questions could give {', '.join(rob['reachable_positions'])}"
                   f"{qualifier}; pivotal: {', '.join(rob['pivotal']) or 'answers only in combination'}.")
    out.append("")
    out.append("Next questions:")
    needed = [q for q in report.questions if q.needed]
    for q in needed[:10]:
        out.append(f"  {q.prompt}  (could change: {', '.join(q.could_change)})")
    if not needed:
        out.append("  none: no open question could change a conclusion")
    return "\n".join(out) + "\n"
