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
from contextlib import suppress
from typing import Any

from experta.abstract import Matcher
from experta.activation import Activation
from experta.fieldconstraint import L, P
from experta.matchers.rete import ReteMatcher
from experta.matchers.rete.check import FactCapture, FeatureCheck, TypeCheck, WhereCheck
from experta.matchers.rete.mixins import ChildNode, NoMemory
from experta.matchers.rete.nodes import (
    BusNode,
    ConflictSetNode,
    FeatureTesterNode,
    NotNode,
    OrdinaryMatchNode,
    WhereNode,
)
from experta.matchers.rete.token import Token, TokenInfo

Callback = Callable[[Any], None]


def _fast_check(check: Any) -> Any:
    """An alpha test as a plain function, for the two shapes the compiled rules use most: an
    unbound predicate or literal on one plain field (experta's FeatureCheck: the field's value,
    False when absent, then the predicate or the equality; True or False, nothing bound).
    Any other check is returned as it is."""
    if not isinstance(check, FeatureCheck) or not isinstance(check.what, str):
        return check
    what, how = check.what, check.how
    if "__" in what or what.startswith("_") or getattr(how, "__bind__", 1) is not None:
        return check
    if type(how) is P:
        match = how.match

        def predicate(fact: Any) -> bool:
            try:
                value = fact[what]
            except (IndexError, KeyError, TypeError):
                return False
            return bool(match(value))

        return predicate
    if type(how) is L:
        expected = how.value

        def literal(fact: Any) -> bool:
            try:
                value = fact[what]
            except (IndexError, KeyError, TypeError):
                return False
            return bool(expected == value)

        return literal
    return check


def _fast_activate(node: Any) -> Callback:
    """A feature tester's activation as experta's (`FeatureTesterNode._activate`), with the
    test run once and before anything is copied, and the token copied only when the test adds
    to its context. Passing the same token on is safe: every node that keeps a token (the
    joins, the negations, the conflict sets) copies it on activation."""
    if type(node.matcher) is FactCapture:
        return _capturing_activate(node)
    matcher = _fast_check(node.matcher)
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


def _capturing_activate(node: Any) -> Callback:
    """A fact capture's activation (`AS.name << pattern`) as `_fast_activate` makes it for
    experta's FactCapture check, which returns `{name: fact}`: the same tests of that one
    binding against the token's context, without the call to the disabled match logger."""
    bind = node.matcher.bind
    negated = (False, bind)
    new_token = tuple.__new__

    def activate(token: Any) -> None:
        tag, data, context = token
        (fact,) = data
        # experta tests `context.get(bind, fact) != fact`: for an absent binding that compares
        # the fact with itself (never unequal), so only a present binding is compared.
        if bind in context and context[bind] != fact:
            return
        if negated in context and context[negated] == fact:
            return
        context = dict(context)
        context[bind] = fact
        token = new_token(Token, (tag, set(data), context))
        for child in node.children:
            child.callback(token)

    return activate


_new_token = tuple.__new__
_VALID, _INVALID = Token.TagType.VALID, Token.TagType.INVALID


def _info(token: Any) -> Any:
    """`token.to_info()`: the token's facts and context as frozensets, tag left out."""
    return _new_token(TokenInfo, (frozenset(token.data), frozenset(token.context.items())))


class _Activation(Activation):  # type: ignore[misc]
    """experta's Activation with its rule's hash computed once per conflict set: experta's
    `Rule.__hash__` hashes every pattern of the rule, on every set operation."""

    def __init__(self, rule: Any, facts: Any, context: dict[str, Any], rule_hash: int) -> None:
        self.rule = rule
        self.facts = set(facts)
        self.key = None
        self.context = context
        self._rule_hash = rule_hash

    def __hash__(self) -> int:
        # Computed once: neither the facts nor the context change once the activation is made.
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = hash((self._rule_hash, frozenset(self.facts), frozenset(self.context.items())))
            self._hash = found
        return found


