"""Benchmark the CDS Hooks service against a running server on a loopback port.

Starts `python -m service` with a throwaway signing key, then measures, in one run:
  - a hook call end to end (HTTP + JWT check + QuestionnaireResponse check + assessment with
    explanations + cards), sequential, over every committed vignette: p50 / p90 / p99;
  - the same assessment and cards in this process (no HTTP, no JWT), for the ratio, and the
    full explained report (`assess(explain=True)`, what-ifs and robustness too) beside it;
  - N concurrent hook calls (default 200) from one local client: errors, wall time, p50 / p99.
Tokens are signed before timing (signing is the EHR's cost). The last line is one JSON object.

    .venv/bin/python scripts/bench_service.py [--calls 300] [--concurrent 200] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import assess, default_knowledge_base, new_evaluator, parse_case  # noqa: E402
from engine.vignettes import default_vignettes  # noqa: E402
from service.cards import build_cards, report_for_cards  # noqa: E402
from service.hooks import SERVICE_ID  # noqa: E402
from service.response import response_from_case  # noqa: E402

ISSUER = "https://bench-ehr.invalid"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of the values, in the same unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start(directory: Path, workers: int, log_level: str) -> tuple[subprocess.Popen[bytes], str, Any]:
    """Start the service with a fresh key; return the process, its base URL and the private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="bench", alg="RS384", use="sig")
    jwk.pop("key_ops", None)
    inline = "{ keys = [ { " + ", ".join(f'{k} = {json.dumps(v)}' for k, v in jwk.items()) + " } ] }"
    lines = [f'replay_cache = "sqlite:{directory / "jti.sqlite"}"' if workers > 1 else "",
             "[[issuers]]", f'iss = "{ISSUER}"', f"jwks = {inline}"]
    config = directory / "service.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port), "--config", str(config),
         "--workers", str(workers), "--log-level", log_level],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the service exited with {process.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return process, base, key
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the service did not start within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="sequential hook calls")
    parser.add_argument("--concurrent", type=int, default=200, help="concurrent hook calls")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning",
                        help="the server's log level (info adds access logs)")
    args = parser.parse_args()

    kb = default_knowledge_base()
    vignettes = default_vignettes()
    cases = [parse_case(v.case, kb) for v in vignettes]
    bodies = []
    for case in cases:
        resource = response_from_case(case, kb, subject_reference="Patient/bench-patient")
        bodies.append(json.dumps({
            "hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": "bench-patient"},
            "prefetch": {"questionnaireResponse": {"resourceType": "Bundle", "type": "searchset",
                                                   "entry": [{"resource": resource}]}}}).encode())

    # In this process, for the ratio: what a hook call computes (the assessment with its open
    # questions, and the cards), and the full explained report for comparison.
    evaluator = new_evaluator(kb)
    local: list[float] = []
    explained: list[float] = []
    for _ in range(3):
        for case in cases:
            t0 = time.perf_counter()
            build_cards(report_for_cards(case, evaluator), kb, "http://x/knowledge-base")
            local.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            build_cards(assess(case, evaluator, explain=True), kb, "http://x/knowledge-base")
            explained.append((time.perf_counter() - t0) * 1000)

    with tempfile.TemporaryDirectory() as tmp:
        process, base, key = start(Path(tmp), args.workers, args.log_level)
        url = f"{base}/cds-services/{SERVICE_ID}"

        def tokens(n: int) -> list[str]:
            now = int(time.time())
            claims = {"iss": ISSUER, "aud": url, "iat": now, "exp": now + 280}
            return [jwt.encode({**claims, "jti": str(uuid.uuid4())}, key, algorithm="RS384",
                               headers={"kid": "bench", "typ": "JWT"}) for _ in range(n)]

        try:
            sequential: list[float] = []
            errors_sequential = 0
            with httpx.Client(timeout=60) as client:
                warm = tokens(2 * len(bodies))
                for i, tok in enumerate(warm):
                    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
                    client.post(url, content=bodies[i % len(bodies)], headers=headers)
                for i, tok in enumerate(tokens(args.calls)):
                    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
                    t0 = time.perf_counter()
                    reply = client.post(url, content=bodies[i % len(bodies)], headers=headers)
                    sequential.append((time.perf_counter() - t0) * 1000)
                    errors_sequential += reply.status_code != 200 or len(reply.json()["cards"]) != 1

            async def burst() -> tuple[list[float], int, float]:
                n = args.concurrent
                limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
                toks = tokens(args.concurrent)
                async with httpx.AsyncClient(timeout=120, limits=limits) as client:
                    async def one(i: int) -> float | None:
                        headers = {"Authorization": f"Bearer {toks[i]}", "Content-Type": "application/json"}
                        t0 = time.perf_counter()
                        try:
                            reply = await client.post(url, content=bodies[i % len(bodies)], headers=headers)
                        except httpx.HTTPError:
                            return None
                        ok = reply.status_code == 200 and len(reply.json()["cards"]) == 1
                        return (time.perf_counter() - t0) * 1000 if ok else None

                    start_all = time.perf_counter()
                    results = await asyncio.gather(*(one(i) for i in range(args.concurrent)))
                    wall = time.perf_counter() - start_all
                good = [r for r in results if r is not None]
                return good, len(results) - len(good), wall

            concurrent_ms, errors_concurrent, wall = asyncio.run(burst())
        finally:
            process.terminate()
            process.wait(timeout=30)

    p50 = statistics.median(sequential)
    local_p50 = statistics.median(local)
    figures = {
        "hook_call_p50_ms": round(p50, 2),
        "hook_call_p90_ms": round(percentile(sequential, 0.9), 2),
        "hook_call_p99_ms": round(percentile(sequential, 0.99), 2),
        "in_process_assess_and_cards_p50_ms": round(local_p50, 2),
        "ratio_hook_call_to_in_process": round(p50 / local_p50, 2),
        "in_process_full_explained_report_p50_ms": round(statistics.median(explained), 2),
        "sequential_calls": len(sequential),
        "sequential_errors": errors_sequential,
        "concurrent_calls": args.concurrent,
        "concurrent_errors": errors_concurrent,
        "concurrent_wall_s": round(wall, 2),
        "concurrent_throughput_per_s": round(args.concurrent / wall, 1),
        "concurrent_p50_ms": round(statistics.median(concurrent_ms), 1) if concurrent_ms else None,
        "concurrent_p99_ms": round(percentile(concurrent_ms, 0.99), 1) if concurrent_ms else None,
        "workers": args.workers,
        "vignettes": len(vignettes),
        "target_p50_ms": 20,
        "meets_target": p50 <= 20 and errors_concurrent == 0 and errors_sequential == 0,
    }
    print(f"hook call p50 {figures['hook_call_p50_ms']} ms (p90 {figures['hook_call_p90_ms']}, "
          f"p99 {figures['hook_call_p99_ms']}) over {len(sequential)} calls; in process "
          f"{figures['in_process_assess_and_cards_p50_ms']} ms (x{figures['ratio_hook_call_to_in_process']}; "
          f"the full explained report: {figures['in_process_full_explained_report_p50_ms']} ms)")
    print(f"{args.concurrent} concurrent calls: {errors_concurrent} errors, "
          f"{figures['concurrent_wall_s']} s, "
          f"p50 {figures['concurrent_p50_ms']} ms, p99 {figures['concurrent_p99_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
