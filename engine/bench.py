"""Speed of assessment and of explanations over the project's vignettes, case by case.

Each phase is its own loop (assessment alone; the explanations alone, on the assessed run;
the explanations with pairs of answers), so a run shows where the time goes, and each case
has its own median: cases differ in cost, and pooled samples hide which one is slow.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from engine.answer_forms import for_reasoning
from engine.assessment import assess
from engine.case import Case, parse_case
from engine.explain import add_explanations
from engine.inference import Evaluator
from engine.kb_loader import KnowledgeBase
from engine.report import build_report
from engine.vignettes import default_vignettes


def bench_cases(kb: KnowledgeBase) -> list[tuple[str, Case]]:
    """The vignettes' cases (by id) plus a case with nothing answered."""
    cases = [(v.id, parse_case(v.case, kb)) for v in default_vignettes()]
    return [*cases, ("(nothing answered)", parse_case({"schema_version": 1}, kb))]


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3),
            "max": round(ordered[-1], 3)}


def _time(fn: Callable[[], object]) -> float:
    # CPU time of this process: on a shared machine, wall time also counts other programs.
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def _fresh_engines(kb: KnowledgeBase, count: int) -> dict[str, float]:
    """CPU milliseconds to make a new session's engine (its own copy of the network built once
    per process, issue 13): p50 / p95 / max of `count`, and the mean with the garbage
    collection of those engines included. An engine's network holds reference cycles (nodes and
    their activations), so a dropped engine is freed by the cyclic collector, in one collection
    of many engines that lands on whichever sample triggers it: p95 and max show those."""
    gc.collect()
    start = time.process_time()
    samples = [_time(partial(Evaluator, kb)) for _ in range(count)]
    gc.collect()
    mean = (time.process_time() - start) * 1000 / count
    return {**_percentiles(samples), "mean_with_collection": round(mean, 3)}


def run_bench(kb: KnowledgeBase, repeat: int = 20) -> dict[str, Any]:
    """CPU milliseconds per case for each phase, on one reused session engine: the assessment
    (`assess`), the explanations of an assessed case (how, why not, single-answer what-ifs,
    robustness, next questions), and the explanations with pairs of answers. For each phase,
    the spread of the cases' own medians (p50, p95, max over cases) and each case's median; and
    the making of a fresh engine (`fresh_engine_ms`, p50 / p95 / max over `repeat` x 5)."""
    evaluator = Evaluator(kb)
    cases = bench_cases(kb)
    prepared = []
    for name, case in cases:  # warm-up: compiled rules, generated evaluators, caches
        reasoned = for_reasoning(kb, case)
        run = evaluator.run(reasoned)
        report = build_report(kb, reasoned, run)
        add_explanations(report, reasoned, evaluator, run, pairs=True)
        prepared.append((name, case, reasoned, run, report))

    phases: dict[str, Callable[[Case, Case, Any, Any], object]] = {
        "assess_ms": lambda case, reasoned, run, report: assess(case, evaluator),
        "explain_ms": lambda case, reasoned, run, report: add_explanations(
            report, reasoned, evaluator, run),
        "explain_pairs_ms": lambda case, reasoned, run, report: add_explanations(
            report, reasoned, evaluator, run, pairs=True),
    }
    out: dict[str, Any] = {}
    per_case: dict[str, dict[str, float]] = {name: {} for name, *_ in prepared}
    for phase, fn in phases.items():
        samples: dict[str, list[float]] = {name: [] for name, *_ in prepared}
        for _ in range(repeat):
            for name, case, reasoned, run, report in prepared:
                samples[name].append(_time(partial(fn, case, reasoned, run, report)))
        medians = {name: statistics.median(s) for name, s in samples.items()}
        out[phase] = _percentiles(list(medians.values()))
        for name, m in medians.items():
            per_case[name][phase] = round(m, 3)
    out["fresh_engine_ms"] = _fresh_engines(kb, repeat * 5)
    out["cases"] = {"count": len(cases), "repeat": repeat, "per_case": per_case}
    return out