def _conflict_set_activate(node: Any, index: int, dirty: set[int]) -> Callback:
    """A conflict set's activation as experta's (`ConflictSetNode._activate`; no copy of the
    token, which it only reads), marking the conflict set as changed, so the matcher collects
    activations from the changed ones only instead of scanning every rule's."""
    rule = node.rule
    rule_hash = hash(rule)

    def activate(token: Any) -> None:
        info = _info(token)
        activation = _Activation(rule, info.data, {k: v for k, v in info.context if isinstance(k, str)},
                                 rule_hash)
        if token.tag is _VALID:
            memory = node.memory
            if info not in memory:
                memory.add(info)
                if activation in node.removed:
                    node.removed.remove(activation)
                else:
                    node.added.add(activation)
        else:
            try:
                node.memory.remove(info)
            except ValueError:  # as experta (a set raises KeyError, which goes on up)
                pass
            else:
                if activation in node.added:
                    node.added.remove(activation)
                else:
                    node.removed.add(activation)
        dirty.add(index)

    return activate


def _where_activate(node: Any) -> Callback:
    """A TEST's activation as experta's (`WhereNode._activate` with its `WhereCheck`: the test
    called with the context's values of the names its signature lists), without the copy of
    the token (only read) or the call to the disabled match logger."""
    test = node.matcher.test
    names = tuple(node.matcher.parameters)

    def activate(token: Any) -> None:
        context = token.context
        if test(**{k: context.get(k) for k in names}):
            for child in node.children:
                child.callback(token)

    return activate


def _join_activations(node: Any) -> tuple[Callback, Callback]:
    """An ordinary join's left and right activations as experta's
    (`OrdinaryMatchNode.__activation`), without copying the token (only read: it is stored
    as a TokenInfo and each match makes a new token), the Token constructor's type asserts,
    or the calls to the disabled match logger."""
    matcher = node.matcher

    # The memories hold (facts, context) as experta's TokenInfo does, the context as a dict of
    # its own rather than a frozenset of its items: experta turns it back into a dict for every
    # match, and freezing it hashes every fact in it. Only these two activations (and reset)
    # read or write a join's memories; equal entries are equal either way.
    def activation(token: Any, branch: list[Any], matching: list[Any], is_left: bool) -> None:
        tag, data, context = token
        if tag is _VALID:
            branch.append((frozenset(data), dict(context)))
        else:
            with suppress(ValueError):
                branch.remove((frozenset(data), dict(context)))
        for other_data, other_context in matching:
            match = matcher(context, other_context) if is_left else matcher(other_context, context)
            if match:
                newcontext = {k: v for k, v in context.items() if isinstance(k, str)}
                for k, v in other_context.items():
                    if not isinstance(k, tuple):
                        newcontext[k] = v
                newtoken = _new_token(Token, (tag, data | other_data, newcontext))
                for child in node.children:
                    child.callback(newtoken)

    def activate_left(token: Any) -> None:
        activation(token, node.left_memory, node.right_memory, True)

    def activate_right(token: Any) -> None:
        activation(token, node.right_memory, node.left_memory, False)

    return activate_left, activate_right


def _not_activations(node: Any) -> tuple[Callback, Callback]:
    """A negation's left and right activations as experta's (`NotNode`), without copying the
    token (only read) or the Token constructor's asserts."""
    matcher = node.matcher

    def activate_left(token: Any) -> None:
        right = node.right_memory
        valid = token.tag is _VALID
        if not right:
            if valid:
                node.left_memory[_info(token)] = 0
            else:
                del node.left_memory[_info(token)]
            for child in node.children:
                child.callback(token)
        elif valid:
            count = 0
            context = token.context
            for _, right_context in right:
                if matcher(context, dict(right_context)):
                    count += 1
            if count == 0:
                for child in node.children:
                    child.callback(token)
            node.left_memory[_info(token)] = count
        else:
            count = 0
            context = token.context
            for _, right_context in right:
                if matcher(context, dict(right_context)):
                    count += 1
                    break
            if count == 0:
                for child in node.children:
                    child.callback(token)
            del node.left_memory[_info(token)]

    def activate_right(token: Any) -> None:
        if token.tag is _VALID:
            node.right_memory.append(_info(token))
            inc = 1
        else:
            inc = -1
            node.right_memory.remove(_info(token))
        left_memory = node.left_memory
        context = token.context
        for left in left_memory:
            if matcher(dict(left.context), context):
                left_memory[left] += inc
                newcount = left_memory[left]
                if (newcount == 0 and inc == -1) or (newcount == 1 and inc == 1):
                    if inc == -1:
                        newtoken = _new_token(Token, (_VALID, set(left.data), dict(left.context)))
                    else:
                        newtoken = _new_token(Token, (_INVALID, set(left.data), dict(left.context)))
                    for child in node.children:
                        child.callback(newtoken)

    return activate_left, activate_right


