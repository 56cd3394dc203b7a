"""The knowledge-base format: pydantic models of the data files in `knowledge_base/`.

The engine knows the *shape* of knowledge (questions, rules, outcome catalogues,
parameters), never its clinical content: every id, prompt and quote is data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# The sections of a case file (the case contract, DESIGN.md section 4).
Section = Literal["subject", "timeline", "criteria", "findings", "measures"]

# Kinds of fact a rule can assert. They mirror the report contract (DESIGN.md section 5).
DerivedKind = Literal[
    "finding",
    "argument",
    "spectrum",
    "driver",
    "formulation",
    "origin",
    "recommendation",
    "caution",
    "reflection",
    "measure",
    "interpretation",
    "inconsistency",
]
DERIVED_KINDS: tuple[str, ...] = DerivedKind.__args__  # type: ignore[attr-defined]

# The fixed options of the answer sections whose options the contract defines.
CRITERION_OPTIONS: tuple[str, ...] = ("yes", "partly", "no", "unknown")
FINDING_OPTIONS: tuple[str, ...] = ("present", "absent")
UNKNOWN = "unknown"


class Model(BaseModel):
    """Strict base: unknown keys in a data file are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Model):
    """Where an entry comes from: a section heading of the source document and a verbatim quote.

    `reference` names a published source for facts the document names but does not spell out
    (for example a measure's score range), cited beside the document's own mention.
    """

    section: Text
    quote: Text
    reference: Text | None = None


class Group(Model):
    """A heading under which questions are shown (a step of the form or a source grouping)."""

    id: Id
    label: Text
    help: Text | None = None


class Span(Model):
    """A range of a whole number: `at_least` inclusive, `below` exclusive; numbers or parameter ids."""

    at_least: int | Id | None = None
    below: int | Id | None = None


class AnswersFor(Model):
    """This question gives another (whole-number) question's answer in another form.

    A date question counts whole weeks from its date to the assessment date; a choice question
    stands for a range of the number per option (`spans`). A number given directly always wins;
    a category decides a condition on the number only when its whole range lies inside the
    condition's range (met) or outside it (unmet), and otherwise leaves it unknown.
    """

    question: Id
    spans: dict[Id, Span] = Field(default_factory=dict)


class Question(Model):
    """One answerable item of a case: a timeline field, a criterion, a finding or a measure."""

    id: Id
    section: Section
    group: Id
    step: Id
    prompt: Text
    prompt_self: Text | None = None
    help: Text
    kind: Literal["choice", "integer", "date"] = "choice"
    options: tuple[Id, ...] = ()
    option_labels: dict[str, Text] = Field(default_factory=dict)
    minimum: int | None = None
    maximum: int | None = None
    requires: dict[Id, tuple[Id, ...]] = Field(default_factory=dict)
    answers_for: AnswersFor | None = None
    source: Source

    @model_validator(mode="after")
    def _shape(self) -> Question:
        if self.kind == "date":
            if self.options or self.answers_for is None or self.answers_for.spans:
                raise ValueError("a date question has no options and answers_for a number (no spans)")
            return self
        if self.answers_for is not None:
            if self.kind != "choice":
                raise ValueError("only a choice or date question can answer for another")
            missing = [o for o in self.allowed_options() if o != UNKNOWN and o not in self.answers_for.spans]
            if missing:
                raise ValueError(f"answers_for needs a span for every option: missing {missing}")
        if self.kind == "integer":
            if self.options:
                raise ValueError("an integer question has no options")
            if self.minimum is None:
                raise ValueError("an integer question needs a minimum")
            if self.maximum is not None and self.maximum < self.minimum:
                raise ValueError("maximum is below minimum")
        elif self.section in ("criteria", "findings"):
            if self.options:
                raise ValueError(f"{self.section} questions take the contract's fixed options")
        elif not self.options:
            raise ValueError("a choice question needs options")
        unknown_labels = set(self.option_labels) - set(self.allowed_options())
        if unknown_labels:
            raise ValueError(f"labels for options it does not have: {sorted(unknown_labels)}")
        return self

    def allowed_options(self) -> tuple[str, ...]:
        """The values a case may give for this question (choice questions only)."""
        if self.section == "criteria":
            return CRITERION_OPTIONS
        if self.section == "findings":
            return FINDING_OPTIONS
        return self.options

    def requirements_met(self, answers: Mapping[str, object]) -> bool:
        """Whether the answers it depends on (`requires`) allow this question to be answered."""
        return all(answers.get(other) in allowed for other, allowed in self.requires.items())

    def wording(self, subject: str | None) -> str:
        """The prompt, worded for the clinician when they assess themselves."""
        if subject == "clinician_self" and self.prompt_self:
            return self.prompt_self
        return self.prompt


class AnswerIn(Model):
    """Condition: a choice answer is one of the listed options."""

    answer: Id
    is_in: tuple[Id, ...] = Field(alias="in", min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AnswerRange(Model):
    """Condition: an integer answer lies in a range; bounds are numbers or parameter ids.

    `at_least` and `at_most` are inclusive, `below` is exclusive (so one parameter can split
    a scale into "below N" and "at least N" without an off-by-one).
    """

    answer: Id
    at_least: int | Id | None = None
    at_most: int | Id | None = None
    below: int | Id | None = None

    @model_validator(mode="after")
    def _bounded(self) -> AnswerRange:
        if self.at_least is None and self.at_most is None and self.below is None:
            raise ValueError("a range condition needs at_least, at_most or below")
        if self.at_most is not None and self.below is not None:
            raise ValueError("give at_most or below, not both")
        return self


class Holds(Model):
    """Condition: a derived fact ('kind.id') has been asserted by some rule."""

    fact: Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z][a-z0-9_]*$")]


