"""The knowledge base's entries are complete: core ids, sources, pacing, levels, measures."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from engine import KnowledgeBase, KnowledgeBaseError, load
from engine.citations import read_lock, unlocked
from engine.kb_loader import DEFAULT_DIR
from engine.knowledge import (
    AnswerRange,
    Caution,
    Interpretation,
    Measure,
    Recommendation,
    Source,
)
from engine.sources import quote_problems, source_path
from engine.whatif import questions_read
from engine.yaml_io import dumps, loads

# DESIGN.md sections 4 and 5.
CORE = {
    "driver": {"alexithymia", "avoidance"},
    "formulation": {"defense_based", "neurobiological", "relational"},
    "origin": {"trauma_attachment", "depression", "ptsd", "anxiety", "medication", "neurological",
               "professional_hazard", "situational_stress"},
    "measure": {"tas20", "ders18", "ecs"},
}
CORE_RECOMMENDATIONS = {
    "act_willingness", "act_values", "act_defusion", "cbt_beliefs", "psychodynamic_exploration",
    "schema_work", "mindfulness", "affect_labeling", "creative_modalities", "imagery",
    "interoceptive_exercises", "structured_awareness_tools", "safety_first", "explore_function",
    "graded_reengagement", "supportive_monitoring", "prescriber_review", "neurological_review",
    "self_care_plan", "emotional_outlets", "peer_supervision", "boundary_maintenance",
    "self_compassion",
}
# The source groups its assessment this way; every finding and criterion sits in one group.
ASSESSMENT_GROUPS = {"interview", "observation", "standardized_measures", "history_formulation",
                     "therapist_reactions"}


@pytest.fixture(scope="module")
def document() -> str | None:
    """The source document when it is beside the clone, else None (the citation lock decides)."""
    path = source_path()
    return path.read_text(encoding="utf-8") if path.is_file() else None


@pytest.mark.parametrize("kind", sorted(CORE))
def test_core_ids_are_exactly_the_contract(kind: str, kb: KnowledgeBase) -> None:
    assert set(kb.catalogue[kind]) == CORE[kind]


def test_every_core_recommendation_exists(kb: KnowledgeBase) -> None:
    assert set(kb.catalogue["recommendation"]) >= CORE_RECOMMENDATIONS


def test_recommendations_have_approach_pacing_and_why(kb: KnowledgeBase) -> None:
    for rec in kb.catalogue["recommendation"].values():
        assert isinstance(rec, Recommendation)
        assert rec.approach in kb.approaches, rec.id
        assert len(rec.pacing) > 10 and len(rec.why) > 20 and len(rec.text) > 10, rec.id
        # The source gives no durations or counts: pacing is in its words, never a number.
        assert not re.search(r"\d", rec.pacing), f"{rec.id}: invented number in pacing"


def test_cautions_have_levels_and_all_levels_are_used(kb: KnowledgeBase) -> None:
    levels = set()
    for caution in kb.catalogue["caution"].values():
        assert isinstance(caution, Caution)
        levels.add(caution.level)
    assert levels == {"info", "warning", "critical"}


def test_measures_take_scores_only_and_published_facts_cite_a_reference(kb: KnowledgeBase) -> None:
    for measure in kb.catalogue["measure"].values():
        assert isinstance(measure, Measure)
        for score in measure.scores:
            assert kb.questions[score].kind == "integer"
        if measure.scores:
            assert measure.source.reference, f"{measure.id}: score ranges need a published reference"
    # The TAS-20 is licensed: the case takes its total, never an item.
    assert [q for q in kb.questions if q.startswith("tas20")] == ["tas20_total"]
    for interp in kb.catalogue["interpretation"].values():
        assert isinstance(interp, Interpretation)
        assert interp.source.reference, f"{interp.id}: a score reading needs a published reference"


def test_tas20_bands_are_published_parameters_that_the_labels_state(kb: KnowledgeBase) -> None:
    possible, alexithymic = kb.parameters["tas20_possible_from"], kb.parameters["tas20_alexithymic_from"]
    assert (possible.value, alexithymic.value) == (52, 61)
    for p in (possible, alexithymic):
        assert not p.clinical_judgment_default and p.source.reference
    labels = {i: kb.catalogue["interpretation"][i].label for i in
              ("tas20_non_alexithymic", "tas20_possible_alexithymia", "tas20_alexithymic")}
    assert f"{possible.value - 1} or below" in labels["tas20_non_alexithymic"]
    assert f"{possible.value} to {alexithymic.value - 1}" in labels["tas20_possible_alexithymia"]
    assert f"{alexithymic.value} or above" in labels["tas20_alexithymic"]


def test_clinical_judgment_parameters_say_why(kb: KnowledgeBase) -> None:
    for p in kb.parameters.values():
        if p.clinical_judgment_default:
            assert "clinical-judgment default" in p.note, p.id


def test_ders18_is_never_thresholded(kb: KnowledgeBase) -> None:
    """A DERS-18 score may only be tested for being given (at least its minimum), never banded."""
    ders = {q.id for q in kb.questions.values() if q.id.startswith("ders18")}
    for rule in kb.rules:
        for cond in rule.when:
            if isinstance(cond, AnswerRange) and cond.answer in ders:
                assert cond.at_most is None and cond.below is None, rule.id
                assert kb.param(cond.at_least) == kb.questions[cond.answer].minimum, rule.id
    text = kb.catalogue["interpretation"]["ders18_scores"].text
    assert "no validated clinical cut-off" in text


def test_questions_have_prompts_help_and_source_groups(kb: KnowledgeBase) -> None:
    for q in kb.questions.values():
        assert q.prompt and q.help, q.id
        if q.section in ("criteria", "findings", "measures"):
            assert q.group in ASSESSMENT_GROUPS, f"{q.id}: group {q.group}"
    used = {q.group for q in kb.questions.values()}
    assert used >= ASSESSMENT_GROUPS


def test_every_finding_and_criterion_question_is_read_by_a_rule(kb: KnowledgeBase) -> None:
    read = {q for r in kb.rules for q in questions_read(kb, r)}
    # A date reaches the rules as the number of weeks it answers for.
    unread = [q.id for q in kb.questions.values() if q.id not in read
              and not (q.kind == "date" and q.answers_for and q.answers_for.question in read)]
    assert unread == []


# ---- a wrong or missing quote fails ---------------------------------------------------------

WRONG = Source(section="Key Takeaways", quote="Detachment always resolves within six weeks.")


def _with_wrong_source(kb: KnowledgeBase, kind: str, ident: str) -> KnowledgeBase:
    if kind == "rule":
        rules = tuple(r.model_copy(update={"source": WRONG}) if r.id == ident else r for r in kb.rules)
        return dataclasses.replace(kb, rules=rules)
    if kind == "question":
        questions = dict(kb.questions)
        questions[ident] = questions[ident].model_copy(update={"source": WRONG})
        return dataclasses.replace(kb, questions=questions)
    if kind == "approach":
        approaches = dict(kb.approaches)
        approaches[ident] = approaches[ident].model_copy(update={"source": WRONG})
        return dataclasses.replace(kb, approaches=approaches)
    if kind == "parameter":
        params = dict(kb.parameters)
        params[ident] = params[ident].model_copy(update={"source": WRONG})
        return dataclasses.replace(kb, parameters=params)
    catalogue = {k: dict(v) for k, v in kb.catalogue.items()}
    catalogue[kind][ident] = catalogue[kind][ident].model_copy(update={"source": WRONG})
    return dataclasses.replace(kb, catalogue=catalogue)


@pytest.mark.parametrize(("kind", "ident"), [
    ("rule", "plan.avoidance"), ("question", "tas20_total"), ("recommendation", "act_defusion"),
    ("approach", "act"), ("measure", "ders18"), ("interpretation", "tas20_alexithymic"),
    ("caution", "pushing_destabilizes"), ("reflection", "mutual_detachment"),
    ("driver", "alexithymia"), ("parameter", "tas20_alexithymic_from"),
])
def test_an_invented_quote_is_caught(kind: str, ident: str, kb: KnowledgeBase, document: str | None) -> None:
    lock, _ = read_lock(DEFAULT_DIR)
    assert lock is not None and unlocked(kb.sources(), lock) == []
    problems = [str(p) for p in unlocked(_with_wrong_source(kb, kind, ident).sources(), lock)]
    assert len(problems) == 1 and problems[0].startswith(f"{kind} {ident}:"), problems
    if document is not None:  # and the source itself, when it is here
        assert quote_problems(kb, document) == []
        problems = [str(p) for p in quote_problems(_with_wrong_source(kb, kind, ident), document)]
        assert len(problems) == 1 and problems[0].startswith(f"{kind} {ident}:"), problems


@pytest.mark.parametrize(("file", "key", "ident"), [
    ("interventions.yaml", "recommendations", "safety_first"),
    ("measures.yaml", "measures", "ecs"),
    ("rules/drivers.yaml", "rules", "driver.both"),
])
def test_an_entry_without_a_quote_does_not_load(file: str, key: str, ident: str, tmp_path: Path) -> None:
    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_DIR, kb_dir)
    path = kb_dir / file
    data = loads(path.read_text(encoding="utf-8"))
    (entry,) = [e for e in data[key] if e["id"] == ident]
    del entry["source"]["quote"]
    path.write_text(dumps(data), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as exc:
        load(kb_dir)
    assert any(ident in line and "source.quote" in line for line in exc.value.lines()), exc.value.lines()
