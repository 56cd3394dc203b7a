"""Regressions, one test per bug, named after it."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from service.__main__ import tcp_listener
from tests.service.helpers import free_port


def test_uvicorn_3149_worker_connections_get_tcp_nodelay() -> None:
    """With several workers uvicorn's listener had proto 0, so asyncio left Nagle on for every
    accepted connection (each keep-alive request then waited ~40 ms for a delayed ACK)."""
    config = uvicorn.Config("service.app:factory", factory=True, host="127.0.0.1", port=free_port())
    listener = tcp_listener(config)
    assert listener.proto == socket.IPPROTO_TCP
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()
            await writer.wait_closed()

    asyncio.run(accept_one())
    assert seen == [1]
