"""The spec generator at scale: the telemetry example's spec (examples/telemetry/spec.yaml,
with its two range constraints) registered in a store and written as JSON lines by the Ray Data
sample job (2 actors on a fresh local Ray) to local disk and to a moto S3 server on 127.0.0.1,
next to the in-process `spec.sample` rate, in one run.

"job s" is the job's own time (planning, generation, writing, manifest); "wall s" adds the
interpreter, imports and starting Ray; peak PSS sums the job process and its descendants.

    python benchmarks/spec_scale.py --sizes 1 10      # millions of rows
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.evaluate_scale import LOCAL_ENV, measured  # noqa: E402
from benchmarks.sample_scale import rate, start_moto, table  # noqa: E402

MILLION = 1_000_000
SPEC = ROOT / "examples" / "telemetry" / "spec.yaml"


def run_job(store: str, rows: int, output: str, env_extra: dict[str, str] | None) -> dict:
    env = {**os.environ, **LOCAL_ENV, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    cmd = [sys.executable, "-m", "jobs.sample", "--model", "telemetry", "--store", store,
           "--rows", str(rows), "--output", output, "--rows-per-file", "500000", "--seed", "1",
           "--format", "jsonl"]
    wall, pss, out = measured(cmd, env)
    summary = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "job_s": summary["seconds"], "peak_pss_mb": pss,
            "rows_per_s": rows / summary["seconds"]}


def main(argv: list[str] | None = None) -> int:
    import synth.spec
    from synth.store import ModelStore

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="millions of rows")
    args = ap.parse_args(argv)
    spec = synth.spec.load(str(SPEC))
    rows = [{"setup": "spec.sample, in process", "rows": 200_000,
             "rows_per_s": rate(lambda k: spec.sample(k, seed=1), 200_000)}]
    print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        ModelStore(store).add_version("telemetry", spec.save)
        server, env = start_moto()
        try:
            for size in args.sizes:
                for dest, out, extra in (("local disk", f"{tmp}/out{size}", None),
                                         ("moto S3", f"s3://bench/spec{size}", env)):
                    got = run_job(store, size * MILLION, out, extra)
                    rows.append({"setup": f"ray data job, JSON lines -> {dest}",
                                 "rows": size * MILLION, **got})
                    print(rows[-1], flush=True)
        finally:
            server.stop()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
