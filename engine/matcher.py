"""experta's Rete matcher with the costs of its bookkeeping removed (same matching).

- The alpha network is indexed. experta hands every new fact to every child of a node, and
  each child copies the token before testing it: a fact pays one copy and one test for every
  pattern it does not match. Here each node dispatches on the fact's exact type and on the
  literal a child tests for (`q == "stressor"`, `ref == "finding.x"`), so a fact only reaches
  the children it can match; any other child is tested before its token is copied.
- `reset` walks the network recursively and, where nodes are shared, more than once; this
  resets each node exactly once, from a list made once.
- `changes` asks every conflict-set node for its activations after every firing (two new sets
  per rule per step); this skips the nodes that have none. The list of those nodes is our
  own: experta's is an `lru_cache(maxsize=1)` shared by all engines, which keeps the last
  engine (and its case's facts) alive and is rebuilt whenever another session runs.

- The network is built once per engine class (per knowledge base, per process) as a template
  that never matches anything, and each engine gets its own copy of it: the nodes copied with
  empty memories, the children wired to the copies. Building the network is most of the cost
  of a new engine; copying it is a small part of that. Engines so made share rules and checks
  (immutable) and nothing else: facts, tokens, activations and agendas are each engine's own.

The property test that holds experta equal to the generated evaluator covers this class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from experta.abstract import Matcher
from experta.fieldconstraint import L
from experta.matchers.rete import ReteMatcher
from experta.matchers.rete.check import FeatureCheck, TypeCheck
from experta.matchers.rete.mixins import ChildNode
from experta.matchers.rete.nodes import BusNode, ConflictSetNode, FeatureTesterNode
from experta.matchers.rete.token import Token

Callback = Callable[[Any], None]


def _fast_activate(node: Any) -> Callback:
    """A feature tester's activation as experta's (`FeatureTesterNode._activate`), with the
    test run once and before anything is copied, and the token copied only when the test adds
    to its context. Passing the same token on is safe: every node that keeps a token (the
    joins, the negations, the conflict sets) copies it on activation."""
    matcher = node.matcher
    new_token = tuple.__new__

    def activate(token: Any) -> None:
        (fact,) = token.data  # alpha tokens carry exactly one fact
        match = matcher(fact)
        if not match:
            return
        if isinstance(match, Mapping):
            context = token.context
            for key, value in match.items():
                if isinstance(key, tuple):  # a negated condition
                    if key[1] in context and context[key[1]] == value:
                        return
                else:
                    if context.get(key, value) != value:
                        return
                    if (False, key) in context and context[(False, key)] == value:
                        return
            context = dict(context)
            context.update(match)
            token = new_token(Token, (token.tag, set(token.data), context))
        for child in node.children:  # read now: the matcher rewires children after this is made
            child.callback(token)

    return activate


def _literal(check: Any) -> tuple[str, Any] | None:
    """(field, value) when a check is a plain `field == literal` test, else None."""
    if not isinstance(check, FeatureCheck) or not isinstance(check.how, L):
        return None
    what = check.what
    if not isinstance(what, str) or "__" in what or check.how.__bind__ is not None:
        return None
    return what, check.how.value


def _dispatcher(children: list[Any]) -> Callback:
    """One callback for all of a node's children, indexed by fact type and tested literal."""
    by_type: dict[type, list[Callback]] = {}
    by_literal: dict[str, dict[Any, list[Callback]]] = {}
    others: list[Callback] = []
    for child in children:
        node = child.node
        if not isinstance(node, FeatureTesterNode) or child.callback != node.activate:
            others.append(child.callback)
        elif isinstance(node.matcher, TypeCheck):
            by_type.setdefault(node.matcher.fact_type, []).append(node.activate)
        elif (literal := _literal(node.matcher)) is not None:
            field, value = literal
            try:
                by_literal.setdefault(field, {}).setdefault(value, []).append(node.activate)
            except TypeError:  # an unhashable literal: test it the ordinary way
                others.append(node.activate)
        else:
            others.append(node.activate)

    def dispatch(token: Any) -> None:
        (fact,) = token.data
        for activate in by_type.get(type(fact), ()):
            activate(token)
        for field, index in by_literal.items():
            if field in fact:
                try:
                    matches = index.get(fact[field], ())
                except TypeError:  # an unhashable value equals no hashable literal
                    continue
                for activate in matches:
                    activate(token)
        for callback in others:
            callback(token)

    return dispatch


