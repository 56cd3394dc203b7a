"""The experta run: trace contents, isolation between evaluations and engines, no logging."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from engine import KnowledgeBase, Report, assess, parse_case
from engine.agenda import ExactRemovalDepthStrategy
from engine.inference import Evaluator, engine_class


def test_compiled_engine_uses_the_fixed_agenda_strategy(kb: KnowledgeBase) -> None:
    assert engine_class(kb).__strategy__ is ExactRemovalDepthStrategy
    assert engine_class(kb) is engine_class(kb)  # rule classes are built once per process


def test_trace_records_rule_facts_used_and_asserted(run_case: Callable[..., Report]) -> None:
    report = run_case(timeline={"stressor": "ended", "weeks_since_stressor_ended": 26},
                      findings={"numbness": "present"})
    steps = {s.rule: s for s in report.trace}
    assert steps["course.ended_long_ago"].used == [
        "finding.situation_ended", "weeks_since_stressor_ended = 26", "not finding.bereavement"]
    assert steps["spectrum.maladaptive.outweighs"].used == [
        "finding.persists_beyond_situation", "tally pattern = 1", "tally protection = 0"]
    assert steps["spectrum.maladaptive.outweighs"].asserted == ["spectrum.maladaptive"]
    assert "spectrum.undetermined" not in steps


def test_trace_records_negations_as_used(run_case: Callable[..., Report]) -> None:
    steps = {s.rule: s for s in run_case().trace}
    assert steps["spectrum.undetermined"].used == [
        "tally pattern = 0", "tally protection = 0", "not finding.time_limited",
        "not finding.persists_beyond_situation", "not finding.chronic_partly"]


def test_trace_is_in_causal_order(kb: KnowledgeBase, run_case: Callable[..., Report]) -> None:
    report = run_case(timeline={"stressor": "ongoing"}, criteria={"situation_specific": "yes"})
    strata = [kb.strata[s.rule] for s in report.trace]
    assert strata == sorted(strata)
    position = next(s for s in report.trace if s.rule == "spectrum.adaptive.within")
    assert {"finding.time_limited", "tally protection = 1"} <= set(position.used)
    earlier = {ref for s in report.trace[: report.trace.index(position)] for ref in s.asserted}
    assert {"finding.time_limited", "argument.situation_specific"} <= earlier


def test_a_reused_engine_forgets_the_previous_case(kb: KnowledgeBase, evaluator: Evaluator) -> None:
    heavy = parse_case({"schema_version": 1, "findings": {"numbness": "present"},
                        "timeline": {"stressor": "ended", "weeks_since_stressor_ended": 40}}, kb)
    empty = parse_case({"schema_version": 1}, kb)
    assert assess(heavy, evaluator).spectrum.position == "maladaptive"
    after = assess(empty, evaluator)
    assert after.spectrum.position == "undetermined"
    assert all("numb" not in " ".join(s.used) for s in after.trace)


def test_two_engines_in_threads_keep_their_own_cases(kb: KnowledgeBase) -> None:
    cases = {
        "maladaptive": parse_case({"schema_version": 1, "findings": {"numbness": "present"},
                                   "timeline": {"stressor": "none", "weeks_since_onset": 50}}, kb),
        "adaptive": parse_case({"schema_version": 1, "timeline": {"stressor": "ongoing"},
                                "criteria": {"can_explain_distancing": "yes"}}, kb),
    }
    results: dict[str, list[str]] = {k: [] for k in cases}
    barrier = threading.Barrier(2)

    def work(expected: str) -> None:
        ev = Evaluator(kb)
        barrier.wait()
        for _ in range(40):
            results[expected].append(assess(cases[expected], ev).spectrum.position)

    threads = [threading.Thread(target=work, args=(k,)) for k in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for expected, got in results.items():
        assert got == [expected] * 40


def test_nothing_about_a_case_is_logged(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture, run_case: Callable[..., Report]
) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger().setLevel(logging.DEBUG)
        run_case(findings={"numbness": "present"}, notes="secret-note")
    assert not [r for r in caplog.records if r.name.startswith("experta") or "numb" in r.getMessage()]
