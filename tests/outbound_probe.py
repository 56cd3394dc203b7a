"""Start the app under the network audit hook, use it, knock from a foreign origin, report.

    python tests/outbound_probe.py SCRIPT [--browser]

Runs `streamlit run SCRIPT` on a free loopback port under tests/net_audit.py, waits until it
is up, loads the page (in Debian's chromium with --browser: the app's script runs and draws
the assessment page; otherwise a plain HTTP GET), opens websockets from a foreign origin
(`http://evil.example`, and `null` as a file:// page sends) and from a page whose name was
rebound to this machine (same origin, foreign Host), stops the server, and prints one
JSON object: the outbound attempts the hook recorded, the websocket statuses, whether the page
loaded, and the server's log. tests/test_outbound.py runs it inside a network namespace.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
FOREIGN_ORIGINS = ("http://evil.example", "null")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _load_page(url: str, browser: bool) -> bool:
    if not browser:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status == 200 and b"<html" in r.read().lower()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = chromium.new_page()
            page.goto(url)
            expect(page.get_by_role("heading", name="Assessment", exact=True)).to_be_visible(timeout=30000)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                   timeout=30000)
            return True
        finally:
            chromium.close()


def _knock(port: int, origin: str, host: str = "127.0.0.1") -> Any:
    """Open a websocket from `origin` (to `host`, which resolves here to loopback, as a DNS
    rebinding attack makes it); the HTTP status it was refused with, or 'accepted'."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        with connect(f"ws://{host}:{port}/_stcore/stream", sock=sock, origin=origin,  # type: ignore[arg-type]
                     subprotocols=["streamlit"], open_timeout=20):  # type: ignore[list-item]
            return "accepted"
    except InvalidStatus as exc:
        return exc.response.status_code
    finally:
        sock.close()


def probe(script: str, browser: bool) -> dict[str, Any]:
    """Run the scenario once; what happened."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        attempts, server_log = Path(tmp) / "attempts.jsonl", Path(tmp) / "server.log"
        with server_log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "net_audit.py"), str(attempts), "-m", "streamlit",
                 "run", script, "--server.port", str(port), "--server.headless", "true"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            try:
                up = _wait_up(url, proc)
                page = _load_page(url, browser) if up else False
                refused = [_knock(port, origin) for origin in FOREIGN_ORIGINS] if up else []
                if up:  # a page at http://rebound.example:PORT whose name now resolves to 127.0.0.1
                    refused.append(_knock(port, f"http://rebound.example:{port}", "rebound.example"))
                time.sleep(0.5)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        lines = attempts.read_text().splitlines() if attempts.exists() else []
        return {"up": up, "page": page, "refused": refused,
                "attempts": [json.loads(line) for line in lines],
                "server_log": server_log.read_text(errors="replace")}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], "--browser" in sys.argv[2:])))
