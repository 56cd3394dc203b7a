"""The app as its own process, the way `scripts/app.sh` serves it, for the browser tests and the
scripts that drive the app (benchmarks, screenshots): `streamlit run serve.py` on a free
loopback port, waited for until its health check answers, and always stopped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(port: int, *, env: Mapping[str, str] | None = None, args: Sequence[str] = (),
              output: IO[bytes] | int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """Start `streamlit run serve.py` on 127.0.0.1:`port` with extra settings `args` and the
    environment plus `env`; its output goes to `output` (a file, or nothing)."""
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *args],
        cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float, poll: float = 0.2) -> bool:
    """Whether the app at `url` answered its health check within `timeout` seconds (False as
    soon as its process has ended)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(poll)


def stop_app(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate the app's process; kill it if it does not end within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
