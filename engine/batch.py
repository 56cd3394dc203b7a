"""The intake table: many cases in, one row each out, the cases that need attention first.

Pure: case data in, rows out (reading the files and rendering the table are the CLI's and
`engine.batch_table`'s). A case that is invalid gets its row with the problems and the others
still come. A row holds only what the table shows, so it is computed from the derived facts
(the generated evaluator, which the tests hold equal to experta and to CLIPS) and the open
questions, without the full report and its how / why-not / what-if explanations; a test holds
each row equal to the row of the full report (`report_row`). Large batches run on a process
pool: each worker process loads its own knowledge base once (in the pool's initializer) and
is sent plain case dicts, in chunks.

The order comes from the knowledge base's data, never from ids written here:
1. invalid cases first (nothing could be assessed for them);
2. by the most severe caution the report raises, most severe first (the caution levels as the
   knowledge model declares them, from least to most severe), cases without one after;
3. by the spectrum position's `rank` in knowledge_base/conclusions.yaml, highest first; a
   position without a rank (not placed on the spectrum) counts as the highest-ranked position
   the open questions could still lead to;
4. cases whose position could still change before stable ones;
5. then by case label and file, so the order is total and the table reproducible.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from engine.answer_forms import for_reasoning
from engine.case import Case, parse_case
from engine.errors import CaseError, Problem
from engine.generated import generated_evaluator
from engine.kb_loader import KnowledgeBase, load
from engine.knowledge import Caution, Position
from engine.report import EngineError, Report, completeness
from engine.whatif import Sweeper, evaluate_partially, next_questions, position_search, robustness

# The knowledge model declares the levels from least to most severe (info, warning, critical).
CAUTION_LEVELS: tuple[str, ...] = tuple(get_args(Caution.model_fields["level"].annotation))
POOL_FROM = 64  # cases; below this a pool costs more to start than it saves


@dataclass(frozen=True)
class Row:
    """One case of the table. `problems` is empty for a case that was assessed."""

    case: str  # the case id, or the file name when the case has none
    source: str  # the file (or other name) the case came from
    position: str | None = None
    position_label: str | None = None
    position_rank: int | None = None
    stable: bool | None = None
    unassessed: tuple[str, ...] = ()  # what is still unassessed, in words
    drivers: tuple[str, ...] = ()
    driver_labels: tuple[str, ...] = ()
    caution_id: str | None = None
    caution_level: str | None = None
    caution_title: str | None = None
    next_question: str | None = None
    next_prompt: str | None = None
    problems: tuple[str, ...] = field(default=())
    reach_rank: int | None = None  # the highest rank the open questions could still lead to

    @property
    def invalid(self) -> bool:
        """Whether the case could not be assessed."""
        return bool(self.problems)


def open_status(kb: KnowledgeBase, report: Report) -> tuple[bool, tuple[str, ...]]:
    """Whether the position is stable, and if not, what is still unassessed, in words.

    The one place that says how complete an assessment is: stable when the source's key markers
    are assessed and no answer to the open questions can move the position; otherwise the key
    markers not yet assessed, or (all assessed) the questions whose answers could still move it,
    most useful first.
    """
    robust = report.explanations.get("robustness") or {}
    return _open_words(kb, report.subject, bool(robust.get("stable")),
                       [m.label for m in report.completeness.unassessed],
                       [(q.id, q.could_change) for q in report.questions], robust.get("pivotal") or ())


def _open_words(kb: KnowledgeBase, subject: str | None, stable: bool, unassessed: Sequence[str],
                ranked: Sequence[tuple[str, Sequence[str]]], pivotal: Iterable[str],
                ) -> tuple[bool, tuple[str, ...]]:
    if stable:
        return True, ()
    if unassessed:
        return False, tuple(unassessed)
    order = {qid: i for i, (qid, _) in enumerate(ranked)}  # most useful first
    pivots = sorted(pivotal, key=lambda q: (order.get(q, len(order)), q))
    ids = tuple(pivots) or tuple(qid for qid, could in ranked if "spectrum" in could)
    return False, tuple(kb.questions[q].wording(subject) for q in ids)


def _reach_rank(kb: KnowledgeBase, report: Report) -> int | None:
    positions = kb.catalogue["spectrum"]
    reachable = (report.explanations.get("robustness") or {}).get("reachable_positions") or ()
    ranks = [p.rank for ident in (report.spectrum.position, *reachable)
             if isinstance(p := positions.get(ident), Position) and p.rank is not None]
    return max(ranks, default=None)


def report_row(kb: KnowledgeBase, report: Report, source: str) -> Row:
    """The row for an assessed case."""
    position = kb.catalogue["spectrum"].get(report.spectrum.position)
    stable, unassessed = open_status(kb, report)
    caution = report.cautions[0] if report.cautions else None  # the report sorts them by level
    nxt = next((q for q in report.questions if q.needed), None)
    return Row(
        case=report.case_id or source,
        source=source,
        position=report.spectrum.position,
        position_label=report.spectrum.label,
        position_rank=position.rank if isinstance(position, Position) else None,
        stable=stable,
        unassessed=unassessed,
        drivers=tuple(report.drivers),
        driver_labels=tuple(kb.catalogue["driver"][d].label for d in report.drivers),
        caution_id=caution.id if caution else None,
        caution_level=caution.level if caution else None,
        caution_title=caution.title if caution else None,
        next_question=nxt.id if nxt else None,
        next_prompt=nxt.prompt if nxt else None,
        reach_rank=_reach_rank(kb, report),
    )


LEVEL_ORDER = {level: i for i, level in enumerate(reversed(CAUTION_LEVELS))}  # most severe first


def settled_row(kb: KnowledgeBase, case: Case, source: str) -> Row:
    """The row for a validated case, computed from what the table shows and nothing more.

    The same row as `report_row` of the full report with explanations (a test holds them
    equal), without building the report: the derived facts come from the generated evaluator
    (held equal to experta and to CLIPS by the tests), then the open questions, the search for
    the positions the open questions could reach, and the pivotal questions only where they
    are what the table names (every key marker assessed, the position not robust).
    """
    case = for_reasoning(kb, case)
    answers = case.answers
    derived = generated_evaluator(kb)(answers)[0]

    def ids(kind: str) -> list[str]:
        prefix = kind + "."
        return sorted(ref[len(prefix):] for ref in derived if ref.startswith(prefix))

    positions = ids("spectrum")
    if len(positions) != 1:
        raise EngineError([Problem(
            "knowledge_base/rules",
            f"the rules gave {len(positions)} spectrum positions "
            f"({', '.join(positions) or 'none'}); exactly one is required")])
    position = kb.catalogue["spectrum"][positions[0]]
    assert isinstance(position, Position)
    marks = completeness(kb, answers)
    ranked = next_questions(kb, answers, evaluate_partially(kb, answers))
    searched = position_search(kb, answers, {position.id})
    robust = len(searched[0]) == 1 and searched[1]
    pivotal: tuple[str, ...] = ()
    if marks.complete and not robust:
        pivotal = robustness(kb, Sweeper(kb, answers), searched=searched).pivotal
    stable, unassessed = _open_words(kb, case.subject, robust and marks.complete,
                                     [m.label for m in marks.unassessed], ranked, pivotal)
    cautions = []
    for ident in ids("caution"):
        entry = kb.catalogue["caution"][ident]
        assert isinstance(entry, Caution)
        cautions.append((LEVEL_ORDER[entry.level], ident, entry))
    caution = min(cautions, key=lambda c: (c[0], c[1]))[2] if cautions else None
    nxt = next((qid for qid, could in ranked if could), None)
    reach = [p.rank for ident, p in kb.catalogue["spectrum"].items()
             if (ident == position.id or ident in searched[0])
             and isinstance(p, Position) and p.rank is not None]
    drivers = ids("driver")
    return Row(
        case=case.case_id or source,
        source=source,
        position=position.id,
        position_label=position.label,
        position_rank=position.rank,
        stable=stable,
        unassessed=unassessed,
        drivers=tuple(drivers),
        driver_labels=tuple(kb.catalogue["driver"][d].label for d in drivers),
        caution_id=caution.id if caution else None,
        caution_level=caution.level if caution else None,
        caution_title=caution.label if caution else None,
        next_question=nxt,
        next_prompt=kb.questions[nxt].wording(case.subject) if nxt else None,
        reach_rank=max(reach, default=None),
    )


def error_row(source: str, problems: Sequence[str], case: str | None = None) -> Row:
    """The row for a case that could not be read or is invalid."""
    return Row(case=case or source, source=source, problems=tuple(problems))


def case_row(kb: KnowledgeBase, source: str, data: Any) -> Row:
    """Validate and assess one case's data; its row (an error row when it is invalid)."""
    try:
        return settled_row(kb, parse_case(data, kb), source)
    except CaseError as exc:
        case_id = data.get("case_id") if isinstance(data, Mapping) else None
        return error_row(source, exc.lines(), case_id if isinstance(case_id, str) else None)


