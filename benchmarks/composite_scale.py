"""Compositing at scale: the example's boxes (examples/compositing, 640x480 frames, 1-3
objects per image) repeated to N images, written in this process (`--no-ray`) and by the Ray
Data job (2 tasks at once on a fresh local Ray) to local disk and to a moto S3 server on
127.0.0.1, in one run. "job s" is the job's own time (planning, compositing, PNG encoding,
writing, COCO JSON, preview, manifest); "wall s" adds the interpreter, imports and Ray's start;
peak PSS sums the job process and its descendants.

    python benchmarks/composite_scale.py --images 2000 20000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.evaluate_scale import LOCAL_ENV, measured  # noqa: E402
from benchmarks.sample_scale import start_moto  # noqa: E402

EXAMPLE = ROOT / "examples" / "compositing"


def run_job(boxes: Path, output: str, no_ray: bool, env_extra: dict[str, str] | None) -> dict:
    env = {**os.environ, **LOCAL_ENV, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    cmd = [sys.executable, "-m", "jobs.composite", "--backgrounds", str(EXAMPLE / "backgrounds"),
           "--objects", str(EXAMPLE / "objects"), "--boxes", str(boxes), "--output", output,
           "images_per_file=500", *(["--no-ray"] if no_ray else ["--concurrency", "2"])]
    wall, pss, out = measured(cmd, env)
    summary = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "job_s": summary["seconds"], "peak_pss_mb": pss,
            "images_per_s": summary["images"] / summary["seconds"],
            "annotations": summary["annotations"]}


def table(rows: list[dict]) -> str:
    import platform

    base = rows[0]["images_per_s"]
    lines = [f"{platform.node()} {os.cpu_count()} CPUs",
             "| setup | images | annotations | images/s | vs in-process | job s | wall s | "
             "peak PSS MB |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['setup']} | {r['images']:,} | {r['annotations']:,} | "
              f"{r['images_per_s']:,.0f} | {r['images_per_s'] / base:.2f}x | {r['job_s']} | "
              f"{r['wall_s']:.1f} | {r['peak_pss_mb']:.0f} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, nargs="+", default=[2000, 20000])
    args = ap.parse_args(argv)
    base = pd.read_csv(EXAMPLE / "boxes.csv")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server, env = start_moto()
        try:
            for n in args.images:
                boxes = Path(tmp) / f"boxes{n}.parquet"
                pd.concat([base] * -(-n // len(base)), ignore_index=True).head(n).to_parquet(
                    boxes)
                for setup, out, no_ray, extra in (
                        ("in process (--no-ray) -> local disk", f"{tmp}/a{n}", True, None),
                        ("ray data job -> local disk", f"{tmp}/b{n}", False, None),
                        ("ray data job -> moto S3", f"s3://bench/c{n}", False, env)):
                    rows.append({"setup": setup, "images": n,
                                 **run_job(boxes, out, no_ray, extra)})
                    print(rows[-1], flush=True)
        finally:
            server.stop()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
