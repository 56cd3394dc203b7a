"""A broken knowledge base stops everything with messages naming the file, the entry and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import KnowledgeBaseError, load
from engine.kb_loader import DEFAULT_DIR

SOURCE = {"section": "In Brief", "quote": "Emotionally detaching exists on a spectrum."}


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A private copy of the knowledge base to break."""
    target = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def rule_yaml(rule_id: str, when: str, then: str, unless: str = "") -> str:
    return (
        f"  - id: {rule_id}\n    title: t\n    explanation: e\n"
        f"    source: {{section: \"{SOURCE['section']}\", quote: \"{SOURCE['quote']}\"}}\n"
        f"    when: {when}\n    then: {then}\n" + (f"    unless: {unless}\n" if unless else "")
    )


def problems(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as info:
        load(directory)
    return info.value.lines()


def test_the_real_knowledge_base_loads() -> None:
    kb = load(DEFAULT_DIR)
    assert kb.rules and kb.questions and len(kb.sha256) == 64


def test_unknown_question_in_a_rule_names_file_rule_and_suggestion(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text(
        "rules:\n" + rule_yaml("broken.one", "[{answer: stresor, in: [ongoing]}]", "[finding.time_limited]"))
    assert problems(kb_dir) == [
        "knowledge_base/rules/zz_broken.yaml: rule broken.one: when[0]: unknown question 'stresor'; "
        "did you mean stressor?"]


def test_unknown_option_and_unknown_fact(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text(
        "rules:\n" + rule_yaml("broken.two", "[{answer: stressor, in: [paused]}]", "[finding.time_limitd]"))
    assert problems(kb_dir) == [
        "knowledge_base/rules/zz_broken.yaml: rule broken.two: when[0]: 'stressor' has no option "
        "'paused'; allowed: ongoing, ended, none",
        "knowledge_base/rules/zz_broken.yaml: rule broken.two: then: unknown finding 'time_limitd'; "
        "did you mean time_limited?",
    ]


def test_missing_quote_names_the_entry(kb_dir: Path) -> None:
    path = kb_dir / "parameters.yaml"
    quote = 'quote: "if that same person stays disconnected months later"'
    path.write_text(path.read_text().replace(quote, "", 1))
    assert problems(kb_dir) == [
        "knowledge_base/parameters.yaml: parameters[0] (persistence_weeks): source.quote: Field required"]


def test_invalid_yaml_names_the_line(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text("rules:\n  - id: [unclosed\n")
    (line,) = problems(kb_dir)
    assert line.startswith("knowledge_base/rules/zz_broken.yaml:3: is not valid YAML")


def test_duplicate_rule_id(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text(
        "rules:\n"
        + rule_yaml("spectrum.adaptive.within", "[{answer: stressor, in: [ongoing]}]",
                    "[finding.time_limited]"))
    assert problems(kb_dir) == [
        "knowledge_base/rules/zz_broken.yaml: duplicate rule id 'spectrum.adaptive.within' "
        "(also in knowledge_base/rules/spectrum.yaml)"]


def test_rules_that_read_their_own_conclusions_are_refused(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text(
        "rules:\n"
        + rule_yaml("loop.a", "[{fact: argument.numbing}]", "[argument.emptiness]")
        + rule_yaml("loop.b", "[{fact: argument.emptiness}]", "[argument.numbing]"))
    lines = problems(kb_dir)
    assert len(lines) == 1
    assert lines[0].startswith("knowledge_base/rules: rules read their own conclusions:")
    assert "loop.a" in lines[0] and "loop.b" in lines[0]


def test_unknown_key_in_an_entry(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text(
        "rules:\n" + rule_yaml("broken.three", "[{answer: stressor, in: [ongoing]}]",
                               "[finding.time_limited]") + "    salience: 5\n")
    assert problems(kb_dir) == [
        "knowledge_base/rules/zz_broken.yaml: rules[0] (broken.three): salience: "
        "Extra inputs are not permitted"]


def test_a_rule_needs_a_condition(kb_dir: Path) -> None:
    (kb_dir / "rules" / "zz_broken.yaml").write_text(
        "rules:\n" + rule_yaml("broken.four", "[]", "[finding.time_limited]"))
    (line,) = problems(kb_dir)
    assert line.startswith("knowledge_base/rules/zz_broken.yaml: rules[0] (broken.four): entry: ")
    assert "at least one condition" in line


def test_missing_directory() -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        load("/nonexistent/kb")
    assert info.value.lines() == ["/nonexistent/kb: knowledge base directory not found"]


def test_strata_put_negations_after_what_they_negate() -> None:
    kb = load(DEFAULT_DIR)
    for rule in kb.rules:
        for ref in rule.unless:
            for other in kb.asserters(ref):
                assert kb.strata[other.id] < kb.strata[rule.id], (rule.id, other.id)
