"""Speed of assessment and of assessment with all explanations, over the project's vignettes."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial

from engine.assessment import assess
from engine.case import Case, parse_case
from engine.inference import Evaluator
from engine.kb_loader import KnowledgeBase
from engine.vignettes import default_vignettes


def bench_cases(kb: KnowledgeBase) -> list[Case]:
    """The vignettes' cases plus a case with nothing answered."""
    return [parse_case(v.case, kb) for v in default_vignettes()] + [parse_case({"schema_version": 1}, kb)]


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3)}


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run_bench(kb: KnowledgeBase, repeat: int = 20) -> dict[str, dict[str, float]]:
    """Milliseconds per assessment, and per assessment with all explanations (how, why not,
    single-answer what-ifs, robustness, next questions), on one reused session engine."""
    evaluator = Evaluator(kb)
    cases = bench_cases(kb)
    for case in cases:  # warm-up: compiled rules, generated evaluator, caches
        assess(case, evaluator, explain=True)
    plain: list[float] = []
    explained: list[float] = []
    for _ in range(repeat):
        for case in cases:
            plain.append(_time(partial(assess, case, evaluator)))
            explained.append(_time(partial(assess, case, evaluator, explain=True)))
    return {"assess_ms": _percentiles(plain), "explain_ms": _percentiles(explained),
            "cases": {"count": len(cases), "repeat": repeat}}
