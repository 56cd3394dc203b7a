"""Server-side re-render time of the Streamlit app after changing one answer.

Drives the real `app.py` with Streamlit's AppTest (the script run, the engine with explanations,
and the building of every element, as the server does them; no browser, no network). For each
scenario one answer is flipped between two values, so every run is a fresh assessment (the
session's memo never hits), and the time of the rerun that follows is recorded.

    .venv/bin/python scripts/bench_app.py [--runs 40] [--vignette ID]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from engine import KnowledgeBase, default_knowledge_base, parse_case  # noqa: E402
from engine.vignettes import Vignette, default_vignettes  # noqa: E402
from ui.form import form_steps  # noqa: E402
from ui.state import Workspace  # noqa: E402

TARGET_MS = 200.0


def _checked(at: AppTest) -> AppTest:
    if at.exception:
        raise SystemExit(f"the page raised: {[e.value for e in at.exception]}")
    return at


def _session(v: Vignette, page: str) -> AppTest:
    at = _checked(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run())
    _checked(at.switch_page("ui/case_io.py").run())
    at.file_uploader(key="io_client_upload").upload(f"{v.id}.json", json.dumps(v.case).encode(),
                                                    "application/json")
    _checked(at.run())
    return _checked(at.switch_page(f"ui/{page}.py").run())


def _finding(kb: KnowledgeBase, v: Vignette, page_keys: set[str] | None = None) -> str:
    """A finding question to flip: one the vignette leaves open (so both values change the case)."""
    answers = parse_case(v.case, kb).answers
    for q in kb.questions.values():
        if q.section == "findings" and q.id not in answers \
                and (page_keys is None or f"q_{q.id}" in page_keys):
            return q.id
    raise SystemExit("no open finding to flip")


def _time(at: AppTest, change: Callable[[int], None], runs: int) -> list[float]:
    out = []
    ws = at.session_state["workspace_client"]
    for i in range(runs + 3):
        change(i)
        ws._memo.clear()  # a real change gives a case the session has not assessed yet
        start = time.perf_counter()
        _checked(at.run())
        if i >= 3:  # the first runs warm caches (imports, compiled rules)
            out.append((time.perf_counter() - start) * 1000)
    return out


def _flip(at: AppTest, qid: str, kb: KnowledgeBase | None = None) -> Callable[[int], None]:
    """Alternate one choice question between two of its answers."""
    kb = kb or default_knowledge_base()
    a, b = [o for o in kb.questions[qid].allowed_options() if o != "unknown"][:2]
    key = f"q_{qid}"

    def change(i: int) -> None:
        widget = at.radio(key=key) if key in [r.key for r in at.radio] else at.selectbox(key=key)
        widget.set_value(a if i % 2 == 0 else b)

    return change


def bench_assessment(kb: KnowledgeBase, v: Vignette, runs: int) -> list[float]:
    """Assessment page: click one answer in the current step (the provisional position updates)."""
    at = _session(v, "assessment")
    qid = _finding(kb, v)
    steps = form_steps(Workspace("client", "q_"), kb)
    at.radio(key="q__step").set_value(
        next(i for i, (_, qs) in enumerate(steps) if any(q.id == qid for q in qs)))
    _checked(at.run())
    return _time(at, _flip(at, qid), runs)


def bench_results(kb: KnowledgeBase, v: Vignette, runs: int) -> list[float]:
    """Results page: one answer changed, the whole report with explanations drawn again."""
    at = _session(v, "results")
    qid = _finding(kb, v)
    ws = at.session_state["workspace_client"]

    def change(i: int) -> None:
        ws.answers[qid] = "present" if i % 2 == 0 else "absent"

    return _time(at, change, runs)


def bench_triage(kb: KnowledgeBase, v: Vignette, runs: int) -> list[float]:
    """Quick triage: answer the top-ranked question; the result and the ranking update."""
    at = _session(v, "triage")
    shown = [w.key[2:] for kind in ("radio", "selectbox") for w in getattr(at, kind)
             if w.key.startswith("q_")]
    if not shown:
        raise SystemExit("triage shows no question for this vignette")
    return _time(at, _flip(at, shown[0], kb), runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--vignette", help="vignette id (default: the one with the most answers)")
    args = parser.parse_args(argv)
    kb = default_knowledge_base()
    vignettes = default_vignettes()
    v = (next(x for x in vignettes if x.id == args.vignette) if args.vignette
         else max(vignettes, key=lambda x: (len(parse_case(x.case, kb).answers), x.id)))
    print(f"vignette {v.id} ({len(parse_case(v.case, kb).answers)} answers), {args.runs} runs each, "
          f"{len(kb.rules)} rules, {len(kb.questions)} questions")
    print(f"{'scenario':<12}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}")
    worst = 0.0
    for name, bench in (("assessment", bench_assessment), ("results", bench_results),
                        ("triage", bench_triage)):
        times = sorted(bench(kb, v, args.runs))
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        print(f"{name:<12}{statistics.median(times):>11.1f}{p95:>9.1f}{times[-1]:>9.1f}")
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"p95 {verdict} the {TARGET_MS:.0f} ms target")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