def _copy(token: Any) -> Any:
    """`Token.copy` without re-checking what a token already is (a set of facts, a dict)."""
    return _new_token(Token, (token.tag, token.data.copy(), token.context.copy()))


def _copying(inner: Callback, name: str) -> Callback:
    """A node's activation as experta's (`activate` copies the token, then `_activate`), with
    the copy made directly and no call to the disabled watcher loggers."""
    def activate(token: Any) -> None:
        inner(_copy(token))

    activate.__name__ = name
    return activate


def _marking_activate(node: Any, index: int, dirty: set[int]) -> Callback:
    """A conflict set's activation that marks the conflict set as changed, so the matcher
    collects activations from the changed ones only instead of scanning every rule's."""
    inner = node._activate

    def activate(token: Any) -> None:
        inner(_copy(token))
        dirty.add(index)

    return activate


def _literal(check: Any) -> tuple[str, Any] | None:
    """(field, value) when a check is a plain `field == literal` test, else None."""
    if not isinstance(check, FeatureCheck) or not isinstance(check.how, L):
        return None
    what = check.what
    if not isinstance(what, str) or "__" in what or check.how.__bind__ is not None:
        return None
    return what, check.how.value


def membership(options: frozenset[Any]) -> Callable[[Any], bool]:
    """A predicate `value in options` (for a `P` field constraint) that carries its options,
    so that the matcher can route a fact to it by value instead of testing it (`_dispatcher`)."""
    def member(value: Any) -> bool:
        return value in options

    member.member_of = options  # type: ignore[attr-defined]
    return member


def _membership(check: Any) -> tuple[str, frozenset[Any]] | None:
    """(field, options) when a check is an unbound `P(membership(options))` on a plain field."""
    if not isinstance(check, FeatureCheck) or type(check.how) is not P:
        return None
    what, how = check.what, check.how
    if not isinstance(what, str) or "__" in what or how.__bind__ is not None:
        return None
    options = getattr(how.match, "member_of", None)
    return (what, options) if isinstance(options, frozenset) else None


def _passing(node: Any) -> Callback:
    """A feature tester reached through the index, whose test is already known to pass: a
    type test (`type(fact) == T`) or an unbound literal (`fact[field] == value`), which return
    True and bind nothing, so the token goes on unchanged, as experta would send it: to its
    one child's callback itself (its dispatcher, when it has several), or to each child's.
    Made once the node's children are final (see `FastReteMatcher`)."""
    children = tuple(node.children)
    if len(children) == 1:
        return children[0].callback  # type: ignore[no-any-return]
    callbacks = tuple(child.callback for child in children)

    def passing(token: Any) -> None:
        for callback in callbacks:
            callback(token)

    return passing


