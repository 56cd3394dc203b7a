"""JSON reading with the case file's bounds, and JSON writing that is inert on a terminal.

The standard library's C decoder is fast enough for any input within the size limit; what
costs is what comes after (validating hundreds of thousands of values). Reading counts the
objects as the decoder finishes them and stops past the limit, then counts the rest before
anything else sees the data. A key given twice in one object is an error, not an overwrite.
"""

from __future__ import annotations

import json
from typing import Any

from engine.inert import escape_json
from engine.limits import Limits, check_limits, too_many


def loads(text: str, limits: Limits | None = None) -> Any:
    """Parse JSON text; a ValueError for a key given twice, a LimitError past `limits`."""
    nodes = 0

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal nodes
        nodes += 1 + len(pairs)
        if limits is not None and nodes > limits.max_nodes:
            raise too_many(limits)
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"key {key!r} is given twice")
            out[key] = value
        return out

    data = json.loads(text, object_pairs_hook=pairs_hook)
    if limits is not None:
        check_limits(data, limits)
    return data


def dumps(data: Any, indent: int | None = 2) -> str:
    """JSON text (UTF-8 characters kept, keys in the given order) with every control character
    escaped, so printing it cannot drive a terminal; `json.loads` gives the same data back."""
    return escape_json(json.dumps(data, indent=indent, ensure_ascii=False))