def sort_key(row: Row) -> tuple[Any, ...]:
    """Cases that need attention first (see the module's docstring)."""
    severity = CAUTION_LEVELS.index(row.caution_level) if row.caution_level in CAUTION_LEVELS else -1
    rank = row.position_rank if row.position_rank is not None else row.reach_rank
    return (not row.invalid, -severity, -(rank if rank is not None else -1), bool(row.stable),
            row.case, row.source)


def sort_rows(rows: Sequence[Row]) -> list[Row]:
    """The rows in the table's order."""
    return sorted(rows, key=sort_key)


# ---- a pool of worker processes, one knowledge base each -----------------------------------

_WORKER: KnowledgeBase | None = None
_PARENT: KnowledgeBase | None = None  # the batch's own, for workers forked from this process


def _warm(kb: KnowledgeBase) -> None:
    """Compile what a row needs (the evaluators, the cones), so forked workers inherit it."""
    settled_row(kb, parse_case({"schema_version": 1}, kb), "")


def _start_worker(kb_dir: str, sha256: str) -> None:
    global _WORKER
    if _PARENT is not None and _PARENT.sha256 == sha256:  # forked: a copy of the batch's own
        _WORKER = _PARENT
        return
    kb = load(kb_dir)
    if kb.sha256 != sha256:  # the files changed since the batch started: refuse to mix
        raise RuntimeError("the knowledge base changed while the batch ran")
    generated_evaluator(kb)  # compiled once per worker, before the first case
    _WORKER = kb


