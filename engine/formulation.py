"""The formulation card: one summary of a report, shared by the app, the reports and the CDS cards.

The position and why in at most three sentences, the most urgent cautions, the drivers,
formulation and likely origins, what is still unassessed, and the next three questions. Built
from the report alone (with its robustness when the report carries explanations); every word
comes from the report and the knowledge base, through `engine.plain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.kb_loader import KnowledgeBase
from engine.plain import LEVELS, could_change_most, md_text, ref_label
from engine.report import Report

TOP_CAUTIONS = 3
NEXT_QUESTIONS = 3


@dataclass(frozen=True)
class CardCaution:
    """A caution on the card: its level (and the level in words), title and text."""

    level: str
    level_word: str
    title: str
    text: str


@dataclass(frozen=True)
class CardQuestion:
    """An open question on the card, with what its answer could change most."""

    id: str
    prompt: str
    could: str


@dataclass(frozen=True)
class FormulationCard:
    """The formulation at a glance (see the module docstring)."""

    position: str
    label: str
    sentences: tuple[str, ...]
    stable: bool
    status: str
    cautions: tuple[CardCaution, ...]
    more_cautions: int
    drivers: tuple[str, ...]
    formulations: tuple[str, ...]
    origins: tuple[str, ...]
    unassessed: tuple[str, ...]
    questions: tuple[CardQuestion, ...]
    more_questions: int
    inconsistencies: tuple[str, ...]


def stability(report: Report) -> tuple[bool, list[str]]:
    """Whether the position is stable, and the other positions open answers could still give.

    With the report's robustness (explanations), its verdict; without it, conservatively: stable
    only when every key marker is assessed and no open question could change the position.
    """
    robust = (report.explanations or {}).get("robustness")
    if isinstance(robust, Mapping):
        reach = [p for p in robust.get("reachable_positions", []) if p != report.spectrum.position]
        return bool(robust.get("stable")), reach
    moves = any("spectrum" in q.could_change for q in report.questions if q.needed)
    return (report.completeness.complete and not moves), []


def _why(kb: KnowledgeBase, report: Report) -> str:
    rules = {r.id: r.title for r in kb.rules}
    titles = [rules[r] for r in report.spectrum.because if r in rules]
    n_for, n_against = len(report.spectrum.evidence_for), len(report.spectrum.against)
    counts = (f" ({n_for} finding{'s' if n_for != 1 else ''} for it, "
              f"{n_against} against)") if n_for or n_against else ""
    reason = "; ".join(titles) if titles else "no rule places it yet"
    return f"Why: {reason}{counts}."


def formulation_card(kb: KnowledgeBase, report: Report) -> FormulationCard:
    """The formulation card of a report."""
    entry = kb.catalogue["spectrum"].get(report.spectrum.position)
    what = f"{report.spectrum.label}: {entry.text}" if entry is not None else f"{report.spectrum.label}."
    stable, reach = stability(report)
    if stable:
        status = "Stable: no answer to the open questions would move this position."
    else:
        could = ", ".join(ref_label(kb, f"spectrum.{p}") for p in reach)
        status = ("Provisional: answers still open could move this position"
                  + (f" (to {could})." if could else "."))
    needed = [q for q in report.questions if q.needed]
    questions = tuple(CardQuestion(q.id, q.prompt, could_change_most(kb, q.could_change))
                      for q in needed[:NEXT_QUESTIONS])

    def labels(kind: str, ids: list[str]) -> tuple[str, ...]:
        return tuple(ref_label(kb, f"{kind}.{i}") for i in ids)

    return FormulationCard(
        position=report.spectrum.position,
        label=report.spectrum.label,
        sentences=(what, _why(kb, report), status),
        stable=stable,
        status="stable" if stable else "provisional",
        cautions=tuple(CardCaution(c.level, LEVELS.get(c.level, c.level), c.title, c.text)
                       for c in report.cautions[:TOP_CAUTIONS]),
        more_cautions=max(0, len(report.cautions) - TOP_CAUTIONS),
        drivers=labels("driver", report.drivers),
        formulations=labels("formulation", report.formulations),
        origins=labels("origin", report.origins),
        unassessed=tuple(m.label for m in report.completeness.unassessed),
        questions=questions,
        more_questions=max(0, len(needed) - NEXT_QUESTIONS),
        inconsistencies=tuple(i.title for i in report.inconsistencies),
    )


def _line(text: str) -> str:
    return md_text(" ".join(text.split()))


def card_markdown(card: FormulationCard, heading: str | None = None) -> str:
    """The card as Markdown, every text escaped (GitHub-flavoured; used by the CDS card's detail)."""
    what, why, status = card.sentences
    label, _, rest = what.partition(": ")
    lines = [f"### {_line(heading)}", ""] if heading else []
    lines += [f"**{_line(label)}**: {_line(rest)}" if rest else f"**{_line(label)}**", "",
              _line(why), "", _line(status), ""]
    if card.cautions:
        lines.append("**Cautions**")
        lines += [f"- **{_line(c.level_word)}: {_line(c.title)}.** {_line(c.text)}" for c in card.cautions]
        if card.more_cautions:
            lines.append(f"- and {card.more_cautions} more in the full report")
        lines.append("")
    for name, values in (("Drivers", card.drivers), ("Formulation", card.formulations),
                         ("Likely origins", card.origins)):
        lines.append(f"- **{name}:** " + (", ".join(_line(v) for v in values) or "none established yet"))
    lines.append("")
    if card.inconsistencies:
        lines += ["**Answers to check:** " + "; ".join(_line(i) for i in card.inconsistencies), ""]
    lines.append("**Still unassessed:** "
                 + ("; ".join(_line(u) for u in card.unassessed) or "every key marker is assessed"))
    lines.append("")
    if card.questions:
        lines.append("**Next questions** (the answers most likely to change this)")
        lines += [f"{i}. {_line(q.prompt)} (could change {_line(q.could)})"
                  for i, q in enumerate(card.questions, 1)]
        lines.append("")
    lines.append("_Supports clinical judgment; it does not replace it._")
    return "\n".join(lines)