class _Index:
    """Stands in a node's children list for its dispatcher: a leaf, so walks of the network stop."""

    def __init__(self) -> None:
        self.children: list[Any] = []

    def reset(self) -> None:
        """Nothing to wipe: the dispatcher keeps no memory."""

    def _reset(self) -> None:
        """Nothing to wipe: the dispatcher keeps no memory."""


def _walk(root: Any) -> list[Any]:
    """Every node reachable from `root`, each once, parents before children."""
    nodes: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(child.node for child in node.children)
    return nodes


def copy_network(root: Any) -> Any:
    """A copy of a Rete network with empty memories: each node copied once, its children the
    copies, each callback the same method of the copied child."""
    nodes = _walk(root)
    copies = {}
    for node in nodes:
        twin = object.__new__(type(node))
        twin.__dict__.update(node.__dict__)
        copies[id(node)] = twin
    make_child = tuple.__new__
    for node in nodes:
        twin = copies[id(node)]
        children = []
        for child in node.children:
            callback = child.callback
            if getattr(callback, "__self__", None) is not child.node:
                raise TypeError("a Rete callback that is not a method of its child node")
            target = copies[id(child.node)]
            children.append(make_child(ChildNode, (target, getattr(target, callback.__func__.__name__))))
        twin.children = children
        twin._reset()
        if isinstance(twin, ConflictSetNode):
            twin.added = set()
            twin.removed = set()
    return copies[id(root)]


class FastReteMatcher(ReteMatcher):  # type: ignore[misc]
    """ReteMatcher with an indexed alpha network, and reset and change collection done once."""

    def __init__(self, engine: Any) -> None:
        Matcher.__init__(self, engine)
        cls = type(engine)
        # The template is the class's own (vars, not inherited: a subclass has other rules).
        template = vars(cls).get("_rete_template")
        if template is None:
            template = BusNode()
            self.root_node = template
            self.build_network()
            cls._rete_template = template
        self.root_node = copy_network(template)
        nodes = _walk(self.root_node)
        self._nodes = nodes
        for node in nodes:
            if type(node) is FeatureTesterNode:
                node.activate = _fast_activate(node)
        for node in nodes:
            node.children = [ChildNode(c.node, c.node.activate) if type(c.node) is FeatureTesterNode
                             and getattr(c.callback, "__name__", "") == "activate" else c
                             for c in node.children]
        self._conflict_sets = [n for n in nodes if isinstance(n, ConflictSetNode)]
        # Alpha nodes (the root and the feature testers) see one fact per token; give each a
        # single indexed child; the original children are reached through the dispatcher only.
        for node in nodes:
            alpha = node is self.root_node or isinstance(node, FeatureTesterNode)
            if alpha and len(node.children) > 1:
                node.children = [ChildNode(_Index(), _dispatcher(node.children))]

    def reset(self) -> None:
        """Wipe every node's memory, each node once."""
        for node in self._nodes:
            node._reset()

    def changes(self, adding: Any = None, deleting: Any = None) -> tuple[list[Any], list[Any]]:
        """Propagate fact changes and collect the activations added and removed."""
        if deleting is not None:
            for deleted in deleting:
                self.root_node.remove(deleted)
        if adding is not None:
            for fact in adding:
                self.root_node.add(fact)
        added: list[Any] = []
        removed: list[Any] = []
        for csn in self._conflict_sets:
            if csn.added or csn.removed:
                c_added, c_removed = csn.get_activations()
                added.extend(c_added)
                removed.extend(c_removed)
        return added, removed
