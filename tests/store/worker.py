"""A separate process writing to the store (for the crash and concurrency tests).

    python -m tests.store.worker URL CODE COUNT [--pause-at N] [--drafts M]

Commits COUNT assessments to the client CODE, printing "committed V" after each, and saves
the draft M times. With --pause-at N it stops inside the N-th commit's transaction (after the
assessment row is written, before the audit entry and the commit), prints "inside", and waits
to be killed.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from store import audit, cases
from store.db import Store
from tests.store.helpers import AS_OF, CASE


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("code")
    parser.add_argument("count", type=int)
    parser.add_argument("--pause-at", type=int)
    parser.add_argument("--drafts", type=int, default=0)
    parser.add_argument("--actor", default="worker")
    parser.add_argument("--merge", action="store_true", help="save drafts by merging own answers")
    args = parser.parse_args()
    store = Store.open(args.url, migrate=False)
    cases.ensure_client(store, args.code, args.actor)
    commits = 0
    real_append = audit.append

    def append(s: Any, action: str, *rest: Any, **kw: Any) -> Any:
        if action == "commit" and args.pause_at == commits + 1:
            print("inside", flush=True)
            time.sleep(600)
        return real_append(s, action, *rest, **kw)

    audit.append = append  # type: ignore[assignment]
    base: dict[str, Any] | None = None
    mine: dict[str, Any] = {}
    for i in range(max(args.count, args.drafts)):
        if i < args.drafts and args.merge:
            mine[f"{args.actor}_{i}"] = i
            new = {**(base or {"answers": {}}), "answers": {**(base or {}).get("answers", {}), **mine}}
            base = cases.merge_draft(store, args.code, base, new).answers
        elif i < args.drafts:
            cases.save_draft(store, args.code, {"numbness": "present", "writer": args.actor, "i": i})
        if i < args.count:
            info = cases.commit_assessment(store, args.code, CASE, AS_OF, args.actor)
            commits += 1
            print(f"committed {info.version}", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
