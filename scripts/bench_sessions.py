"""Many sessions on one app process: rerun time at 10, 20 and 40 concurrent sessions, and memory.

Starts the app as `scripts/app.sh` serves it (`streamlit run serve.py`, loopback, a free port)
and opens N sessions at once over Streamlit's own websocket protocol (what the browser speaks;
no browser, so the figures are the server's). Each session draws the first page (the
assessment), then changes one answer back and forth `--reruns` times; a rerun is timed from
the message that sends the new answer to the server's "script finished". The client keeps
the websocket alive with pings every 20 s (the browser's default), so a server too busy to
answer them drops the session, and the drops are counted.

The server's resident memory (VmRSS) is read before, at the peak, and after every session has
closed and the server's reconnect window (`server.disconnectedSessionTTL`) has passed.

    .venv/bin/python scripts/bench_sessions.py [--sessions 10 20 40] [--reruns 5]

Prints a table, then one JSON object as its last line. A load script, not a test: the figures
depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from app_process import free_port, start_app, stop_app, wait_until_up  # this folder's own module
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

KEEPALIVE_S = 20.0
RECONNECT_WINDOW_S = 5  # the server's disconnectedSessionTTL for this run (default 120)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_server(port: int) -> subprocess.Popen[bytes]:
    """The app as scripts/app.sh serves it, on a free loopback port, with this run's short
    reconnect window."""
    proc = start_app(port, args=["--server.disconnectedSessionTTL", str(RECONNECT_WINDOW_S)])
    if not wait_until_up(f"http://127.0.0.1:{port}", proc, timeout=60):
        stop_app(proc)
        raise SystemExit("the app did not start")
    return proc


@dataclass
class Session:
    """One simulated browser session: its websocket and the radios the page drew."""

    ws: Any
    radios: list[tuple[str, list[str]]] = field(default_factory=list)

    async def rerun(self, widgets: list[tuple[str, str]]) -> float:
        """Send a rerun with these radio values; seconds until the script finished."""
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = ""
        for wid, value in widgets:
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = wid
            state.string_value = value
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        while True:
            raw = await self.ws.recv()
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                if el.WhichOneof("type") == "radio" and len(el.radio.options) >= 2:
                    self.radios.append((el.radio.id, list(el.radio.options)))
            elif kind == "script_finished":
                return time.perf_counter() - start


async def one_session(url: str, reruns: int, times: list[float], errors: list[str]) -> None:
    """Open the first page, then change one answer `reruns` times."""
    try:
        async with websockets.connect(url, subprotocols=["streamlit"],  # type: ignore[list-item]
                                      max_size=None, ping_interval=KEEPALIVE_S,
                                      ping_timeout=KEEPALIVE_S, open_timeout=120) as ws:
            s = Session(ws)
            await s.rerun([])
            # Go to the second step of the form (the first asks only who is assessed), keep it.
            keep = [(wid, opts[1]) for wid, opts in s.radios if wid.endswith("_step")]
            if keep:
                s.radios = []
                await s.rerun(keep)
            answers = [(wid, opts) for wid, opts in s.radios if not wid.endswith("_step")]
            if not answers:
                errors.append("the page drew no question to answer")
                return
            wid, options = answers[0]
            for i in range(reruns):
                times.append(await s.rerun([*keep, (wid, options[1 + i % (len(options) - 1)])]))
    except (OSError, websockets.ConnectionClosed, TimeoutError) as exc:
        errors.append(type(exc).__name__)


async def load(url: str, sessions: int, reruns: int) -> tuple[list[float], list[str]]:
    """`sessions` sessions at once; every rerun's time and every dropped session."""
    times: list[float] = []
    errors: list[str] = []
    await asyncio.gather(*(one_session(url, reruns, times, errors) for _ in range(sessions)))
    return times, errors


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main(argv: list[str] | None = None) -> None:
    """Run the load at each session count; print the table and the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[10, 20, 40])
    ap.add_argument("--reruns", type=int, default=5)
    args = ap.parse_args(argv)
    port = free_port()
    proc = start_server(port)
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    out: dict[str, Any] = {"sessions": {}}
    try:
        asyncio.run(load(url, 1, 1))  # warm the process (first script run, imports)
        time.sleep(RECONNECT_WINDOW_S + 1)
        out["rss_start_mb"] = round(_rss_mb(proc.pid), 1)
        print(f"{'sessions':>8} {'rerun p50':>10} {'rerun p95':>10} {'max':>8} {'dropped':>8} {'RSS MB':>8}")
        for n in args.sessions:
            times, errors = asyncio.run(load(url, n, args.reruns))
            row = {"rerun_p50_s": round(statistics.median(times), 3) if times else None,
                   "rerun_p95_s": round(_pct(times, 0.95), 3) if times else None,
                   "rerun_max_s": round(max(times), 3) if times else None,
                   "dropped": len(errors), "rss_mb": round(_rss_mb(proc.pid), 1)}
            out["sessions"][str(n)] = row
            print(f"{n:>8} {row['rerun_p50_s']!s:>10} {row['rerun_p95_s']!s:>10} "
                  f"{row['rerun_max_s']!s:>8} {len(errors):>8} {row['rss_mb']:>8}")
        # Past the reconnect window, one more connection lets the server drop expired sessions.
        time.sleep(RECONNECT_WINDOW_S + 1)
        asyncio.run(load(url, 1, 1))
        time.sleep(RECONNECT_WINDOW_S + 1)
        asyncio.run(load(url, 1, 1))
        out["rss_after_close_mb"] = round(_rss_mb(proc.pid), 1)
        print(f"RSS: {out['rss_start_mb']} MB at start, {out['rss_after_close_mb']} MB after every "
              "session closed")
    finally:
        stop_app(proc, timeout=20)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
