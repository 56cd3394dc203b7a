"""Clinical vignettes: cases built from the source's own examples, with expected conclusions.

They serve the scenario tests, `python -m engine check` (every conclusion produced by some
vignette) and the app's training page.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from engine.errors import KnowledgeBaseError, Problem
from engine.kb_loader import DEFAULT_DIR
from engine.knowledge import Id, Model, Source, Text
from engine.yaml_io import YAMLError, loads

VIGNETTE_DIR = DEFAULT_DIR / "vignettes"


class Expectation(Model):
    """What the engine must conclude for a vignette.

    position, drivers, formulations and origins are exact when given; the other lists must
    all be present in the report (it may hold more); `not_recommendations` must not be; `fired`
    names the key reasons (rules that must fire) and `not_fired` rules that must not. `reasons`
    are passages of the source the report's reasoning must cite (a rule-independent way to name
    the reasons); `stable` whether the position may be claimed stable; `advice` and
    `must_not_say` are what the report must and must not say, in words, for a reviewer.
    """

    position: Id | None = None
    drivers: tuple[Id, ...] | None = None
    formulations: tuple[Id, ...] | None = None
    origins: tuple[Id, ...] | None = None
    recommendations: tuple[Id, ...] = ()
    cautions: tuple[Id, ...] = ()
    reflections: tuple[Id, ...] = ()
    measures: tuple[Id, ...] = ()
    interpretations: tuple[Id, ...] = ()
    inconsistencies: tuple[Id, ...] = ()
    fired: tuple[str, ...] = ()
    not_fired: tuple[str, ...] = ()
    not_recommendations: tuple[Id, ...] = ()
    reasons: tuple[Text, ...] = ()
    stable: bool | None = None
    advice: tuple[Text, ...] = ()
    must_not_say: tuple[Text, ...] = ()


DissentItem = Literal["position", "drivers", "formulations", "origins", "recommendations",
                      "not_recommendations", "measures", "reasons", "stable"]


class Dissent(Model):
    """Where the engine keeps a conclusion other than the vignette's author expected, and why.

    The author's expectation stays as written (agreement is measured against it); the tests
    check the engine's kept conclusion, and `argument` makes the case from the source.
    """

    item: DissentItem
    engine: Any
    argument: Text


class Vignette(Model):
    """A teaching case with its source and the conclusions the engine should reach."""

    id: Id
    title: Text
    summary: Text
    source: Source
    case: dict[str, Any]
    expect: Expectation
    teaching_points: tuple[Text, ...] = Field(default=())
    author: Text | None = None
    note: Text | None = None
    dissent: tuple[Dissent, ...] = ()

    def expected(self, item: str) -> Any:
        """What the tests expect for one item: the kept dissent if any, else the expectation."""
        for d in self.dissent:
            if d.item == item:
                return d.engine
        return getattr(self.expect, item)


def load_vignettes(directory: Path | str = VIGNETTE_DIR) -> list[Vignette]:
    """Every vignette file in a directory, validated, sorted by id."""
    problems: list[Problem] = []
    out: list[Vignette] = []
    root = Path(directory)
    for path in sorted(root.rglob("*.yaml")):
        where = f"knowledge_base/vignettes/{path.relative_to(root).as_posix()}"
        try:
            out.append(Vignette.model_validate(loads(path.read_text(encoding="utf-8"))))
        except YAMLError as exc:
            problems.append(Problem(where, f"is not valid YAML: {exc}"))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(where, f"{loc}: {err['msg']}"))
    if problems:
        raise KnowledgeBaseError(problems)
    return sorted(out, key=lambda v: v.id)


@cache
def default_vignettes() -> tuple[Vignette, ...]:
    """The project's vignettes, loaded once."""
    return tuple(load_vignettes())
