"""Speed of the case store (issue 10): saving a draft, and opening a client with 50 assessments.

On an SQLCipher-encrypted SQLite file (a temporary directory) and, when a PostgreSQL URL is
given (`--pg URL`, or DETACHMENT_TEST_PG_URL as scripts/with_postgres.sh sets it), on
PostgreSQL in a schema of its own that is dropped afterwards. A draft save is `merge_draft` in
its own transaction (a locked read and an update), what every answer's rerun adds in the app
(`draft_upsert`: the plain one-statement `save_draft`). Opening a client reads every
assessment's summary and the latest full report, and writes the audit entry. Goals: a draft
save <= 10 ms, opening a client with 50 assessments <= 200 ms.

    bash scripts/with_postgres.sh .venv/bin/python scripts/bench_store.py [--saves 200] [--assessments 50]

The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from engine import new_evaluator
from store.cases import commit_assessment, create_client, merge_draft, open_client, save_draft
from store.db import Store
from tests.store.helpers import AS_OF, CASE

GOAL_DRAFT_MS, GOAL_OPEN_MS = 10.0, 200.0


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def bench(url: URL | str, saves: int, assessments: int) -> dict[str, Any]:
    """Time draft saves and opening a client with `assessments` assessments."""
    store = Store.open(url)
    try:
        create_client(store, "BENCH-1", "bench")
        answers: dict[str, Any] = {"numbness": "present", "declines_comfort": "present",
                                   "situation_specific": "no", "tas20_total": 58}
        times = []
        for i in range(saves):
            answers["tas20_total"] = 20 + i % 80
            t = time.perf_counter()
            save_draft(store, "BENCH-1", answers)
            times.append(time.perf_counter() - t)
        draft = _ms(times)
        # What the app does on an answer's rerun: merge this session's change into the draft.
        base: dict[str, Any] | None = None
        merges = []
        for i in range(saves):
            new = {"answers": {**answers, "tas20_total": 20 + i % 80}, "notes": "", "as_of": "", "step": 1}
            t = time.perf_counter()
            base = merge_draft(store, "BENCH-1", base, new).answers
            merges.append(time.perf_counter() - t)
        merge = _ms(merges)
        ev = new_evaluator()
        for _ in range(assessments):
            commit_assessment(store, "BENCH-1", CASE, AS_OF, "bench", evaluator=ev)
        opens = []
        for _ in range(20):
            t = time.perf_counter()
            record = open_client(store, "BENCH-1", "bench")
            opens.append(time.perf_counter() - t)
        assert len(record.assessments) == assessments
        return {"draft_save": merge, "draft_upsert": draft, "open_client": _ms(opens)}
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--assessments", type=int, default=50)
    parser.add_argument("--pg", default=os.environ.get("DETACHMENT_TEST_PG_URL"))
    args = parser.parse_args()
    results: dict[str, Any] = {"saves": args.saves, "assessments": args.assessments}
    with tempfile.TemporaryDirectory() as tmp:
        url = URL.create("sqlite+pysqlcipher", username="", password="bench key",
                         database=str(Path(tmp) / "bench.db"))
        results["sqlcipher"] = bench(url, args.saves, args.assessments)
    if args.pg:
        base = make_url(args.pg)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            results["postgresql"] = bench(base.update_query_dict({"options": f"-csearch_path={schema}"}),
                                          args.saves, args.assessments)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        results["postgresql"] = None
        print("PostgreSQL: skipped (no --pg URL; run under scripts/with_postgres.sh)")
    ok = True
    for backend in ("sqlcipher", "postgresql"):
        r = results[backend]
        if r is None:
            continue
        d, o = r["draft_save"]["median_ms"], r["open_client"]["median_ms"]
        print(f"{backend}: draft save median {d} ms (p95 {r['draft_save']['p95_ms']} ms; goal <= "
              f"{GOAL_DRAFT_MS:g}), open a client with {args.assessments} assessments median {o} ms "
              f"(p95 {r['open_client']['p95_ms']} ms; goal <= {GOAL_OPEN_MS:g})")
        ok = ok and d <= GOAL_DRAFT_MS and o <= GOAL_OPEN_MS
    results["goals_met"] = ok
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
