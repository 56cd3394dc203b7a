"""The inference graph (issue 11, item 8): layered left to right, the overview collapsed to one node
per group until expanded, the case's path marked by shape and label, not by colour alone."""

from __future__ import annotations

import re

from engine import KnowledgeBase, assess, parse_case
from engine.vignettes import default_vignettes
from ui.graph import inference_dot, overview_dot, overview_groups


def test_overview_is_one_node_per_group_until_expanded(kb: KnowledgeBase) -> None:
    collapsed = overview_dot(kb)
    assert "rankdir=LR" in collapsed
    assert '"group.findings"' in collapsed and '"group.spectrum"' in collapsed
    assert not re.search(r'"finding\.[a-z_]+"', collapsed)
    expanded = overview_dot(kb, ["findings"])
    assert re.search(r'"finding\.[a-z_]+"', expanded) and '"group.findings"' not in expanded
    assert '"group.spectrum"' in expanded
    assert set(overview_groups(kb)) >= {"findings", "spectrum", "driver", "formulation", "origin"}
    assert collapsed.count("->") < expanded.count("->")


def test_the_case_path_is_marked_by_shape_and_label(kb: KnowledgeBase) -> None:
    v = next(x for x in default_vignettes() if x.id == "complex_trauma")
    report = assess(parse_case(v.case, kb))
    fired = {s.rule for s in report.trace}
    reached = {f"question.{q}" for q in report.answers} | {a for s in report.trace for a in s.asserted}
    dot = inference_dot(kb, [r for r in kb.rules if r.id in fired], highlight=fired, reached=reached)
    position = f"spectrum.{report.spectrum.position}"
    line = next(x for x in dot.splitlines() if x.startswith(f'"{position}" ['))
    assert "peripheries=2" in line and "✓" in line
    rule = next(x for x in dot.splitlines() if x.startswith(f'"rule:{report.trace[0].rule}" ['))
    assert "peripheries=2" in rule and "✓" in rule
    plain = inference_dot(kb, [r for r in kb.rules if r.id in fired])
    assert "peripheries=2" not in plain and "✓" not in plain
