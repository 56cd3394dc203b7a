"""ASGI middleware at the edge: request bodies capped in size, and errors contained.

The cap applies before anything reads a body: a declared Content-Length over it is refused at
once, and a body that streams past it stops being read. An unexpected exception becomes a 500
with an OperationOutcome that says nothing about the request, and the log gets its type and
where it was raised, never its message (which could quote a case).
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.outcome import issue, outcome

log = logging.getLogger("service")


class BodyTooLarge(Exception):
    """The request body passed the configured cap while it was being read."""


async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    """Send a complete JSON response from ASGI middleware."""
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def too_large(limit: int) -> dict[str, Any]:
    """The OperationOutcome of a refused oversize body."""
    return outcome([issue(f"the request body is larger than {limit} bytes, this service's limit",
                          code="too-long")])


class BodyLimit:
    """Refuse request bodies larger than `limit` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(send, 400, outcome([issue("Content-Length is not a number",
                                                              code="structure")]))
                    return
                if declared > self.limit:
                    await send_json(send, 413, too_large(self.limit))
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        await self.app(scope, limited, send)


class ContainErrors:
    """Turn any exception that escapes the app into a bare 500 and a log line without content."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:  # the one place every failure ends up; nothing may leak from it
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            log.error("internal error: %s at %s", type(exc).__name__, where)
            if not started:
                await send_json(send, 500, outcome([issue("internal error; nothing was assessed",
                                                          code="exception")]))
