"""The intake table: many cases in, one row each out, the cases that need attention first.

Pure: case data in, rows out (reading the files and rendering the table are the CLI's and
`engine.batch_table`'s). A case that is invalid gets its row with the problems and the others
still come. Large batches run on a process pool: experta engines are not thread-safe, so each
worker process builds its own Evaluator once (in the pool's initializer) and is sent plain
case dicts, in chunks.

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
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from engine.assessment import assess
from engine.case import parse_case
from engine.errors import CaseError
from engine.inference import Evaluator
from engine.kb_loader import KnowledgeBase, load
from engine.knowledge import Caution, Position
from engine.report import Report

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
    if robust.get("stable"):
        return True, ()
    if report.completeness.unassessed:
        return False, tuple(m.label for m in report.completeness.unassessed)
    ranked = {q.id: i for i, q in enumerate(report.questions)}  # most useful first
    pivotal = sorted(robust.get("pivotal") or (), key=lambda q: (ranked.get(q, len(ranked)), q))
    ids = tuple(pivotal) or tuple(q.id for q in report.questions if "spectrum" in q.could_change)
    return False, tuple(kb.questions[q].wording(report.subject) for q in ids)


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


def error_row(source: str, problems: Sequence[str], case: str | None = None) -> Row:
    """The row for a case that could not be read or is invalid."""
    return Row(case=case or source, source=source, problems=tuple(problems))


def case_row(kb: KnowledgeBase, evaluator: Evaluator, source: str, data: Any) -> Row:
    """Validate and assess one case's data; its row (an error row when it is invalid)."""
    try:
        case = parse_case(data, kb)
        report = assess(case, evaluator, explain=True)
    except CaseError as exc:
        case_id = data.get("case_id") if isinstance(data, Mapping) else None
        return error_row(source, exc.lines(), case_id if isinstance(case_id, str) else None)
    return report_row(kb, report, source)


def sort_key(row: Row) -> tuple[Any, ...]:
    """Cases that need attention first (see the module's docstring)."""
    severity = CAUTION_LEVELS.index(row.caution_level) if row.caution_level in CAUTION_LEVELS else -1
    rank = row.position_rank if row.position_rank is not None else row.reach_rank
    return (not row.invalid, -severity, -(rank if rank is not None else -1), bool(row.stable),
            row.case, row.source)


def sort_rows(rows: Sequence[Row]) -> list[Row]:
    """The rows in the table's order."""
    return sorted(rows, key=sort_key)


# ---- a pool of worker processes, one Evaluator each ---------------------------------------

_WORKER: tuple[KnowledgeBase, Evaluator] | None = None


def _start_worker(kb_dir: str, sha256: str) -> None:
    global _WORKER
    kb = load(kb_dir)
    if kb.sha256 != sha256:  # the files changed since the batch started: refuse to mix
        raise RuntimeError("the knowledge base changed while the batch ran")
    _WORKER = (kb, Evaluator(kb))


def _worker_row(item: tuple[str, Any]) -> Row:
    assert _WORKER is not None, "the pool's initializer did not run"
    kb, evaluator = _WORKER
    return case_row(kb, evaluator, *item)


def assess_rows(kb: KnowledgeBase, items: Sequence[tuple[str, Any]], kb_dir: Path | str | None = None,
                workers: int | None = None) -> list[Row]:
    """Assess (source, case data) pairs; the rows in input order.

    With `kb_dir` (the knowledge base's directory) and at least POOL_FROM cases, the cases
    are spread over `workers` processes (default: the CPUs), each with its own knowledge base
    and Evaluator; otherwise they run here on one Evaluator.
    """
    workers = workers or os.cpu_count() or 1
    if kb_dir is None or workers < 2 or len(items) < POOL_FROM:
        evaluator = Evaluator(kb)
        return [case_row(kb, evaluator, source, data) for source, data in items]
    chunk = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                             initargs=(str(kb_dir), kb.sha256)) as pool:
        return list(pool.map(_worker_row, items, chunksize=chunk))


def batch(kb: KnowledgeBase, items: Sequence[tuple[str, Any]], errors: Sequence[Row] = (),
          kb_dir: Path | str | None = None, workers: int | None = None) -> list[Row]:
    """The intake table: the rows of the cases (and of inputs already refused), sorted."""
    return sort_rows([*errors, *assess_rows(kb, items, kb_dir, workers)])
