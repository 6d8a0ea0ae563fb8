"""Streaming sampling at scale: the Ray Data sample job (2 actors on a fresh local Ray, 2 CPUs)
writing 1M and 10M rows of an Adult CTGAN to local disk and to a moto S3 server on 127.0.0.1,
next to the in-process `model.sample` rate (no Ray, no writing) and SDV's
CTGANSynthesizer.sample, in one run.

The model is trained for a few epochs only: sampling cost does not depend on training length.
"job s" is the job's own time (model check, planning, generation, writing, manifest); "wall s"
adds the interpreter, imports and starting Ray. Peak PSS sums the job process and all its
descendants (driver, raylet, GCS, workers, object store), sampled every 0.2 s; the moto server
runs in this process and is not counted.

    python benchmarks/sample_scale.py --sizes 1 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.evaluate_scale import LOCAL_ENV, measured  # noqa: E402

DATA = ROOT / "data" / "adult_train.csv.gz"
MILLION = 1_000_000


def fit_models(real: pd.DataFrame, folder: Path) -> tuple[str, object, object]:
    import synth

    torch.set_num_threads(2)
    ours = synth.create_synthesizer("ctgan", epochs=3, batch_size=500).fit(real)
    path = ours.save(str(folder / "ctgan"))
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    theirs = CTGANSynthesizer(Metadata.detect_from_dataframes({"table": real}), epochs=1,
                              batch_size=500, enable_gpu=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit({"table": real})
    return path, ours, theirs


def rate(fn, rows: int) -> float:
    fn(min(rows, 10_000))  # warm up
    start = time.perf_counter()
    fn(rows)
    return rows / (time.perf_counter() - start)


def run_job(model: str, rows: int, output: str, env_extra: dict[str, str] | None = None
            ) -> dict:
    env = {**os.environ, **LOCAL_ENV, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    cmd = [sys.executable, "-m", "jobs.sample", "--model", model, "--rows", str(rows),
           "--output", output, "--rows-per-file", "500000", "--seed", "1"]
    wall, pss, out = measured(cmd, env)
    summary = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "job_s": summary["seconds"], "peak_pss_mb": pss,
            "rows_per_s": rows / summary["seconds"]}


def start_moto() -> tuple[object, dict[str, str]]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=5124, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5124", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                 aws_access_key_id="bench", aws_secret_access_key="bench"
                 ).create_bucket(Bucket="bench")
    return server, env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="millions of rows")
    args = ap.parse_args(argv)
    real = pd.read_csv(DATA)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        path, ours, theirs = fit_models(real, Path(tmp))
        n = MILLION
        rows.append({"setup": "synth model.sample, in process (2 threads)", "rows": n,
                     "rows_per_s": rate(lambda k: ours.sample(k, seed=1), n)})
        rows.append({"setup": "SDV CTGANSynthesizer.sample, in process (2 threads)",
                     "rows": n // 5, "rows_per_s": rate(lambda k: theirs.sample(k), n // 5)})
        print(rows, flush=True)
        server, env = start_moto()
        try:
            for size in args.sizes:
                for dest, out, extra in (("local disk", f"{tmp}/out{size}", None),
                                         ("moto S3", f"s3://bench/out{size}", env)):
                    got = run_job(path, size * MILLION, out, extra)
                    rows.append({"setup": f"ray data job -> {dest}", "rows": size * MILLION,
                                 **got})
                    print(rows[-1], flush=True)
        finally:
            server.stop()
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    base = rows[0]["rows_per_s"]
    lines = [f"{platform.node()} {os.cpu_count()} CPUs, torch {torch.__version__}",
             "| setup | rows | rows/s | vs in-process | job s | wall s | peak PSS MB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['setup']} | {r['rows']:,} | {r['rows_per_s']:,.0f} | "
                     f"{r['rows_per_s'] / base:.2f}x | {r.get('job_s', '-')} | "
                     f"{r['wall_s']:.1f} | {r['peak_pss_mb']:.0f} |" if "wall_s" in r else
                     f"| {r['setup']} | {r['rows']:,} | {r['rows_per_s']:,.0f} | "
                     f"{r['rows_per_s'] / base:.2f}x | - | - | - |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