def _worker_row(item: tuple[str, Any]) -> Row:
    assert _WORKER is not None, "the pool's initializer did not run"
    return case_row(_WORKER, *item)


def assess_rows(kb: KnowledgeBase, items: Sequence[tuple[str, Any]], kb_dir: Path | str | None = None,
                workers: int | None = None) -> list[Row]:
    """Assess (source, case data) pairs; the rows in input order.

    With `kb_dir` (the knowledge base's directory) and at least POOL_FROM cases, the cases
    are spread over `workers` processes (default: the CPUs), each with its own knowledge base;
    otherwise they run here.
    """
    workers = workers or os.cpu_count() or 1
    if kb_dir is None or workers < 2 or len(items) < POOL_FROM:
        return [case_row(kb, source, data) for source, data in items]
    global _PARENT
    _PARENT = kb
    _warm(kb)
    chunk = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                             initargs=(str(kb_dir), kb.sha256)) as pool:
        return list(pool.map(_worker_row, items, chunksize=chunk))


def batch(kb: KnowledgeBase, items: Sequence[tuple[str, Any]], errors: Sequence[Row] = (),
          kb_dir: Path | str | None = None, workers: int | None = None) -> list[Row]:
    """The intake table: the rows of the cases (and of inputs already refused), sorted."""
    return sort_rows([*errors, *assess_rows(kb, items, kb_dir, workers)])
