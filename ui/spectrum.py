"""The spectrum as a picture: a horizontal bar of the positions, the case's position marked.

Plain HTML with inline styles (no external fetch; Streamlit's sanitiser keeps it), the position
written in words and marked by a heavy outline and an arrow, never by colour alone, with a text
alternative for screen readers.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from engine import KnowledgeBase, Report
from engine.knowledge import Position

# Soft fills by rank, calm on a light page; meaning never rests on them.
FILLS = ("#d9eee4", "#f7ebcf", "#f3d9d6", "#e4e0f0", "#dde7f3")
INK = "#1f2937"
MUTED = "#4b5563"


def ranked_positions(kb: KnowledgeBase) -> tuple[list[Position], list[Position]]:
    """The positions on the bar (by rank) and those off it (e.g. undetermined)."""
    on: list[Position] = []
    off: list[Position] = []
    for entry in kb.catalogue["spectrum"].values():
        if isinstance(entry, Position):
            (on if entry.rank is not None else off).append(entry)
    on.sort(key=lambda p: (p.rank or 0, p.id))
    return on, off


def describe(kb: KnowledgeBase, report: Report) -> str:
    """The picture in words (its text alternative)."""
    on, _ = ranked_positions(kb)
    counts = Counter(e.direction for e in [*report.spectrum.evidence_for, *report.spectrum.against])
    toward = "; ".join(f"{counts[p.id]} finding(s) toward {p.label}" for p in on if counts[p.id])
    where = ("not placed: " if report.spectrum.position not in {p.id for p in on} else "") \
        + report.spectrum.label
    return (f"Spectrum from {on[0].label} to {on[-1].label}. This case: {where}."
            + (f" {toward}." if toward else " No evidence recorded yet.")) if on else where


def spectrum_html(kb: KnowledgeBase, report: Report) -> str:
    """A bar of the ranked positions (plain HTML and inline styles: Streamlit's sanitiser drops SVG),
    with the evidence counts above each position and this case's position marked below it."""
    on, _ = ranked_positions(kb)
    if not on:
        return ""
    counts = Counter(e.direction for e in [*report.spectrum.evidence_for, *report.spectrum.against])
    placed = report.spectrum.position in {p.id for p in on}
    row = "display:flex;gap:8px;align-items:stretch"
    cell = "flex:1 1 0;text-align:center"
    evidence, bar, marker = [], [], []
    for i, p in enumerate(on):
        here = p.id == report.spectrum.position
        n = counts[p.id]
        dots = ("●" * min(n, 8) + ("…" if n > 8 else "") + f" {n} finding{'s' if n != 1 else ''} toward"
                if n else "&nbsp;")
        evidence.append(f'<div style="{cell};font-size:0.8rem;color:{MUTED}">{dots}</div>')
        border = (f"border:4px solid {INK};font-weight:700" if here
                  else f"border:1px {'solid' if placed else 'dashed'} {MUTED}")
        bar.append(f'<div style="{cell};background:{FILLS[i % len(FILLS)]};color:{INK};{border};'
                   f'border-radius:10px;padding:14px 6px">{escape(p.label)}</div>')
        marker.append(f'<div style="{cell};font-weight:700;color:{INK}">'
                      f'{"▲ This case: " + escape(p.label) if here else "&nbsp;"}</div>')
    label = escape(describe(kb, report))
    parts = [f'<div role="img" aria-label="{label}" title="{label}" '
             'style="max-width:760px;font-family:inherit;margin:0.25rem 0 0.5rem 0">',
             f'<div style="{row}">{"".join(evidence)}</div>',
             f'<div style="{row};margin:4px 0">{"".join(bar)}</div>']
    if placed:
        parts.append(f'<div style="{row}">{"".join(marker)}</div>')
    else:
        parts.append(f'<div style="text-align:center;font-weight:700;color:{INK}">'
                     f"Not placed: {escape(report.spectrum.label)}</div>")
    parts.append("</div>")
    return "".join(parts)
