"""Latency and throughput of the Serve app for 100-row JSON requests, next to a trivial Serve
endpoint that returns a constant (the floor), in one run on one local Ray (loopback only,
bounded request counts and time).

An Adult `ctgan` (2 epochs: sampling cost does not depend on training length) in a model store;
the app from serving/app.py with one replica per deployment; the floor: one deployment whose
__call__ returns a constant JSON; beside it a FastAPI ingress returning a constant (what the
framework alone costs, without the hop to the model deployment). Requests: POST
/v1/models/adult/generate with {"num_samples": 100, "output_format": "json"}, unseeded (a
fresh sample: the network runs on the 100 rows) and seeded (reproducible: a whole 2048-row
block runs), at concurrency 1 and 16.

    python benchmarks/serve_load.py --requests 300 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "data" / "adult_train.csv.gz"
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deploy(store: str, port: int) -> None:
    from fastapi import FastAPI
    from ray import serve

    from serving.app import build_app

    @serve.deployment(ray_actor_options={"num_cpus": 0.25})
    class Floor:
        async def __call__(self, request) -> dict:
            return {"ok": True}

    constant = FastAPI()

    @serve.deployment(ray_actor_options={"num_cpus": 0.25})
    @serve.ingress(constant)
    class FastFloor:
        @constant.post("/")
        async def post(self) -> dict:
            return {"ok": True}

    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app({"store": store, "auth": "none"}), name="raysynth", route_prefix="/")
    serve.run(Floor.bind(), name="floor", route_prefix="/floor")
    serve.run(FastFloor.bind(), name="fastapi-floor", route_prefix="/fastapi-floor")


async def load(url: str, body: dict | None, concurrency: int, requests: int, seconds: float
               ) -> dict:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    todo = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for _ in todo:
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            r = await (client.post(url, json=body) if body is not None else client.get(url))
            latencies.append(time.perf_counter() - start)
            errors += r.status_code != 200

    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(10):  # warm up
            await (client.post(url, json=body) if body is not None else client.get(url))
        start = time.perf_counter()
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
        wall = time.perf_counter() - start
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "errors": errors, "p50_ms": statistics.median(ms),
            "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))], "rps": len(ms) / wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300, help="per setup (bounded)")
    ap.add_argument("--seconds", type=float, default=60, help="per setup (bounded)")
    args = ap.parse_args(argv)
    os.environ.update(LOCAL_ENV)
    import ray
    import torch

    import synth
    from synth.store import ModelStore

    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory() as store:
        model = synth.create_synthesizer("ctgan", epochs=2, batch_size=500)
        ModelStore(store).add_version("adult", model.fit(pd.read_csv(DATA)).save)
        ray.init(address="local", num_cpus=8, include_dashboard=False, log_to_driver=False)
        port = free_port()
        deploy(store, port)
        base = f"http://127.0.0.1:{port}"
        gen = f"{base}/v1/models/adult/generate"
        setups = [("floor: constant endpoint", f"{base}/floor", None),
                  ("FastAPI ingress, constant", f"{base}/fastapi-floor/", {}),
                  ("generate 100 rows, unseeded", gen, {"num_samples": 100}),
                  ("generate 100 rows, seed=7", gen, {"num_samples": 100, "seed": 7})]
        for concurrency in (1, 16):
            for name, url, body in setups:
                got = asyncio.run(load(url, body, concurrency, args.requests, args.seconds))
                rows.append({"setup": name, "concurrency": concurrency, **got})
                print(rows[-1], flush=True)
        ray.shutdown()
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    floor = {r["concurrency"]: r for r in rows if r["setup"].startswith("floor")}
    lines = [f"{platform.node()} {os.cpu_count()} CPUs",
             "| setup | concurrency | requests | errors | p50 ms | p99 ms | req/s "
             "| p50 vs floor | p99 vs floor |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = floor[r["concurrency"]]
        lines.append(f"| {r['setup']} | {r['concurrency']} | {r['requests']} | {r['errors']} | "
                     f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['rps']:.1f} | "
                     f"{r['p50_ms'] / f['p50_ms']:.2f}x | {r['p99_ms'] / f['p99_ms']:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
