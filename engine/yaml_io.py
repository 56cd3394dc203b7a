"""YAML reading and writing with YAML 1.2 scalars, and without the traps of YAML 1.1.

PyYAML follows YAML 1.1, where a bare `no` is the boolean False, `070` is the octal number 56,
`1:30` is 90 (base 60) and `2024-01-01` is a date. The case contract and the knowledge base use
yes/no/partly as answers and decimal numbers as scores, so here only `true`/`false` are
booleans and numbers are plain decimal (YAML 1.2 core schema).

Reading takes libyaml's events (PyYAML's C parser, in its wheels) and builds the values here,
without recursion, refusing on the way:
- aliases (`*name`): a few hundred bytes of nested aliases can expand to billions of values;
- explicit tags (`!!binary`, `!!int "1"`, `!x`): a value is what it is written as, never
  converted into something else;
- a key given twice in one mapping (rather than a silent overwrite), and keys that are
  lists or mappings;
- with `limits`, more values or deeper nesting than a case file can have, counted before
  each value is built, so any input costs at most a bounded amount of work.

Writing quotes every string that YAML 1.1 or 1.2 could read as something else (`1e3`, `no`,
`null`), and writes strings with line breaks, control characters or spaces at their ends in
double quotes with escapes, so that reading a file back gives exactly what was written.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.error import Mark, MarkedYAMLError
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from engine.inert import CONTROLS
from engine.limits import Limits, too_deep, too_many

YAMLError = yaml.YAMLError
# libyaml through PyYAML's C extension; the pure-Python parser gives the same events, slower.
C_PARSER: bool = bool(getattr(yaml, "__with_libyaml__", False))
_Parser: Any = yaml.SafeLoader
if C_PARSER:
    from yaml._yaml import CParser as _Parser


class ReadError(MarkedYAMLError):
    """A YAML construct this reader refuses (alias, tag, duplicate or complex key)."""


def _refuse(problem: str, mark: Any) -> ReadError:
    return ReadError(None, None, problem, mark)


_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


def _plain(text: str) -> Any:
    """A plain (unquoted) scalar by the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.fullmatch(text):
        return int(text)  # decimal only: "070" is 70 (a ValueError past 4300 digits)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _SPECIAL_FLOAT.fullmatch(text):
        return -math.inf if text[0] == "-" else math.nan if text[-1] in "nN" else math.inf
    return text


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


class _Frame:
    """A list or mapping being filled."""

    __slots__ = ("key", "key_mark", "value")

    def __init__(self, value: list[Any] | dict[Any, Any]) -> None:
        self.value = value
        self.key: Any = _Frame  # _Frame itself: no key read yet
        self.key_mark: Any = None


def _events(parser: Any, limits: Limits | None) -> Any:
    """Build the one document's value from the parser's events."""
    stack: list[_Frame] = []
    nodes = 0
    while True:
        event: Any = parser.get_event()
        if isinstance(event, AliasEvent):
            raise _refuse("aliases (*name) are not allowed", event.start_mark)
        top = stack[-1] if stack else None
        if isinstance(event, ScalarEvent | CollectionStartEvent):
            nodes += 1
            if limits is not None and nodes > limits.max_nodes:
                raise too_many(limits)
            if event.tag is not None:
                raise _refuse(f"explicit tags ({_tag_name(event.tag)}) are not allowed; write the "
                              "value itself (quote it to make it text)", event.start_mark)
        if isinstance(event, CollectionStartEvent):
            if top is not None and isinstance(top.value, dict) and top.key is _Frame:
                raise _refuse("a key must be a word or a number, not a list or a mapping",
                              event.start_mark)
            stack.append(_Frame([] if isinstance(event, SequenceStartEvent) else {}))
            if len(stack) > (limits.max_depth if limits is not None else 10_000):
                raise too_deep()
            continue
        if isinstance(event, ScalarEvent):
            # Untagged: implicit[0] is true for a plain scalar, false for a quoted or block one.
            value: Any = _plain(event.value) if event.implicit[0] else event.value
        elif isinstance(event, SequenceEndEvent | MappingEndEvent):
            value = stack.pop().value
            top = stack[-1] if stack else None
        else:  # pragma: no cover - libyaml's event grammar allows nothing else here
            raise _refuse(f"unexpected {type(event).__name__}", event.start_mark)
        if top is None:
            return value
        if isinstance(top.value, list):
            top.value.append(value)
        elif top.key is _Frame:
            if value in top.value:
                raise _refuse(f"key {value!r} is given twice", event.start_mark)
            top.key = value
        else:
            top.value[top.key] = value
            top.key = _Frame


def loads(text: str, limits: Limits | None = None) -> Any:
    """Parse one YAML document: YAML 1.2 scalars (yes/no stay words, numbers are decimal), no
    aliases, tags or duplicate keys; with `limits`, a LimitError at the first value past them."""
    parser = _Parser(text)
    try:
        return _document(parser, limits)
    except yaml.reader.ReaderError as exc:  # a raw control character: say which, and where
        # libyaml counts the position in UTF-8 bytes, PyYAML's own reader in characters.
        before = text.encode()[:exc.position] if C_PARSER else text[:exc.position]
        line = before.count(b"\n" if C_PARSER else "\n")  # type: ignore[arg-type]
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        mark = Mark("<text>", exc.position, line, 0, None, 0)
        raise _refuse(f"the control character U+{char:04X} cannot be written as it is; in double "
                      "quotes, write it as an escape such as \\x1b", mark) from None
    finally:
        parser.dispose()


def _document(parser: Any, limits: Limits | None) -> Any:
    """The stream's one document, or None for an empty stream."""
    parser.get_event()  # StreamStartEvent
    if parser.check_event(StreamEndEvent):
        return None
    parser.get_event()  # DocumentStartEvent
    value = _events(parser, limits)
    parser.get_event()  # DocumentEndEvent
    if parser.check_event(DocumentStartEvent):
        event: Any = parser.peek_event()
        raise _refuse("expected a single document in the file", event.start_mark)
    return value


# Characters that a plain or single-quoted YAML scalar cannot hold exactly (line breaks get
# folded, controls are refused): such strings are written double-quoted, with escapes.
_NEEDS_ESCAPES = re.compile(f"[{CONTROLS}\ufeff\u00a0]|^\\s|\\s$")
# Left raw by PyYAML's emitter inside double quotes (it deems them printable).
_RAW_IN_QUOTES = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that keeps key order and quotes what either YAML version would misread."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _NEEDS_ESCAPES.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
# PyYAML's own (YAML 1.1) resolvers stay, and this reader's are added: a string that matches
# any of them is quoted ("1e3" is a number in YAML 1.2 only, "no" a boolean in 1.1 only).
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", "|".join(_BOOL), "tTfF"),
    ("tag:yaml.org,2002:int", _INT.pattern, "-+0123456789"),
    ("tag:yaml.org,2002:float", f"{_FLOAT.pattern}|{_SPECIAL_FLOAT.pattern}", "-+0123456789."),
    ("tag:yaml.org,2002:null", "~|null|Null|NULL|", ["~", "n", "N", ""]),
):
    _Dumper.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


def dumps(data: Any) -> str:
    """Serialise to block-style YAML in the given key order; `loads` gives the data back."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    # Only double-quoted strings hold these (see _NEEDS_ESCAPES), where \\u is their escape.
    return _RAW_IN_QUOTES.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
