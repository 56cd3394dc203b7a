"""Text made inert for terminals, browsers and documents: control characters shown, not obeyed.

A case file is typed by someone else: an unknown key, a file name or the notes can carry
terminal escapes (ESC, CSI U+009B: clear the screen, set the window title), or bidirectional
overrides (U+202E) that make a line read differently from what it holds. Every message and
every rendered format goes through `escape_controls`, which writes such characters as visible
escapes (`\\x1b`, `\\u202e`) the way Python's repr does; `escape_json` does the same inside
JSON text with JSON's own `\\u` escapes, so the data stays exact.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls, and the bidirectional marks, embeddings, overrides and
# isolates (LRM, RLM, ALM, LRE..RLO, LRI..PDI), plus the line and paragraph separators that
# some viewers treat as line breaks.
CONTROLS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROLS}]")
# In JSON text C0 controls are escaped already (json.dumps); the others are not.
_JSON_UNESCAPED = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_controls(text: str) -> bool:
    """Whether the text holds a character that `escape_controls` would escape."""
    return _CONTROL.search(text) is not None


def escape_controls(text: str, keep: str = "") -> str:
    """The text with every control character written as a visible escape (`\\x1b`, `\\u202e`).

    `keep` names characters to leave as they are, e.g. "\\n\\t" for multi-line text whose line
    breaks are part of it; one-line messages keep nothing.
    """
    if not has_controls(text):
        return text
    if not keep:
        return _CONTROL.sub(_visible, text)
    return _CONTROL.sub(lambda m: m[0] if m[0] in keep else _visible(m), text)


def escape_json(text: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with the controls it leaves raw
    written as `\\uXXXX`: the same JSON value, inert on a terminal. Such characters can only
    occur inside JSON strings, where the escape means the same character."""
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
