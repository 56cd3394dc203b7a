"""YAML reading and writing that keeps `yes`, `no`, `on` and `off` as words.

PyYAML follows YAML 1.1, where a bare `no` is the boolean False. The case contract and the
knowledge base use yes/no/partly as answers, so only `true` and `false` are booleans here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2 style)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes nothing extra and keeps key order."""


def loads(text: str) -> Any:
    """Parse YAML text with yes/no kept as strings."""
    return yaml.load(text, Loader=_Loader)


def dumps(data: Any) -> str:
    """Serialise to block-style YAML in the given key order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


YAMLError = yaml.YAMLError