def _condition_shape(value: object) -> str:
    """Pick the condition model by its keys, so errors speak of one shape, not three."""
    if isinstance(value, dict):
        if "tally" in value:
            return "tally"
        if "fact" in value:
            return "fact"
        if "in" in value or "is_in" in value:
            return "in"
        return "range"
    if isinstance(value, TallyRange):
        return "tally"
    return "fact" if isinstance(value, Holds) else "in" if isinstance(value, AnswerIn) else "range"


class TallyRange(Model):
    """Condition: the weight of a tally's asserted arguments (minus another tally's) lies in a range.

    Bounds as for AnswerRange. Unknown arguments are never counted; in three-valued reasoning
    they make the tally an interval.
    """

    tally: Id
    minus: Id | None = None
    at_least: int | Id | None = None
    at_most: int | Id | None = None
    below: int | Id | None = None

    @model_validator(mode="after")
    def _bounded(self) -> TallyRange:
        if self.at_least is None and self.at_most is None and self.below is None:
            raise ValueError("a tally condition needs at_least, at_most or below")
        if self.at_most is not None and self.below is not None:
            raise ValueError("give at_most or below, not both")
        return self


Condition = Annotated[
    Annotated[AnswerIn, Tag("in")] | Annotated[AnswerRange, Tag("range")] | Annotated[Holds, Tag("fact")]
    | Annotated[TallyRange, Tag("tally")],
    Discriminator(_condition_shape),
]
AnswerCondition = AnswerIn | AnswerRange
Bounded = AnswerRange | TallyRange
FactRef = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z][a-z0-9_]*$")]


class Rule(Model):
    """A production rule as data: all `when` conditions hold and no `unless` fact holds -> `then`."""

    id: RuleId
    title: Text
    explanation: Text
    source: Source
    when: tuple[Condition, ...] = ()
    unless: tuple[FactRef, ...] = ()
    then: tuple[FactRef, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _conditioned(self) -> Rule:
        if not self.when and not self.unless:
            raise ValueError("a rule needs at least one condition in when or unless")
        return self


class Entry(Model):
    """A catalogue entry that a rule can assert (a finding, a conclusion, a caution...)."""

    id: Id
    label: Text
    text: Text
    source: Source


class Finding(Entry):
    """An intermediate finding; `direction` names the spectrum position it is evidence toward."""

    direction: Id | None = None


class Argument(Entry):
    """An argument in a weighing: asserted by rules, it adds `weight` to its tally."""

    tally: Id
    weight: int | Id = 1


class Tally(Model):
    """A weighing: the arguments that add to it are the catalogue's arguments naming it."""

    id: Id
    label: Text
    text: Text
    direction: Id | None = None
    source: Source


class KeyMarker(Model):
    """One of the source's key markers: assessed when any of its questions is answered."""

    id: Id
    label: Text
    questions: tuple[Id, ...] = Field(min_length=1)
    source: Source


class Position(Entry):
    """A spectrum position and which evidence directions count for and against it."""

    rank: int | None = None
    evidence_for: tuple[Id, ...] = ()
    evidence_against: tuple[Id, ...] = ()


class ReassessWhen(Model):
    """When a recommendation to reassess falls due: `after` weeks, counted from the assessment,
    or, when one of `counted_from` (numbers of weeks) is answered, what remains of them."""

    after: int | Id
    counted_from: tuple[Id, ...] = ()


class Recommendation(Entry):
    """An intervention: what to do (`text`), its approach, its pacing and why."""

    approach: Id
    pacing: Text
    why: Text
    reassess: ReassessWhen | None = None


class Caution(Entry):
    """A caution card with a level, as CDS Hooks cards carry an indicator."""

    level: Literal["info", "warning", "critical"]


class Measure(Entry):
    """A standardized measure the report may suggest administering."""

    scores: tuple[Id, ...] = ()


class Interpretation(Entry):
    """A reading of a score that was given."""

    measure: Id


class Parameter(Model):
    """A named number a rule uses; `clinical_judgment_default` marks numbers the source does not give.

    `minimum` and `maximum` bound the value; `above` names parameters it must exceed (an order
    of cut-offs or thresholds). Checked at load: a knowledge base out of range gives no advice.
    """

    id: Id
    value: int
    unit: Text
    note: Text
    clinical_judgment_default: bool
    minimum: int
    maximum: int
    above: tuple[Id, ...] = ()
    source: Source

    @model_validator(mode="after")
    def _in_range(self) -> Parameter:
        if self.maximum < self.minimum:
            raise ValueError("maximum is below minimum")
        if not self.minimum <= self.value <= self.maximum:
            raise ValueError(f"value {self.value} is outside its allowed range "
                             f"{self.minimum}..{self.maximum}")
        return self


class Approach(Model):
    """A family of interventions, for grouping recommendations."""

    id: Id
    label: Text
    source: Source


class Meta(Model):
    """The knowledge base's identity."""

    title: Text
    version: Text
    source_document: Text
    sections: tuple[Text, ...] = Field(min_length=1)
