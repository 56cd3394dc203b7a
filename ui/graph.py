"""The inference graph as Graphviz DOT: answers -> findings -> conclusions -> advice.

Rendered in the browser by Streamlit's bundled Graphviz (WASM), with no external request. Each
rule is a small node joining its conditions (all must hold) to what it asserts; shapes and
layers, not only colours, tell the kinds apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine import KnowledgeBase
from engine.knowledge import Holds, Rule, TallyRange
from ui.words import KIND_NAMES, ref_label

LAYERS = (
    ("answers", "Answers", ("question",)),
    ("findings", "Findings", ("finding",)),
    ("conclusions", "Conclusions", ("spectrum", "driver", "formulation", "origin")),
    ("advice", "Advice and checks", ("recommendation", "caution", "reflection", "measure",
                                     "interpretation", "inconsistency")),
)
SHAPES = {"question": "note", "finding": "ellipse", "spectrum": "doubleoctagon", "driver": "hexagon",
          "formulation": "hexagon", "origin": "hexagon", "recommendation": "box",
          "caution": "box", "reflection": "box", "measure": "box", "interpretation": "box",
          "inconsistency": "box"}
FILLS = {"question": "#f3f4f6", "finding": "#e0f2fe", "spectrum": "#fde68a", "driver": "#fce7f3",
         "formulation": "#fce7f3", "origin": "#fce7f3", "recommendation": "#dcfce7",
         "caution": "#fee2e2", "reflection": "#ede9fe", "measure": "#e0e7ff",
         "interpretation": "#e0e7ff", "inconsistency": "#fef3c7"}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _short(text: str, width: int = 28) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    out = "\\n".join(x.replace("\\", "\\\\").replace('"', '\\"') for x in lines[:3])
    return '"' + out + ("…" if len(lines) > 3 else "") + '"'


def inference_dot(kb: KnowledgeBase, rules: Iterable[Rule], highlight: Iterable[str] = (),
                  focus: str | None = None, reached: Iterable[str] = ()) -> str:
    """DOT for the given rules, layered left to right (answers, findings, conclusions, advice).

    Rules in `highlight` (the ones that fired) and the facts in `reached` (answers given, facts
    derived: 'question.<id>' or 'kind.id') are the case's path: drawn with a double outline, a
    bold line and a "✓" in their label, not by colour alone. The `focus` fact has a heavy outline.
    """
    rules = list(rules)
    bold = set(highlight)
    on_path = set(reached)
    nodes: dict[str, str] = {}   # node id -> kind
    edges: list[str] = []

    def node(kind: str, ident: str) -> str:
        nid = f"{kind}.{ident}"
        nodes.setdefault(nid, kind)
        return nid

    for rule in rules:
        rid = f"rule:{rule.id}"
        style = "bold" if rule.id in bold else "solid"
        fired = rule.id in bold and bool(on_path)
        title = ("✓ " if fired else "") + rule.title
        marks = 'fillcolor="#fef9c3", peripheries=2, ' if fired else "fillcolor=white, "
        edges.append(f"{_q(rid)} [shape=box, style=\"rounded,{style}\", fontsize=8, {marks}"
                     f"label={_short(title, 26)}, tooltip={_q(rule.title)}, "
                     'margin="0.04,0.02"];')
        for cond in rule.when:
            if isinstance(cond, Holds):
                srcs = [node(*cond.fact.split(".", 1))]
            elif isinstance(cond, TallyRange):
                srcs = [node(*ref.split(".", 1)) for ref in sorted(kb.tally_reads(cond))]
            else:
                srcs = [node("question", cond.answer)]
            edges.extend(f"{_q(src)} -> {_q(rid)} [style={style}];" for src in srcs)
        for ref in rule.unless:
            src = node(*ref.split(".", 1))
            edges.append(f"{_q(src)} -> {_q(rid)} [style=dashed, label=\"unless\", fontsize=8];")
        for ref in rule.then:
            edges.append(f"{_q(rid)} -> {_q(node(*ref.split('.', 1)))} [style={style}];")

    lines = ["digraph inference {", "rankdir=LR; nodesep=0.15; ranksep=0.5;",
             'node [fontname="Helvetica", fontsize=10, style=filled, color="#374151"];',
             'edge [color="#6b7280", arrowsize=0.6];']
    for layer, title, kinds in LAYERS:
        members = [n for n, k in nodes.items() if k in kinds]
        if not members:
            continue
        lines.append(f"subgraph cluster_{layer} {{ label={_q(title)}; style=dashed; color=\"#9ca3af\";")
        for nid in members:
            kind = nodes[nid]
            ident = nid.split(".", 1)[1]
            text = (kb.questions[ident].prompt if kind == "question" and ident in kb.questions
                    else ref_label(kb, nid))
            fill = FILLS.get(kind, "#ffffff")
            pen = "penwidth=3, " if nid == focus else ""
            if nid in on_path:
                pen += "peripheries=2, "
                text = "✓ " + text
            elif on_path:
                pen += 'fontcolor="#4b5563", style="filled,dashed", '
            lines.append(f"{_q(nid)} [{pen}shape={SHAPES.get(kind, 'box')}, fillcolor=\"{fill}\", "
                         f"label={_short(text)}, tooltip={_q(text)}];")
        lines.append("}")
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines)


def related_rules(kb: KnowledgeBase, ref: str) -> list[Rule]:
    """The rules behind a fact (upstream through what they require) and the rules that read it.

    `unless` facts are drawn but not followed upstream: the reasons for what must *not* hold
    would pull in most of the knowledge base.
    """
    asserting: dict[str, list[Rule]] = {}
    for rule in kb.rules:
        for out in rule.then:
            asserting.setdefault(out, []).append(rule)
    chosen: dict[str, Rule] = {}
    todo = [ref]
    while todo:
        fact = todo.pop()
        for rule in asserting.get(fact, []):
            if rule.id not in chosen:
                chosen[rule.id] = rule
                todo.extend(kb.reads(rule) - set(rule.unless))
    for rule in kb.rules:
        if ref in kb.reads(rule):
            chosen.setdefault(rule.id, rule)
    return sorted(chosen.values(), key=lambda r: r.id)


GROUPS = {"findings": "Findings", "spectrum": "Spectrum positions", "driver": "Drivers",
          "formulation": "Formulations", "origin": "Likely origins"}


def overview_groups(kb: KnowledgeBase) -> dict[str, str]:
    """The overview's collapsible groups (besides the answers' form steps and the advice kinds)."""
    return dict(GROUPS)


def overview_dot(kb: KnowledgeBase, expanded: Iterable[str] = ()) -> str:
    """The whole knowledge base at a glance, left to right: answers grouped by form step, then one
    node per group of findings and of each kind of conclusion (each group listed one by one when
    in `expanded`), then advice grouped by kind, joined wherever some rule joins them."""
    step_of = {q.id: q.step for q in kb.questions.values()}
    step_label = {s.id: s.label for s in kb.steps}
    conclusion_kinds = LAYERS[2][2]
    advice_kinds = LAYERS[3][2]
    open_groups = set(expanded)
    nodes: dict[str, tuple[str, str]] = {}   # node id -> (layer, label)
    counts: dict[str, set[str]] = {}

    def node_for(kind: str, ident: str) -> str:
        if kind == "question":
            step = step_of.get(ident, "other")
            nid = f"step.{step}"
            counts.setdefault(nid, set()).add(ident)
            nodes[nid] = ("answers", step_label.get(step, step))
        elif kind in advice_kinds:
            nid = f"advice.{kind}"
            counts.setdefault(nid, set()).add(ident)
            nodes[nid] = ("advice", KIND_NAMES.get(kind, kind))
        else:
            group = kind if kind in conclusion_kinds else "findings"
            layer = "conclusions" if kind in conclusion_kinds else "findings"
            if group in open_groups:
                nid = f"{kind}.{ident}"
                nodes[nid] = (layer, ref_label(kb, nid))
            else:
                nid = f"group.{group}"
                counts.setdefault(nid, set()).add(f"{kind}.{ident}")
                nodes[nid] = (layer, GROUPS.get(group, group))
        return nid

    edges: set[tuple[str, str]] = set()
    for rule in kb.rules:
        sources = []
        for cond in rule.when:
            if isinstance(cond, Holds):
                sources.append(node_for(*cond.fact.split(".", 1)))
            elif isinstance(cond, TallyRange):
                sources.extend(node_for(*ref.split(".", 1)) for ref in sorted(kb.tally_reads(cond)))
            else:
                sources.append(node_for("question", cond.answer))
        targets = [node_for(*ref.split(".", 1)) for ref in rule.then]
        for src in sources:
            for dst in targets:
                if src != dst:
                    edges.add((src, dst))
    lines = ["digraph overview {", "rankdir=LR; nodesep=0.12; ranksep=1.1; newrank=true;",
             'node [fontname="Helvetica", fontsize=10, style=filled, color="#374151"];',
             'edge [color="#9ca3af", arrowsize=0.5];']
    shape = {"answers": ("note", "#f3f4f6"), "findings": ("ellipse", "#e0f2fe"),
             "conclusions": ("hexagon", "#fce7f3"), "advice": ("box", "#dcfce7")}
    for layer, title, _ in LAYERS:
        members = [n for n, (lay, _) in nodes.items() if lay == layer]
        if not members:
            continue
        lines.append(f"subgraph cluster_{layer} {{ label={_q(title)}; style=dashed; color=\"#9ca3af\";")
        for nid in sorted(members):
            label = nodes[nid][1]
            if nid in counts:
                label += f" ({len(counts[nid])})"
            sh, fill = shape[layer]
            lines.append(f"{_q(nid)} [shape={sh}, fillcolor=\"{fill}\", label={_short(label)}, "
                         f"tooltip={_q(label)}];")
        lines.append("}")
    lines.extend(f"{_q(a)} -> {_q(b)};" for a, b in sorted(edges))
    lines.append("}")
    return "\n".join(lines)
