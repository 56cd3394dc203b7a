"""Explanations in words (issue 11, item 4): what would change it never proposes unknown and merges
ranges of numbers; why not gives each shared reason once; the formulation card."""

from __future__ import annotations

import pytest

from engine import KnowledgeBase, assess, parse_case
from engine.formulation import NEXT_QUESTIONS, card_markdown, formulation_card
from engine.plain import change_lines, why_not_markdown, why_not_summary
from engine.vignettes import default_vignettes
from engine.whatif import domain
from tests.plain_check import engine_tokens

VIGNETTES = default_vignettes()


def _variant(qid: str, before: object, after: object, result: str) -> dict[str, object]:
    return {"changes": [{"question": qid, "from": before, "to": after}], "result": result}


def test_what_would_change_never_proposes_unknown(kb: KnowledgeBase) -> None:
    lines = change_lines(kb, [_variant("stressor", "ongoing", None, "undetermined"),
                              _variant("stressor", "ongoing", "unknown", "undetermined"),
                              _variant("stressor", "ongoing", "ended", "undetermined")], "spectrum")
    assert len(lines) == 1 and "Unknown" not in lines[0] and "unknown" not in lines[0]


def test_what_would_change_merges_ranges_of_numbers(kb: KnowledgeBase) -> None:
    qid = "weeks_since_onset"
    points = [p for p in domain(kb, qid) if isinstance(p, int)]
    assert len(points) >= 3
    low_side = points[:2]  # the lowest two regions, both below the second threshold
    lines = change_lines(kb, [_variant(qid, None, p, "at_risk") for p in low_side], "spectrum")
    assert len(lines) == 1, lines
    assert f"fewer than {points[2]}" in lines[0]
    assert f"is {points[0]} " not in lines[0] and f"is {points[1]} " not in lines[0]


@pytest.mark.parametrize("vid", [v.id for v in VIGNETTES])
def test_every_vignettes_explanations_are_tidy(vid: str, kb: KnowledgeBase) -> None:
    v = next(x for x in VIGNETTES if x.id == vid)
    report = assess(parse_case(v.case, kb), explain=True)
    ex = report.explanations
    for name, variants in ex["what_would_change"].items():
        lines = change_lines(kb, variants, name, report.subject)
        assert all("Unknown" not in line.split("(now")[0] for line in lines), lines
        assert len(lines) == len(set(lines))
        assert engine_tokens(kb, "\n".join(lines)) == []
    explained: set[str] = set()
    for ref, rules in ex["why_not"].items():
        if ref in explained:
            continue
        item = why_not_summary(kb, ref, rules, report.subject, explained)
        for _title, own in item.ways:
            assert not set(own) & set(item.shared), "a shared reason is repeated in a way"
            assert len(own) == len(set(own))
        text = why_not_markdown(item)
        assert engine_tokens(kb, text.replace("\\", "")) == []
        # a finding's own explanation appears once for the whole set of explanations
        labels = [b.label for b in item.behind]
        assert len(labels) == len(set(labels))


@pytest.mark.parametrize("vid", [v.id for v in VIGNETTES])
def test_formulation_card(vid: str, kb: KnowledgeBase) -> None:
    v = next(x for x in VIGNETTES if x.id == vid)
    report = assess(parse_case(v.case, kb), explain=True)
    card = formulation_card(kb, report)
    assert len(card.sentences) <= 3
    assert card.label == report.spectrum.label
    assert len(card.questions) <= NEXT_QUESTIONS
    assert card.unassessed == tuple(m.label for m in report.completeness.unassessed)
    assert card.status == ("stable" if report.explanations["robustness"]["stable"] else "provisional")
    assert engine_tokens(kb, card_markdown(card).replace("\\", "")) == []
