"""Normal requests' latency before, during and after 60 s of hostile traffic (issue 17), in one
run on one local Ray (loopback only; every client bounded in count and time).

The app from serving/app.py with its default limits and an API key (one replica per
deployment), serving an Adult `ctgan` (2 epochs: a rejection model, so conditions cost real
work). Normal traffic: POST /v1/models/adult/generate {"num_samples": 100} at concurrency 2.
Hostile traffic beside it, each kind in its own bounded loop:
- per-row conditions with 999 distinct groups (admitted: heavy lane, time budget);
- per-row conditions with 5,000 groups (refused: max_condition_groups);
- a 5 MB body (413), a non-ASCII X-API-Key (401), a rare condition streamed as jsonl (422
  before any byte), bursts of 12 conditioned requests at once (overload: 503 + Retry-After);
- slow clients that send a body one byte a second (408 after body_timeout_s);
- schemathesis cases generated from the app's own OpenAPI schema (valid and invalid).

The hostile clients run in a process of their own (their client-side work must not hold the
measuring process's GIL) at nice 10: on a 2-core machine their own work (hypothesis case
generation, building 5 MB bodies) would otherwise take the server's cores, which real clients,
on their own machines, do not.
Reported: normal p50/p99 in each phase and their ratio to the unloaded phase; every hostile
response by status; the count of 5xx other than 503 (must be 0) and of 503s without
Retry-After (must be 0).

    python benchmarks/serve_hostile.py --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "data" / "adult_train.csv.gz"
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
KEY = "bench-key"
NORMAL = {"num_samples": 100}
CLIENT_NICE = 10  # the hostile clients' own CPU work yields to the server (see the doc)


class Tally:
    """Hostile responses by (kind, status), and the defects: 5xx but 503, 503 w/o Retry-After."""

    def __init__(self) -> None:
        self.by_kind: Counter = Counter()
        self.bad: list[str] = []
        self.lock = threading.Lock()

    def add(self, kind: str, status: int, headers: dict | None = None) -> None:
        with self.lock:
            self.by_kind[(kind, status)] += 1
            if status >= 500 and status != 503:
                self.bad.append(f"{kind}: {status}")
            if status == 503 and "retry-after" not in {k.lower() for k in (headers or {})}:
                self.bad.append(f"{kind}: 503 without Retry-After")


async def normal_load(base: str, seconds: float, concurrency: int = 2) -> dict:
    import httpx

    latencies, errors = [], Counter()
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            r = await client.post("/v1/models/adult/generate", json=NORMAL)
            latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                errors[r.status_code] += 1

    async with httpx.AsyncClient(base_url=base, timeout=120,
                                 headers={"X-API-Key": KEY}) as client:
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "errors": dict(errors), "p50_ms": statistics.median(ms),
            "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))]}


def hostile_bodies() -> dict[str, tuple[dict, dict, bytes | None]]:
    """kind -> (json body, extra headers, raw body instead of json)."""
    groups = [{"age": 17 + i % 70, "hours_per_week": 1 + i // 70} for i in range(999)]
    many = [{"age": 17 + i % 70, "hours_per_week": 1 + i // 70} for i in range(5000)]
    return {
        "999 groups": ({"num_samples": 999, "conditions": groups}, {}, None),
        "5000 groups": ({"num_samples": 5000, "conditions": many}, {}, None),
        "5 MB body": ({}, {"content-type": "application/json"},
                      b'{"num_samples": 1, "pad": "' + b"x" * 5_000_000 + b'"}'),
        "non-ASCII key": (NORMAL, {"X-API-Key": "clé-é".encode()}, None),
        "rare condition, streamed": ({"num_samples": 50_000, "output_format": "jsonl",
                                      "conditions": {"fnlwgt": 123457}}, {}, None),
    }


async def hostile_loop(base: str, kind: str, spec: tuple, tally: Tally, deadline: float
                       ) -> None:
    import httpx

    body, headers, raw = spec
    async with httpx.AsyncClient(base_url=base, timeout=120,
                                 headers={"X-API-Key": KEY}) as client:
        while time.monotonic() < deadline:
            kwargs = {"content": raw} if raw is not None else {"json": body}
            r = await client.post("/v1/models/adult/generate", headers=headers, **kwargs)
            tally.add(kind, r.status_code, dict(r.headers))
            await asyncio.sleep(0.2)


async def bursts(base: str, tally: Tally, deadline: float) -> None:
    import httpx

    body = {"num_samples": 2000, "conditions": {"sex": "Female", "race": "Other"}}
    async with httpx.AsyncClient(base_url=base, timeout=120,
                                 headers={"X-API-Key": KEY}) as client:
        while time.monotonic() < deadline:
            rs = await asyncio.gather(*[client.post("/v1/models/adult/generate", json=body)
                                        for _ in range(12)])
            for r in rs:
                tally.add("burst of 12 conditioned", r.status_code, dict(r.headers))
            await asyncio.sleep(2)


async def slow_client(port: int, tally: Tally, deadline: float) -> None:
    """Headers, then the body one byte a second (bounded by the deadline)."""
    while time.monotonic() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = b'{"num_samples": 10}'
        writer.write((f"POST /v1/models/adult/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"X-API-Key: {KEY}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body) + 100}\r\n\r\n").encode())
        await writer.drain()
        status = 0
        for i in range(len(body) + 100):
            if time.monotonic() > deadline + 15:
                break
            try:
                writer.write(body[i:i + 1] or b" ")
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), 1.0)
                if line.startswith(b"HTTP/1.1"):
                    status = int(line.split()[1])
                    break
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                break
        writer.close()
        tally.add("slow body (1 B/s)", status)


def fuzz(base: str, tally: Tally, deadline: float) -> None:
    """schemathesis cases from the app's schema, until the deadline (a thread)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{base}/openapi.json",
                                           headers={"X-API-Key": KEY})
    operations = [r.ok() for r in schema.get_all_operations()]
    while time.monotonic() < deadline:
        for operation in operations:
            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)
            def call(case) -> None:
                if time.monotonic() > deadline:
                    return
                r = case.call(base_url=base, headers={"X-API-Key": KEY}, timeout=120)
                op = case.operation
                tally.add(f"schemathesis {op.method.upper()} {op.path}", r.status_code,
                          dict(r.headers))

            call()


