"""Issue 14, item 6: the app makes no request off the machine, ever.

The served app (`streamlit run serve.py`, as scripts/app.sh starts it) runs under an audit hook
that records every connect, send-to and name lookup to anything but loopback
(tests/net_audit.py), inside a network namespace with only a loopback interface when this runs
as root with iproute2 (so a regression cannot reach the network either; scripts/setup.sh
installs iproute2). Across start, a page load in a real browser (the app's script runs) and
websockets refused for a foreign origin (and one for a foreign Host, DNS rebinding), the hook
records nothing. The same probe against
`streamlit run app.py` (Streamlit's own origin check) records the lookups the issue found,
which shows the probe sees them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serve import origin_is_local

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def netns() -> Iterator[list[str]]:
    """A command prefix that runs inside a fresh network namespace (only loopback, up), or
    nothing where namespaces are not available (not root): the audit hook still records."""
    ip = shutil.which("ip")
    if os.geteuid() != 0 or ip is None:
        yield []
        return
    name = f"detachment-test-{os.getpid()}"
    made = subprocess.run([ip, "netns", "add", name], capture_output=True, check=False)
    if made.returncode != 0:  # e.g. a container without CAP_SYS_ADMIN
        yield []
        return
    try:
        subprocess.run([ip, "netns", "exec", name, ip, "link", "set", "lo", "up"], check=True)
        yield [ip, "netns", "exec", name]
    finally:
        subprocess.run([ip, "netns", "del", name], check=False)


def _probe(prefix: list[str], script: str, browser: bool) -> dict[str, Any]:
    command = [*prefix, sys.executable, str(ROOT / "tests" / "outbound_probe.py"), script]
    proc = subprocess.run(command + (["--browser"] if browser else []), cwd=ROOT, capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    assert result["up"], result["server_log"][-2000:]
    return result


def test_issue14_no_outbound_lookup(netns: list[str]) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (installs Debian's chromium)")
    result = _probe(netns, "serve.py", browser=True)
    assert result["page"], result["server_log"][-2000:]
    assert result["refused"] == [403, 403, 403]
    assert result["attempts"] == []
    assert "external IP" not in result["server_log"]


def test_issue14_the_probe_sees_streamlit_s_own_lookup(netns: list[str]) -> None:
    # Without the guard (the bare script), Streamlit's origin check looks up this machine's
    # addresses for each refused websocket: the lookups are recorded.
    result = _probe(netns, "app.py", browser=False)
    assert result["refused"][:2] == [403, 403]
    hosts = {a["host"] for a in result["attempts"]}
    assert "'checkip.amazonaws.com'" in hosts or "'8.8.8.8'" in hosts, result["attempts"]


@pytest.mark.parametrize(("origin", "host", "local"), [
    (None, "127.0.0.1:8501", True),
    ("http://127.0.0.1:8501", "127.0.0.1:8501", True),
    ("http://localhost:8501", "127.0.0.1:8501", True),
    ("http://LOCALHOST:3000", "127.0.0.1:8501", True),
    ("http://0.0.0.0:8501", "127.0.0.1:8501", True),
    ("http://evil.example", "127.0.0.1:8501", False),
    ("null", "127.0.0.1:8501", False),
    ("http://[::1]:8501", "127.0.0.1:8501", False),  # Streamlit would look this one up
    ("http://127.0.0.1.evil.example", "127.0.0.1:8501", False),
    ("http://evil.example:8501", "evil.example:8501", True),  # same origin (the Host decides)
])
def test_origin_is_local_matches_streamlit_s_lookup_free_names(origin: str | None, host: str,
                                                               local: bool) -> None:
    assert origin_is_local(origin, host) is local
