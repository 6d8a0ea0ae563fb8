"""Monitoring at scale: `synth monitor check` over Parquet prefixes of 1M and 20M synthetic
Adult rows (1M-row files from a Gaussian copula fitted on the bundled Adult data) on a moto S3
server on 127.0.0.1, against a baseline of the Adult training file, in one run: the Ray Data job
(fresh local Ray) on both sizes, beside the in-process check (`--no-ray`) of the 1M prefix.
The claim to test: the check's memory is flat in the rows (20M within 1.5x of 1M).

Memory is the peak summed PSS of the job process and all its descendants (driver, GCS,
raylet, workers, object store), sampled every 0.2 s (benchmarks/evaluate_scale.py).

    python benchmarks/monitor_scale.py --sizes 1 20 --workdir /tmp/raysynth-evalbench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.evaluate_scale import LOCAL_ENV, REAL, make_synthetic, measured  # noqa: E402
from benchmarks.sample_scale import start_moto  # noqa: E402


def upload(workdir: Path, millions: int, env: dict[str, str]) -> str:
    import boto3

    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    for i in range(millions):
        s3.upload_file(str(workdir / "parts" / f"part-{i:04d}.parquet"), "bench",
                       f"n{millions}m/part-{i:04d}.parquet")
    return f"s3://bench/n{millions}m/"


def run_check(base: str, data: str, output: str, env: dict[str, str], no_ray: bool) -> dict:
    env = {**os.environ, **LOCAL_ENV, **env, "PYTHONPATH": str(ROOT)}
    job = [sys.executable, "-m", "jobs.monitor", "check", "--baseline", base, "--data", data,
           "--output", output, *(["--no-ray"] if no_ray else [])]
    # exit 1 is an alarm, a result: only 2 and above fail the measurement
    cmd = ["bash", "-c", " ".join(shlex.quote(a) for a in job) + "; test $? -le 1"]
    wall, pss, out = measured(cmd, env)
    summary = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "peak_pss_mb": pss, "rows": summary["rows"],
            "alarm": summary["alarm"], "flagged": ",".join(sorted(summary["flagged"]))}


def main(argv: list[str] | None = None) -> int:
    import synth.monitor as mon

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 20], help="millions of rows")
    ap.add_argument("--workdir", default="/tmp/raysynth-evalbench")
    args = ap.parse_args(argv)
    workdir = Path(args.workdir)
    make_synthetic(workdir, max(args.sizes))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = str(Path(tmp) / "baseline")
        mon.baseline(str(REAL), output=base)
        server, env = start_moto()
        try:
            uris = {n: upload(workdir, n, env) for n in args.sizes}
            for n in args.sizes:
                for no_ray in ((True, False) if n == min(args.sizes) else (False,)):
                    setup = "in process (--no-ray)" if no_ray else "ray data job"
                    got = run_check(base, uris[n], f"{tmp}/check-{n}-{no_ray}", env, no_ray)
                    rows.append({"setup": setup, "millions": n, **got})
                    print(json.dumps(rows[-1]), flush=True)
        finally:
            server.stop()
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    base = next(r["peak_pss_mb"] for r in rows if r["setup"] == "ray data job")
    lines = [f"{platform.node()} {os.cpu_count()} CPUs",
             "| setup | rows | rows/s | wall s | peak PSS MB | vs 1M job | alarm on |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['setup']} | {r['rows']:,} | {r['rows'] / r['wall_s']:,.0f} | "
              f"{r['wall_s']:.1f} | {r['peak_pss_mb']:.0f} | {r['peak_pss_mb'] / base:.2f}x | "
              f"{r['flagged'] or '-'} |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
