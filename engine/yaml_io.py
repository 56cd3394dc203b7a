"""YAML reading and writing with YAML 1.2 scalars, and without the traps of YAML 1.1.

PyYAML follows YAML 1.1, where a bare `no` is the boolean False, `070` is the octal number 56,
`1:30` is 90 (base 60) and `2024-01-01` is a date. The case contract and the knowledge base use
yes/no/partly as answers and decimal numbers as scores, so here only `true`/`false` are
booleans and numbers are plain decimal (YAML 1.2 core schema). Aliases (`*name`) are refused:
a few hundred bytes of nested aliases can expand to billions of values. A key given twice in
one mapping is an error rather than a silent overwrite.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, no aliases and no duplicate keys."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode):
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise ConstructorError(None, None, f"key {key!r} is given twice",
                                           key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {}
_RESOLVERS = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]
for _tag, _pattern, _first in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _decimal_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    return int(loader.construct_scalar(node))  # decimal only: "070" is 70


_Loader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that keeps key order (strings that YAML 1.1 would misread get quoted)."""


def loads(text: str) -> Any:
    """Parse YAML text: YAML 1.2 scalars (yes/no stay words, numbers are decimal)."""
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader


def dumps(data: Any) -> str:
    """Serialise to block-style YAML in the given key order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


YAMLError = yaml.YAMLError
