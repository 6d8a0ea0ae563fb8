"""Quality report at scale: raysynth's evaluate job (Ray Data, local Ray with 2 CPUs) vs
sdmetrics' QualityReport (everything in one process), side by side in one run.

Synthetic rows come from a Gaussian copula fitted on the bundled Adult data, written as
1M-row Parquet files. For each size N both tools score the same files against Adult:
sdmetrics loads them into pandas and runs QualityReport.generate; raysynth runs
`python -m jobs.evaluate ... settings.metrics=[fidelity]` on a fresh local Ray. Then raysynth
alone reads the largest size from a moto S3 server on 127.0.0.1.

Memory is the peak of the summed PSS of the measured process and all its descendants (for
raysynth: the driver, GCS, raylet, every worker, and the object store's shared memory, which
PSS splits among the processes mapping it), sampled every 0.2 s.

    python benchmarks/evaluate_scale.py --sizes 1 5 --s3-size 20 --workdir /tmp/evalbench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "data" / "adult_train.csv.gz"
MILLION = 1_000_000
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
             "AWS_EC2_METADATA_DISABLED": "true"}

SDMETRICS = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from sdmetrics.reports import QualityReport
from synth.data.metadata import detect_metadata
t0 = time.perf_counter()
real = pd.read_csv(sys.argv[1])
synthetic = pd.read_parquet(sys.argv[2])
t1 = time.perf_counter()
md = detect_metadata(real.head(10000))
meta = {"tables": {"t": {"columns": {c: {"sdtype": m.kind} for c, m in md.columns.items()}}}}
report = QualityReport()
report.generate({"t": real}, {"t": synthetic}, meta, verbose=False)
t2 = time.perf_counter()
props = report.get_properties().set_index("Property")["Score"]
print(json.dumps({"load_s": t1 - t0, "report_s": t2 - t1, "quality": report.get_score(),
                  "column_shapes": props["Column Shapes"],
                  "column_pair_trends": props["Column Pair Trends"]}))
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mb(root: int) -> float:
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss_kb(pid)
        todo.extend(tree.get(pid, []))
    return total / 1024


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak summed PSS in MB, stdout) of a command and its descendants."""
    peak = [0.0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_mb(proc.pid))
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed:\n{err[-3000:]}")
    return wall, peak[0], out


def make_synthetic(workdir: Path, millions: int) -> Path:
    """1M-row Parquet files part-0000..; reused when already there."""
    parts = workdir / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(millions) if not (parts / f"part-{i:04d}.parquet").exists()]
    if missing:
        import pandas as pd

        import synth

        model = synth.create_synthesizer("gaussian_copula").fit(pd.read_csv(REAL))
        for i in missing:
            model.sample(MILLION, seed=i).to_parquet(parts / f"part-{i:04d}.parquet")
    return parts


def prefix(workdir: Path, millions: int) -> Path:
    """A directory holding (hard links to) the first `millions` part files."""
    out = workdir / f"n{millions}m"
    out.mkdir(exist_ok=True)
    for i in range(millions):
        link = out / f"part-{i:04d}.parquet"
        if not link.exists():
            os.link(workdir / "parts" / f"part-{i:04d}.parquet", link)
    return out


def run_sdmetrics(data: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall, pss, out = measured([sys.executable, "-c", SDMETRICS, str(REAL), str(data)], env)
    return {"tool": "sdmetrics", "wall_s": wall, "peak_pss_mb": pss,
            **json.loads(out.strip().splitlines()[-1])}


def run_raysynth(data: str, output: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {**os.environ, **LOCAL_ENV, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    cmd = [sys.executable, "-m", "jobs.evaluate", "--real", str(REAL), "--synthetic", data,
           "--output", output, "settings.metrics=[fidelity]"]
    wall, pss, out = measured(cmd, env)
    result = json.loads(out.strip().splitlines()[-1])
    from synth.data.io import read_bytes

    seconds = json.loads(read_bytes(f"{output}/report.json"))["settings"]["seconds"]
    return {"tool": "raysynth", "wall_s": wall, "peak_pss_mb": pss, "job_s": seconds,
            **{k: result["scores"][k] for k in ("quality", "column_shapes",
                                                  "column_pair_trends")}}


def upload_to_moto(workdir: Path, millions: int) -> tuple[object, str, dict[str, str]]:
    import boto3
    from moto.server import ThreadedMotoServer

    port = 5123
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(env)
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    s3.create_bucket(Bucket="bench")
    for i in range(millions):
        s3.upload_file(str(workdir / "parts" / f"part-{i:04d}.parquet"), "bench",
                       f"synthetic/part-{i:04d}.parquet")
    return server, "s3://bench", env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 5], help="millions of rows")
    ap.add_argument("--s3-size", type=int, default=20, help="millions of rows read from S3")
    ap.add_argument("--workdir", default="/tmp/raysynth-evalbench")
    args = ap.parse_args(argv)
    workdir = Path(args.workdir)
    make_synthetic(workdir, max([*args.sizes, args.s3_size]))
    rows = []
    for n in args.sizes:
        data = prefix(workdir, n)
        rows.append({"rows": n * MILLION, "source": "local", **run_sdmetrics(data)})
        rows.append({"rows": n * MILLION, "source": "local",
                     **run_raysynth(str(data), str(workdir / f"report-{n}m"))})
        print(json.dumps(rows[-2]), json.dumps(rows[-1]), flush=True)
    if args.s3_size:
        server, bucket, env = upload_to_moto(workdir, args.s3_size)
        try:
            rows.append({"rows": args.s3_size * MILLION, "source": "s3 (moto)",
                         **run_raysynth(f"{bucket}/synthetic/", f"{bucket}/report", env)})
            print(json.dumps(rows[-1]), flush=True)
        finally:
            server.stop()
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    head = ("| rows | source | tool | wall s | job s | peak PSS MB | quality | shapes | "
            "pair trends |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        job = f"{r['job_s']:.1f}" if "job_s" in r else \
            f"{r['report_s']:.1f} (+{r['load_s']:.1f} load)"
        lines.append(f"| {r['rows']:,} | {r['source']} | {r['tool']} | {r['wall_s']:.1f} | "
                     f"{job} | {r['peak_pss_mb']:.0f} | {r['quality']:.4f} | "
                     f"{r['column_shapes']:.4f} | {r['column_pair_trends']:.4f} |")
    return f"{platform.node()} {platform.processor()} {os.cpu_count()} CPUs\n" + "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
