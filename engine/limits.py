"""Bounds on what a case file may hold, enforced while it is read, before objects are built.

A case file is small (a few hundred values, two levels deep), but a file within the size limit
can hold hundreds of thousands of values or brackets nested thousands deep, and building all of
them costs seconds and hundreds of MB before validation could refuse them. The readers
(`engine.yaml_io`, `engine.json_io`) count values and nesting as they go and stop at the first
one past these limits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """At most `max_nodes` values (every scalar, key, list and mapping counts one) and at
    most `max_depth` lists or mappings inside one another."""

    max_nodes: int
    max_depth: int


class LimitError(ValueError):
    """The input is past a limit; `message` says which, for the reader's file name."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def too_many(limits: Limits) -> LimitError:
    """The error for more values than `limits.max_nodes`."""
    return LimitError(f"is too large to be a case file: more than {limits.max_nodes} values "
                      "(a case file has a few hundred)")


def too_deep() -> LimitError:
    """The error for nesting deeper than `Limits.max_depth` (or than Python can follow)."""
    return LimitError("is nested too deeply to be a case file")


def check_limits(data: object, limits: Limits) -> None:
    """Count the values of already-built data (JSON), stopping at the first past a limit."""
    nodes = 0
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if isinstance(value, dict | list):
            depth += 1
            if depth > limits.max_depth:
                raise too_deep()
            size = len(value)
            nodes += size if isinstance(value, dict) else 0  # the keys
            if nodes + size > limits.max_nodes:
                raise too_many(limits)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth) for item in items)
        elif nodes > limits.max_nodes:
            raise too_many(limits)
