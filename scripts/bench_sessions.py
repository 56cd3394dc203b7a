"""Many sessions on one app process (issue 14, item 7): rerun latency at 10, 20 and 40 sessions.

Starts the app as scripts/app.sh serves it (`streamlit run serve.py`), opens N sessions as N
browser pages in Chromium (/usr/bin/chromium through playwright), waits for each first page,
then for `--rounds` rounds changes an answer in every session at once (a different option of
the first question on the page each round, so every rerun assesses new answers) and measures,
inside each page, the time from the click to the page's script having finished again (a
MutationObserver on Streamlit's script state, so the sessions' reruns overlap as they would
for N clinicians). Reports p50, p95 and max of those reruns per N, and the server's resident
memory before, at the most sessions, and after every session is closed.

    .venv/bin/python scripts/bench_sessions.py [--sessions 10 20 40] [--rounds 3]

The last line is JSON. A load script, not a test: its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# In the page: click option `round` of the first answer's radio group (not the step picker)
# and resolve with the milliseconds until the script state is notRunning again.
RERUN_JS = """async (round) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const groups = [...document.querySelectorAll('[data-testid="stMain"] [role="radiogroup"]')]
    .filter(g => !/step/i.test(g.getAttribute('aria-label') || ''));
  if (!groups.length) return -1;
  const options = [...groups[0].querySelectorAll('label')];
  const target = options[round % options.length];
  const start = performance.now();
  let ran = false;
  const done = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      const state = app.getAttribute('data-test-script-state');
      if (state === 'running') ran = true;
      if (ran && state === 'notRunning') { obs.disconnect(); resolve(performance.now() - start); }
    });
    obs.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  });
  target.click();
  const timeout = new Promise(resolve => setTimeout(() => resolve(ran ? -2 : 0), 120000));
  return await Promise.race([done, timeout]);
}"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50_s": 0.0, "p95_s": 0.0, "max_s": 0.0}
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3),
            "max_s": round(ordered[-1], 3)}


def run(counts: list[int], rounds: int) -> dict[str, Any]:
    """The figures for each number of sessions, on one app process."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {"sessions": {}}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.1)
        out["rss_start_mb"] = round(_rss_mb(proc.pid), 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
            try:
                for n in counts:
                    contexts = [browser.new_context() for _ in range(n)]
                    pages = [c.new_page() for c in contexts]
                    start = time.perf_counter()
                    for page in pages:
                        page.goto(url, wait_until="commit")
                    for page in pages:
                        page.wait_for_selector(DONE, timeout=300000)
                        page.locator("h1, h2, h3").first.wait_for(timeout=300000)
                    first = time.perf_counter() - start
                    reruns: list[float] = []
                    failed = 0
                    for r in range(rounds):
                        # Started in every page before any is awaited, so the reruns overlap.
                        for page in pages:
                            page.evaluate(f"() => {{ window.__rerun = ({RERUN_JS})({r + 1}); }}")
                        for page in pages:
                            ms = page.evaluate("() => window.__rerun")
                            if ms > 0:
                                reruns.append(ms / 1000)
                            else:
                                failed += 1
                    figures = {**_stats(reruns), "all_first_pages_s": round(first, 2),
                               "reruns": len(reruns), "failed": failed,
                               "rss_mb": round(_rss_mb(proc.pid), 1)}
                    out["sessions"][str(n)] = figures
                    print(f"{n} sessions: rerun p50 {figures['p50_s']:.2f} s, p95 {figures['p95_s']:.2f} s, "
                          f"max {figures['max_s']:.2f} s ({len(reruns)} reruns, {failed} failed); "
                          f"all first pages in {first:.1f} s; server {figures['rss_mb']:.0f} MB", flush=True)
                    for c in contexts:
                        c.close()
            finally:
                browser.close()
        time.sleep(10)
        out["rss_after_close_mb"] = round(_rss_mb(proc.pid), 1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(f"server memory: {out.get('rss_start_mb')} MB at start, "
          f"{out.get('rss_after_close_mb')} MB 10 s after every session closed")
    return out


def main() -> int:
    """Run the sessions; JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.sessions, max(1, args.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
