"""What saving the draft adds to an answer's rerun (issue 10: at most 10 ms).

Two sessions of the real `app.py` in one process (Streamlit's AppTest: the script run, the
engine and every element, as the server does them): one with a client open in the case store,
whose every answer change saves the draft, one with no client open. Both change the same answer
back and forth on the assessment page, interleaved, so the machine's load falls on both alike;
the figure is the difference of their median rerun times.

    .venv/bin/python scripts/bench_autosave.py [--runs 40] [--url STORE_URL]

Without --url the store is a new encrypted SQLCipher file in a temporary directory (the app's
default kind of store); give a PostgreSQL URL to time that instead. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 10.0


def main(argv: list[str] | None = None) -> None:
    """Time both sessions' reruns, interleaved; print the medians and the difference."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--url", help="a store URL (default: a new SQLCipher file)")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    from store.db import KEY_ENV, URL_ENV
    os.environ[URL_ENV] = args.url or f"sqlite+pysqlcipher://:bench-key@/{Path(tmp.name) / 'cases.db'}"
    os.environ.setdefault(KEY_ENV, "bench-key")

    from streamlit.testing.v1 import AppTest

    from engine import default_knowledge_base
    from store import cases
    from store.db import Store
    from ui import persistence
    from ui.form import form_steps
    from ui.state import Workspace

    kb = default_knowledge_base()
    code = f"BENCH-{os.getpid()}"
    with Store.open(os.environ[URL_ENV]) as st:
        cases.create_client(st, code, "bench")
    step = next(i for i, (_, qs) in enumerate(form_steps(Workspace("client", "q_"), kb))
                if any(q.id == "numbness" for q in qs))

    def session(with_client: bool) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if with_client:
            at.query_params[persistence.QUERY] = code
        at.run()
        at.radio(key="q__step").set_value(step)
        at.run()
        if at.exception:
            raise SystemExit(f"the page raised: {[e.value for e in at.exception]}")
        return at

    saved_ms: list[float] = []
    real_merge = cases.merge_draft

    def timed_merge(*a: object, **k: object) -> object:  # the save itself, inside the rerun
        start = time.perf_counter()
        try:
            return real_merge(*a, **k)  # type: ignore[arg-type]
        finally:
            saved_ms.append((time.perf_counter() - start) * 1000)

    cases.merge_draft = timed_merge  # type: ignore[assignment]
    saving, plain = session(True), session(False)
    saved_ms.clear()
    if saving.session_state[persistence.OPEN_KEY] != code:
        raise SystemExit("the client did not open in the store session")

    def answer(at: AppTest, value: str) -> None:
        radios = [r.key for r in at.radio]
        widget = at.radio(key="q_numbness") if "q_numbness" in radios else at.selectbox(key="q_numbness")
        widget.set_value(value)
    times: dict[str, list[float]] = {"with_autosave": [], "without": []}
    for i in range(args.runs):
        value = "present" if i % 2 else "absent"
        for name, at in (("with_autosave", saving), ("without", plain)):
            answer(at, value)
            start = time.perf_counter()
            at.run()
            times[name].append((time.perf_counter() - start) * 1000)
            if at.exception:
                raise SystemExit(f"the page raised: {[e.value for e in at.exception]}")
    with Store.open(os.environ[URL_ENV]) as st:
        draft = cases.load_draft(st, code)
        dialect = st.engine.dialect.name
    if draft is None or "numbness" not in draft.answers.get("answers", {}):
        raise SystemExit("the draft was not saved: the figure would mean nothing")
    med = {k: statistics.median(v) for k, v in times.items()}
    added = med["with_autosave"] - med["without"]
    save = statistics.median(saved_ms) if saved_ms else float("nan")
    print(f"rerun after an answer, median of {args.runs}: with autosave {med['with_autosave']:.1f} ms, "
          f"without {med['without']:.1f} ms; saving adds {added:.1f} ms (target <= {TARGET_MS:.0f} ms), "
          f"of which the save itself {save:.1f} ms ({len(saved_ms)} saves)")
    print(json.dumps({"runs": args.runs, "store": dialect,
                      "rerun_with_autosave_p50_ms": round(med["with_autosave"], 1),
                      "rerun_without_p50_ms": round(med["without"], 1),
                      "autosave_adds_ms": round(added, 1),
                      "save_itself_p50_ms": round(save, 2), "saves": len(saved_ms), "target_ms": TARGET_MS,
                      "meets_target": added <= TARGET_MS}))
    tmp.cleanup()


if __name__ == "__main__":
    main()
