"""The image train job's driver memory against the data set's size (issue 18, part 5).

Two forms of the same texture crops (128 x 128 grey PNGs) at two sizes: a Parquet-of-PNG prefix,
which the workers read and decode through Ray Data, and an NPZ file, which the driver loads and
hands over. Each run is a fresh `synth train` process (2 workers, 1 epoch of a small cgan at 32
px, its own local Ray); its peak RSS (VmHWM) is what the table shows.

    python benchmarks/image_stream_memory.py [--sizes 500 4000]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARGS = ["params.image_size=32", "params.g_features=8", "params.d_features=8",
        "params.batch_size=32", "params.snapshot_every=0"]
PEAK = ("import re, sys; from jobs import train; rc = train.main(sys.argv[1:]); "
        "status = open('/proc/self/status').read(); "
        "print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', status).group(1)); sys.exit(rc)")


def texture_crops(count: int, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    from synth.data.images import crops

    z = np.load(ROOT / "data" / "textures512.npz")
    images, names = [], []
    for i, name in enumerate(sorted(z.keys())):
        k = count // len(z.keys()) + (i < count % len(z.keys()))
        images.append(crops(z[name], size, k, seed=i))
        names += [name] * k
    return np.concatenate(images), np.array(names)


def write_forms(folder: Path, count: int) -> dict[str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synth.data.images import encode_png

    images, names = texture_crops(count)
    prefix = folder / f"prefix{count}"
    prefix.mkdir()
    for f in range(0, count, 500):
        part = slice(f, min(f + 500, count))
        pq.write_table(pa.table({"png": [encode_png(im[..., None]) for im in images[part]],
                                 "texture": names[part]}), prefix / f"part-{f // 500:05d}.parquet")
    npz = folder / f"images{count}.npz"
    np.savez(npz, images=images, texture=names)
    return {"parquet prefix (streamed)": str(prefix), "npz (driver loads)": str(npz)}


def driver_peak(data: str, folder: Path, tag: str) -> tuple[float, float]:
    argv = ["--data", data, "--model", "cgan", "--output", str(folder / f"m-{tag}"),
            "--epochs", "1", "num_workers=2", f"storage={folder / 'runs'}",
            f"run_name={tag}", *ARGS]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    kb = next(int(x.split()[1]) for x in done.stdout.splitlines() if x.startswith("PEAK_RSS"))
    return kb / 1024, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs=2, default=[500, 4000])
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        forms = {n: write_forms(folder, n) for n in args.sizes}
        for form in forms[args.sizes[0]]:
            for n in args.sizes:
                peak, wall = driver_peak(forms[n][form], folder, f"{form.split()[0]}{n}")
                rows.append({"form": form, "images": n, "driver_peak_mib": round(peak),
                             "wall_s": round(wall, 1)})
                print(json.dumps(rows[-1]), flush=True)
    decoded = (args.sizes[1] - args.sizes[0]) * 128 * 128 * 4 / 2**20
    print(f"\n{time.strftime('%Y-%m-%d')}, {platform.node()}; decoded float32 difference "
          f"between the sizes: {decoded:.0f} MiB\n")
    print("| form | images | driver peak RSS (MiB) | wall (s) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['form']} | {r['images']:,} | {r['driver_peak_mib']} | {r['wall_s']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
