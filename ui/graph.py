"""The inference graph as Graphviz DOT: answers -> findings -> conclusions -> advice.

Rendered in the browser by Streamlit's bundled Graphviz (WASM), with no external request. Each
rule is a small node joining its conditions (all must hold) to what it asserts; shapes and
layers, not only colours, tell the kinds apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Holds, Rule
from ui.words import ref_label

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


def inference_dot(kb: KnowledgeBase, rules: Iterable[Rule], highlight: Iterable[str] = ()) -> str:
    """DOT for the given rules; rules in `highlight` (e.g. the ones that fired) drawn bold."""
    rules = list(rules)
    bold = set(highlight)
    nodes: dict[str, str] = {}   # node id -> kind
    edges: list[str] = []

    def node(kind: str, ident: str) -> str:
        nid = f"{kind}.{ident}"
        nodes.setdefault(nid, kind)
        return nid

    for rule in rules:
        rid = f"rule:{rule.id}"
        style = "bold" if rule.id in bold else "solid"
        edges.append(f"{_q(rid)} [shape=box, style=\"rounded,{style}\", fontsize=9, "
                     f"label={_q(rule.id)}, tooltip={_q(rule.title)}, margin=\"0.05,0.02\"];")
        for cond in rule.when:
            if isinstance(cond, Holds):
                src = node(*cond.fact.split(".", 1))
            elif isinstance(cond, AnswerIn | AnswerRange):
                src = node("question", cond.answer)
            edges.append(f"{_q(src)} -> {_q(rid)} [style={style}];")
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
            lines.append(f"{_q(nid)} [shape={SHAPES.get(kind, 'box')}, fillcolor=\"{fill}\", "
                         f"label={_short(text)}, tooltip={_q(text)}];")
        lines.append("}")
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines)
