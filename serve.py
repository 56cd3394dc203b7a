"""How the app is served: `streamlit run serve.py` (what scripts/app.sh runs).

`app.py` stays the Streamlit script (pages, navigation; AppTest runs it); this file serves it
as an ASGI app (`st.App`) with one middleware in front, so that the server never makes a
request off the machine.

Why: Streamlit checks the Origin of each websocket. For an origin other than the page's own
or localhost (a web page elsewhere opening ws://127.0.0.1:8501) it falls back, before
refusing, to detecting this machine's addresses (streamlit/web/server/server_util.py,
is_url_from_allowed_origins -> streamlit/net_util.py: get_internal_ip opens a UDP socket
"to" 8.8.8.8, get_external_ip makes an HTTP request to checkip.amazonaws.com). No setting turns
that fallback off while CORS protection stays on (server.enableCORS = false would accept any
origin instead), so `LocalOriginOnly` refuses such websockets itself, with the same 403 that
Streamlit gives, and Streamlit only ever sees origins it accepts without a lookup.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import streamlit as st
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("detachment_cds.serve")

# The hostnames Streamlit accepts as origins before it looks anything up (server_util.py).
LOCAL_ORIGIN_HOSTS = frozenset({"localhost", "0.0.0.0", "127.0.0.1"})


def origin_is_local(origin: str | None, host: str | None) -> bool:
    """Whether Streamlit would accept this websocket Origin without a lookup: none (a program,
    not a browser), the page's own (same host and port), or a loopback name."""
    if origin is None:
        return True
    parsed = urlparse(origin if "://" in origin else f"http://{origin}")
    if urlparse(origin).netloc == host:
        return True
    return parsed.hostname in LOCAL_ORIGIN_HOSTS


class LocalOriginOnly:
    """ASGI middleware: a websocket from a foreign origin is refused (403) before Streamlit
    handles it; everything else passes through unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse foreign-origin websockets; pass the rest on."""
        if scope["type"] == "websocket":
            headers = Headers(scope=scope)
            if not origin_is_local(headers.get("origin"), headers.get("host")):
                log.warning("refused a websocket from a foreign origin")
                await send({"type": "websocket.close", "code": 1008})  # 1008: policy violation
                return
        await self.app(scope, receive, send)


app = st.App("app.py", middleware=[Middleware(LocalOriginOnly)])
