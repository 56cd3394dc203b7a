"""experta's Rete matcher with three costs of its bookkeeping removed (same matching).

- An alpha node copies every token it receives before testing it, so a fact pays one copy
  for every test it fails; here the parent tests first and only passing tokens are copied.
- `reset` walks the network recursively and, where nodes are shared, more than once (about
  four visits per node here); this resets each node exactly once, from a list made once.
- `changes` asks every conflict-set node for its activations after every firing, which
  allocates two sets per rule per step; this skips the nodes that have none.

The property test that holds experta equal to the generated evaluator covers this class.
"""

from __future__ import annotations

from typing import Any

from experta.matchers.rete import ReteMatcher
from experta.matchers.rete.mixins import ChildNode
from experta.matchers.rete.nodes import FeatureTesterNode


def _test_first(node: Any) -> Any:
    """A callback that runs an alpha node's test before the node copies the token.

    FeatureTesterNode does nothing with a token whose test fails, so skipping it is the same.
    """
    matcher, activate = node.matcher, node.activate

    def callback(token: Any) -> None:
        (fact,) = token.data  # alpha tokens carry exactly one fact
        if matcher(fact):
            activate(token)

    return callback


class FastReteMatcher(ReteMatcher):  # type: ignore[misc]
    """ReteMatcher whose reset and change collection do each node's work once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nodes: list[Any] = []
        seen: set[int] = set()
        stack = [self.root_node]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            nodes.append(node)
            stack.extend(child.node for child in node.children)
        self._nodes = nodes
        for node in nodes:
            node.children = [
                ChildNode(child.node, _test_first(child.node))
                if isinstance(child.node, FeatureTesterNode) and child.callback == child.node.activate
                else child
                for child in node.children
            ]

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
        for csn in self._get_conflict_set_nodes():
            if csn.added or csn.removed:
                c_added, c_removed = csn.get_activations()
                added.extend(c_added)
                removed.extend(c_removed)
        return added, removed
