"""Speed of the intake table (issue 10, item 5): N random valid cases, pool of workers, table.

Random cases are drawn (seeded) from the question catalogue as the test strategies do: each
question omitted or given a valid answer. The figure is the wall time of `engine.batch.batch`
(validation, assessment with explanations, order) plus rendering the table, on a pool of
`--workers` processes (the pool's start included), beside one worker on a slice of the same
cases for comparison. Goal: 1,000 cases in <= 5 s on 2 cores.

    .venv/bin/python scripts/bench_batch.py [--cases 1000] [--workers 2] [--format csv]

The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import KnowledgeBase, default_knowledge_base
from engine.batch import assess_rows, batch
from engine.batch_table import render_table
from engine.case import ANSWER_SECTIONS
from engine.kb_loader import DEFAULT_DIR
from engine.knowledge import Question

AS_OF = date(2026, 6, 1)
GOAL_SECONDS, GOAL_CASES = 5.0, 1000


def _value(q: Question, rng: random.Random) -> Any:
    if q.kind == "date":
        return (AS_OF - timedelta(days=rng.randint(0, 3000))).isoformat()
    if q.kind == "integer":
        low = q.minimum or 0
        high = q.maximum if q.maximum is not None else low + 1000
        return rng.randint(low, min(high, low + 40) if rng.random() < 0.5 else high)
    return rng.choice(q.allowed_options())


def random_case(kb: KnowledgeBase, rng: random.Random, index: int) -> dict[str, Any]:
    """One valid case file: every question omitted or answered at random."""
    answers: dict[str, Any] = {}
    for q in kb.questions.values():
        if q.section != "subject" and not q.requires and q.kind in ("choice", "integer", "date") \
                and rng.random() < 0.5:
            answers[q.id] = _value(q, rng)
    for q in kb.questions.values():
        if q.requires and all(answers.get(k) in v for k, v in q.requires.items()) and rng.random() < 0.5:
            answers[q.id] = _value(q, rng)
    data: dict[str, Any] = {"schema_version": 1, "case_id": f"R-{index:05d}", "as_of": AS_OF.isoformat()}
    for section in ANSWER_SECTIONS:
        values = {q.id: answers[q.id] for q in kb.questions_in(section) if q.id in answers}
        if values:
            data[section] = values
    return data


def main() -> int:
    """Time the pool, then one worker on a slice; print the figures, JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=GOAL_CASES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--serial", type=int, default=100, help="cases timed on one worker")
    parser.add_argument("--format", default="csv", choices=["csv", "json", "markdown", "html"])
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    kb = default_knowledge_base()
    rng = random.Random(args.seed)
    items = [(f"case-{i:05d}.yaml", random_case(kb, rng, i)) for i in range(args.cases)]

    start = time.perf_counter()
    rows = batch(kb, items, kb_dir=DEFAULT_DIR, workers=args.workers)
    table = render_table(rows, args.format, kb)  # type: ignore[arg-type]
    pool_s = time.perf_counter() - start
    invalid = sum(r.invalid for r in rows)

    start = time.perf_counter()
    assess_rows(kb, items[:args.serial], kb_dir=None)
    serial_per_case = (time.perf_counter() - start) / max(1, args.serial)

    per_case_ms = pool_s / args.cases * 1000
    print(f"{args.cases} cases on {args.workers} workers, {args.format} table of {len(table) // 1000} KB: "
          f"{pool_s:.2f} s ({per_case_ms:.2f} ms a case); one worker: {serial_per_case * 1000:.2f} ms a "
          f"case; speed-up {serial_per_case * 1000 / per_case_ms:.2f}x; invalid rows: {invalid}")
    scaled = pool_s * GOAL_CASES / args.cases
    print(json.dumps({"cases": args.cases, "workers": args.workers, "seconds": round(pool_s, 3),
                      "ms_per_case": round(per_case_ms, 3),
                      "serial_ms_per_case": round(serial_per_case * 1000, 3),
                      "invalid": invalid, "goal_seconds_per_1000": GOAL_SECONDS,
                      "ok": invalid == 0 and scaled <= GOAL_SECONDS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
