"""Cards from reports: summary, indicator, the Markdown detail, override reasons, no ids."""

from __future__ import annotations

import re

import pytest

from engine import KnowledgeBase, Report, assess, new_evaluator, parse_case
from engine.vignettes import Vignette, default_vignettes
from service.cards import (
    LEVELS,
    SUMMARY_MAX,
    build_cards,
    detail_markdown,
    indicator,
    override_reasons,
    report_for_cards,
    summary,
)
from service.terminology import NON_ADHERENCE_SYSTEM

VIGNETTES = default_vignettes()


def report_of(vignette: Vignette, kb: KnowledgeBase) -> Report:
    """The explained report of a vignette."""
    return assess(parse_case(vignette.case, kb), explain=True)


def ids_in(text: str, kb: KnowledgeBase) -> list[str]:
    """Rule ids, 'kind.id' fact references and multi-word catalogue or question ids found in text."""
    found = [r.id for r in kb.rules if r.id in text]
    for kind, entries in kb.catalogue.items():
        for ident in entries:
            if f"{kind}.{ident}" in text or ("_" in ident and re.search(rf"\b{ident}\b", text)):
                found.append(f"{kind}.{ident}")
    found += [q for q in kb.questions if "_" in q and re.search(rf"\b{q}\b", text)]
    return found


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.id for v in VIGNETTES])
def test_card_of_every_vignette(vignette: Vignette, kb: KnowledgeBase) -> None:
    report = report_of(vignette, kb)
    (card,) = build_cards(report, kb, "http://127.0.0.1:1/knowledge-base")
    assert len(card["summary"]) < 140
    assert report.spectrum.label in card["summary"]
    levels = [c.level for c in report.cautions]
    assert card["indicator"] == (max(levels, key=LEVELS.index) if levels else "info")
    detail = card["detail"]
    assert f"**{report.spectrum.label}**" in detail.replace("\\", "")
    titles = {s.rule: s.title for s in report.trace}
    for rule in report.spectrum.because:
        assert titles[rule] in detail.replace("\\", "")
    for caution in report.cautions[:3]:
        assert caution.title in detail.replace("\\", "")
    for driver in report.drivers:
        assert kb.catalogue["driver"][driver].label in detail
    for formulation in report.formulations:
        assert kb.catalogue["formulation"][formulation].label in detail
    for q in [q for q in report.questions if q.needed][:3]:
        assert q.prompt in detail.replace("\\", "")
    assert ids_in(card["summary"] + detail, kb) == []


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.id for v in VIGNETTES])
def test_the_cards_report_is_the_explained_report_without_the_explanations(
        vignette: Vignette, kb: KnowledgeBase) -> None:
    case = parse_case(vignette.case, kb)
    full = assess(case, explain=True)
    light = report_for_cards(case, new_evaluator(kb))
    assert light.questions == full.questions
    assert light.model_copy(update={"explanations": full.explanations}) == full
    assert detail_markdown(light, kb) == detail_markdown(full, kb)


def test_the_id_check_can_fail(kb: KnowledgeBase) -> None:
    rule = kb.rules[0].id
    assert ids_in(f"see {rule}", kb) == [rule]
    caution = next(iter(kb.catalogue["caution"]))
    assert ids_in(f"caution.{caution}", kb)


def test_indicator_is_the_most_urgent_caution(kb: KnowledgeBase) -> None:
    report = report_of(next(v for v in VIGNETTES if v.expect.cautions), kb)
    assert report.cautions
    base = report.cautions[0]
    for levels, expected in [((), "info"), (("info",), "info"), (("info", "warning"), "warning"),
                             (("warning", "critical", "info"), "critical")]:
        cautions = [base.model_copy(update={"level": lv}) for lv in levels]
        assert indicator(report.model_copy(update={"cautions": cautions})) == expected


def test_a_long_summary_is_cut_under_140(kb: KnowledgeBase) -> None:
    report = report_of(VIGNETTES[0], kb)
    long_label = "word " * 60
    spectrum = report.spectrum.model_copy(update={"label": long_label.strip()})
    text = summary(report.model_copy(update={"spectrum": spectrum}), kb)
    assert len(text) <= SUMMARY_MAX and text.endswith("…")


def test_markdown_in_knowledge_text_is_shown_literally(kb: KnowledgeBase) -> None:
    report = report_of(next(v for v in VIGNETTES if v.expect.cautions), kb)
    sneaky = report.cautions[0].model_copy(update={"title": "<img src=x> *bold* [link](http://x)"})
    detail = detail_markdown(report.model_copy(update={"cautions": [sneaky]}), kb)
    line = next(x for x in detail.splitlines() if "img" in x)
    assert re.findall(r"(?<!\\)[<>\[\]]", line) == []  # every bracket is escaped
    assert r"\<img src=x\> \*bold\* \[link\](http://x)" in line


def test_override_reasons_are_hl7_non_adherence_categories_with_displays() -> None:
    reasons = override_reasons()
    assert len(reasons) == 6
    assert all(r["system"] == NON_ADHERENCE_SYSTEM and r["display"] and r["code"] for r in reasons)
    assert "cds-not-applicable" in {r["code"] for r in reasons}


def test_each_card_has_its_own_uuid(kb: KnowledgeBase) -> None:
    report = report_of(VIGNETTES[0], kb)
    first, second = build_cards(report, kb, "u")[0], build_cards(report, kb, "u")[0]
    assert first["uuid"] != second["uuid"]
    assert first["suggestions"][0]["uuid"] != second["suggestions"][0]["uuid"]
    assert {k: v for k, v in first.items() if k not in ("uuid", "suggestions")} == {
        k: v for k, v in second.items() if k not in ("uuid", "suggestions")}
