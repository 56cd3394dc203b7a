"""Clinical vignettes: cases built from the source's own examples, with expected conclusions.

They serve the scenario tests, `python -m engine check` (every conclusion produced by some
vignette) and the app's training page.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from engine.errors import KnowledgeBaseError, Problem
from engine.kb_loader import DEFAULT_DIR
from engine.knowledge import Id, Model, Source, Text
from engine.yaml_io import YAMLError, loads

VIGNETTE_DIR = DEFAULT_DIR / "vignettes"


class Expectation(Model):
    """What the engine must conclude for a vignette.

    position, drivers, formulations and origins are exact when given; the other lists must
    all be present in the report (it may hold more); `fired` names the key reasons (rules
    that must fire) and `not_fired` rules that must not.
    """

    position: Id
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


class Vignette(Model):
    """A teaching case with its source and the conclusions the engine should reach."""

    id: Id
    title: Text
    summary: Text
    source: Source
    case: dict[str, Any]
    expect: Expectation
    teaching_points: tuple[Text, ...] = Field(default=())


def load_vignettes(directory: Path | str = VIGNETTE_DIR) -> list[Vignette]:
    """Every vignette file in a directory, validated, sorted by id."""
    problems: list[Problem] = []
    out: list[Vignette] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        where = f"knowledge_base/vignettes/{path.name}"
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
