"""Answers given as dates or categories: counted at the assessment date, reproducible "as of"."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from engine import CaseError, KnowledgeBase, assess, parse_case
from engine.answer_forms import for_reasoning

ROOT = Path(__file__).resolve().parent.parent
ENDED_ON = {"schema_version": 1, "timeline": {"stressor": "ended", "stressor_ended_date": "2026-01-05"}}


def test_a_date_is_counted_in_whole_weeks_at_the_case_as_of(kb: KnowledgeBase) -> None:
    case = parse_case({**ENDED_ON, "as_of": "2026-02-02"}, kb)
    assert case.answers["weeks_since_stressor_ended"] == 4
    assert case.from_dates == frozenset({"weeks_since_stressor_ended"})
    assert assess(case).as_of == "2026-02-02"


def test_the_same_case_as_of_a_later_date_needs_no_retyping(kb: KnowledgeBase) -> None:
    case = parse_case({**ENDED_ON, "as_of": "2026-02-02"}, kb, )
    early, later = assess(case), assess(case, as_of=date(2026, 6, 1))
    assert "finding.aftermath" in {a for s in early.trace for a in s.asserted}
    assert "finding.persists_beyond_situation" in {a for s in later.trace for a in s.asserted}
    assert for_reasoning(kb, case, date(2026, 6, 1)).answers["weeks_since_stressor_ended"] == 21


def test_a_number_given_directly_wins_over_a_date(kb: KnowledgeBase) -> None:
    data = {**ENDED_ON, "as_of": "2026-06-01"}
    data["timeline"] = {**data["timeline"], "weeks_since_stressor_ended": 3}
    assert parse_case(data, kb).answers["weeks_since_stressor_ended"] == 3


def test_dates_without_an_assessment_date_are_refused_by_name(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseError) as exc:
        assess(parse_case(ENDED_ON, kb))
    assert exc.value.lines()[0].startswith("as_of: is required when the timeline gives dates")


def test_a_date_after_the_assessment_date_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseError) as exc:
        parse_case({**ENDED_ON, "as_of": "2025-12-01"}, kb)
    assert exc.value.lines() == ["timeline.stressor_ended_date: is after the assessment date (2025-12-01)"]


def test_a_malformed_date_names_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseError) as exc:
        parse_case({"schema_version": 1, "timeline": {"onset_date": "last spring"}}, kb)
    assert exc.value.lines()[0].startswith("timeline.onset_date: must be a date written YYYY-MM-DD")


def test_the_cli_counts_dates_to_today_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(ENDED_ON), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "engine", "assess", str(path)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["as_of"] == date.today().isoformat()


def test_a_category_decides_a_threshold_when_its_range_is_on_one_side(kb: KnowledgeBase) -> None:
    def position(**timeline: object) -> str:
        return assess(parse_case({"schema_version": 1, "timeline": timeline,
                                  "findings": {"numbness": "present"}}, kb)).spectrum.position

    assert position(stressor="ended", since_ended="weeks") == "at_risk"          # within the aftermath
    assert position(stressor="ended", since_ended="months") == "maladaptive"     # months later
    assert position(stressor="ended", since_ended="months", weeks_since_stressor_ended=4) == "at_risk"