async def hostile_clients(base: str, port: int, seconds: float, tally: Tally) -> None:
    deadline = time.monotonic() + seconds
    skip = set(filter(None, os.environ.get("HOSTILE_SKIP", "").split(",")))
    fuzzer = threading.Thread(target=fuzz, args=(base, tally, deadline), daemon=True)
    if "fuzz" not in skip:
        fuzzer.start()
    tasks = [hostile_loop(base, kind, spec, tally, deadline)
             for kind, spec in hostile_bodies().items() if kind not in skip]
    if "burst" not in skip:
        tasks.append(bursts(base, tally, deadline))
    if "slow" not in skip:
        tasks += [slow_client(port, tally, deadline), slow_client(port, tally, deadline)]
    await asyncio.gather(*tasks)
    if fuzzer.is_alive():
        fuzzer.join(timeout=180)


def hostile_process(base: str, port: int, seconds: float, out: Any) -> None:
    """The hostile clients in their own process, so that their client-side work (hypothesis,
    5 MB bodies) does not hold the measuring process's GIL: what is measured is the server."""
    os.nice(CLIENT_NICE)
    tally = Tally()
    asyncio.run(hostile_clients(base, port, seconds, tally))
    out.put((dict(tally.by_kind), tally.bad))


def hostile_phase(base: str, port: int, seconds: float, tally: Tally) -> dict:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=hostile_process, args=(base, port, seconds, out))
    proc.start()
    normal = asyncio.run(normal_load(base, seconds))
    by_kind, bad = out.get(timeout=seconds + 300)
    proc.join(timeout=60)
    tally.by_kind.update(by_kind)
    tally.bad.extend(bad)
    return normal


def deploy(store: str, key_file: str, port: int) -> None:
    from ray import serve

    from serving.app import build_app

    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app({"store": store, "api_key_file": key_file}), name="raysynth",
              route_prefix="/")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="hostile phase (bounded)")
    ap.add_argument("--baseline-seconds", type=float, default=20,
                    help="unloaded phases before and after")
    args = ap.parse_args(argv)
    os.environ.update(LOCAL_ENV)
    import ray
    import torch

    import synth
    from jobs.common import free_port
    from synth.store import ModelStore

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        store, key_file = f"{tmp}/store", f"{tmp}/key"
        Path(key_file).write_text(KEY + "\n")
        model = synth.create_synthesizer("ctgan", epochs=2, batch_size=500)
        ModelStore(store).add_version("adult", model.fit(pd.read_csv(DATA)).save)
        ray.init(address="local", num_cpus=8, include_dashboard=False, log_to_driver=False)
        port = free_port()
        deploy(store, key_file, port)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(normal_load(base, 5))  # warm up
        tally = Tally()
        phases = {"before (unloaded)": asyncio.run(normal_load(base, args.baseline_seconds))}
        phases["during hostile traffic"] = hostile_phase(base, port, args.seconds, tally)
        time.sleep(5)  # let the last admitted heavy requests end (their budget bounds them)
        phases["after"] = asyncio.run(normal_load(base, args.baseline_seconds))
        ray.shutdown()
    print(table(phases, tally, args.seconds))
    return 1 if tally.bad else 0


def table(phases: dict, tally: Tally, seconds: float) -> str:
    base = phases["before (unloaded)"]
    lines = [f"{platform.node()} {os.cpu_count()} CPUs, hostile phase {seconds:g} s",
             "| normal requests (100 rows, concurrency 2) | requests | errors | p50 ms | "
             "p99 ms | p50 vs unloaded | p99 vs unloaded |", "|---|---|---|---|---|---|---|"]
    for name, r in phases.items():
        lines.append(f"| {name} | {r['requests']} | {r['errors'] or 0} | {r['p50_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {r['p50_ms'] / base['p50_ms']:.2f}x | "
                     f"{r['p99_ms'] / base['p99_ms']:.2f}x |")
    lines += ["", "| hostile request | status | count |", "|---|---|---|"]
    for (kind, status), count in sorted(tally.by_kind.items()):
        lines.append(f"| {kind} | {status} | {count} |")
    lines += ["", f"5xx other than 503, or 503 without Retry-After: {len(tally.bad)}"
              + (f" ({'; '.join(sorted(set(tally.bad))[:10])})" if tally.bad else "")]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