def _dispatcher(children: list[Any]) -> Callback:
    """One callback for all of a node's children, indexed by fact type, tested literal and the
    options of a membership test."""
    by_type: dict[type, list[Callback]] = {}
    by_literal: dict[str, dict[Any, list[Callback]]] = {}
    others: list[Callback] = []
    for child in children:
        node = child.node
        if not isinstance(node, FeatureTesterNode) or child.callback != node.activate:
            others.append(child.callback)
        elif isinstance(node.matcher, TypeCheck):
            by_type.setdefault(node.matcher.fact_type, []).append(_passing(node))
        elif (literal := _literal(node.matcher)) is not None:
            field, value = literal
            try:
                by_literal.setdefault(field, {}).setdefault(value, []).append(_passing(node))
            except TypeError:  # an unhashable literal: test it the ordinary way
                others.append(node.activate)
        elif (member := _membership(node.matcher)) is not None:
            # `fact[field] in options` holds exactly when the value is one of the options'
            # keys: the same index routes the fact to it (a True test binds nothing).
            field, options = member
            passing = _passing(node)
            for value in sorted(options, key=repr):
                by_literal.setdefault(field, {}).setdefault(value, []).append(passing)
        else:
            others.append(node.activate)

    if not by_type and not by_literal:  # a captured fact going on to each of its joins
        callbacks = tuple(others)

        def to_each(token: Any) -> None:
            for callback in callbacks:
                callback(token)

        return to_each
    if by_type and not by_literal and not others:  # the root: facts by type only
        def by_type_only(token: Any) -> None:
            (fact,) = token.data
            for activate in by_type.get(type(fact), ()):
                activate(token)

        return by_type_only
    if len(by_literal) == 1 and not by_type:  # a field's values, and maybe some other tests
        ((field, index),) = by_literal.items()
        rest = tuple(others)

        def by_one_field(token: Any) -> None:
            (fact,) = token.data
            if field in fact:
                try:
                    matches = index.get(fact[field], ())
                except TypeError:  # an unhashable value equals no hashable literal
                    matches = ()
                for activate in matches:
                    activate(token)
            for callback in rest:
                callback(token)

        return by_one_field

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
        # Only joins, negations and conflict sets keep memories; the rest reset to nothing.
        self._memories = [n for n in nodes if type(n)._reset is not NoMemory._reset]
        two = (OrdinaryMatchNode, NotNode)
        self._with_one_memory = [n for n in self._memories if type(n) is ConflictSetNode]
        self._with_two_memories = [n for n in self._memories if type(n) in two]
        self._other_memories = [n for n in self._memories if type(n) not in (ConflictSetNode, *two)]
        self._conflict_sets = [n for n in nodes if isinstance(n, ConflictSetNode)]
        self._dirty: set[int] = set()  # the conflict sets activated since the last collection
        for node in nodes:
            kind = type(node)
            if kind is FeatureTesterNode:
                node.activate = _fast_activate(node)
            elif kind is ConflictSetNode:
                node.activate = _conflict_set_activate(node, self._conflict_sets.index(node), self._dirty)
            elif isinstance(node, ConflictSetNode):
                node.activate = _marking_activate(node, self._conflict_sets.index(node), self._dirty)
            elif kind is OrdinaryMatchNode:
                node.activate_left, node.activate_right = _join_activations(node)
            elif kind is NotNode:
                node.activate_left, node.activate_right = _not_activations(node)
            elif kind is WhereNode and type(node.matcher) is WhereCheck:
                node.activate = _where_activate(node)
            elif kind is WhereNode:
                node.activate = node._activate  # a test of the context, which it only reads
            else:  # any other node: experta's activations, the token copied directly
                for name in ("activate", "activate_left", "activate_right"):
                    inner = getattr(node, "_" + name, None)
                    if inner is not None and callable(getattr(node, name, None)):
                        setattr(node, name, _copying(inner, name))
        for node in nodes:
            node.children = [ChildNode(c.node, getattr(c.node, c.callback.__name__)) for c in node.children]
        # Alpha nodes (the root and the feature testers) see one fact per token; give each a
        # single indexed child; the original children are reached through the dispatcher only.
        # Children first, so that each dispatcher is made from its children's final wiring.
        indexed: set[int] = set()

        def index(node: Any) -> None:
            if id(node) in indexed:
                return
            indexed.add(id(node))
            for child in node.children:
                if isinstance(child.node, FeatureTesterNode):
                    index(child.node)
            if len(node.children) > 1:
                node.children = [ChildNode(_Index(), _dispatcher(node.children))]

        index(self.root_node)
        for node in nodes:
            if isinstance(node, FeatureTesterNode):
                index(node)

    def reset(self) -> None:
        """Wipe every node's memory, each node once (an empty memory is left as it is)."""
        for node in self._with_one_memory:
            if node.memory:
                node._reset()
        for node in self._with_two_memories:
            if node.left_memory or node.right_memory:
                node._reset()
        for node in self._other_memories:
            node._reset()
        self._dirty.clear()

    def changes(self, adding: Any = None, deleting: Any = None) -> tuple[list[Any], list[Any]]:
        """Propagate fact changes and collect the activations added and removed."""
        children = self.root_node.children
        if deleting is not None:
            for deleted in deleting:
                token = _new_token(Token, (_INVALID, {deleted}, {}))  # as BusNode.remove makes it
                for child in children:
                    child.callback(token)
        if adding is not None:
            for fact in adding:
                token = _new_token(Token, (_VALID, {fact}, {}))  # as BusNode.add makes it
                for child in children:
                    child.callback(token)
        added: list[Any] = []
        removed: list[Any] = []
        # Only the conflict sets that were activated, in the network's order (as experta scans
        # them all, in that order).
        dirty = self._dirty
        if dirty:
            conflict_sets = self._conflict_sets
            for index in sorted(dirty):
                c_added, c_removed = conflict_sets[index].get_activations()
                added.extend(c_added)
                removed.extend(c_removed)
            dirty.clear()
        return added, removed
