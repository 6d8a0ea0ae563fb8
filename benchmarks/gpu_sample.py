"""Sampling (and training) an Adult CTGAN on one GPU node vs its CPUs, for the per-node rate of
the streaming sample job (`jobs/sample.py --use-gpu`, one actor per process sharing the GPU).

Runs without Ray (synth/ never imports it), so it runs on a bare GPU machine:
- training seconds per epoch, CPU (all cores) vs CUDA;
- in-process `sample` rows/s: CPU 1 thread, CPU all threads, CUDA (1 CPU thread);
- where the time goes on CUDA: network + per-block decoding of spans vs the table decode;
- determinism on CUDA (same seed twice, same rows) and agreement with the CPU rows;
- P processes sampling at once (CPU only, and each with the network on the shared GPU): the
  node rate that P actors of the sample job would reach, before writing.

    python benchmarks/gpu_sample.py --rows 1000000 --procs 1 4 8 14 --out result.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "data" / "adult_train.csv.gz"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def train_seconds(real: pd.DataFrame, device: str, epochs: int) -> tuple[float, object]:
    import synth

    model = synth.create_synthesizer("ctgan", epochs=epochs, batch_size=500, device=device)
    seconds = timed(lambda: model.fit(real))
    return seconds / epochs, model


def sample_rate(model, rows: int, device: str, threads: int) -> float:
    torch.set_num_threads(threads)
    model.to_device(device)
    model.sample(10_000, seed=0)  # warm up
    return rows / timed(lambda: model.sample(rows, seed=1))


def breakdown(model, blocks: int, device: str) -> dict[str, float]:
    """Seconds per 1M rows in `_generate` (noise, network, span decoding) and `decode`."""
    from synth.models.base import BLOCK_ROWS

    torch.set_num_threads(1)
    model.to_device(device)
    plan = model._plan([])
    start = time.perf_counter()
    parts = model._generate(1, 0, 0, blocks, plan)  # seed 1, segment 0, blocks 0..
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    gen = time.perf_counter() - start
    dec = timed(lambda: model.transformer.decode(*parts))
    scale = 1e6 / (blocks * BLOCK_ROWS)
    return {"generate_s_per_1M": round(gen * scale, 2), "decode_s_per_1M": round(dec * scale, 2)}


def _worker(path: str, device: str, rows: int, seed: int, barrier, queue) -> None:
    import synth

    torch.set_num_threads(1)
    model = synth.load_synthesizer(path)
    if device != "cpu":
        model.to_device(device)
    model.sample(2048, seed=0)  # warm up
    barrier.wait()  # all processes loaded: start together
    start = time.perf_counter()
    model.sample(rows, seed=seed)
    queue.put(time.perf_counter() - start)


def node_rate(path: str, device: str, procs: int, rows_each: int) -> float:
    """Aggregate rows/s of `procs` processes sampling at once (each 1 thread)."""
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(procs)
    workers = [ctx.Process(target=_worker, args=(path, device, rows_each, i + 1, barrier, queue))
               for i in range(procs)]
    for w in workers:
        w.start()
    seconds = max(queue.get() for _ in range(procs))
    for w in workers:
        w.join()
    return procs * rows_each / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--out", default="gpu_sample.json")
    args = ap.parse_args()
    cuda = torch.cuda.is_available()
    real = pd.read_csv(DATA)
    cores = os.cpu_count() or 1
    out: dict = {"machine": platform.platform(), "cpus": cores, "torch": torch.__version__,
                 "gpu": torch.cuda.get_device_name(0) if cuda else None, "rows": args.rows}
    torch.set_num_threads(cores)
    out["train_cpu_s_per_epoch"], model = train_seconds(real, "cpu", 1)
    if cuda:
        out["train_cuda_s_per_epoch"], model = train_seconds(real, "cuda", args.epochs)
    print(json.dumps(out), flush=True)
    out["sample_cpu_1_thread"] = sample_rate(model, args.rows // 4, "cpu", 1)
    out["sample_cpu_all_threads"] = sample_rate(model, args.rows, "cpu", cores)
    out["breakdown_cpu_1_thread"] = breakdown(model, 100, "cpu")
    if cuda:
        out["sample_cuda_1_thread"] = sample_rate(model, args.rows, "cuda", 1)
        out["breakdown_cuda"] = breakdown(model, 200, "cuda")
        a = model.sample(50_000, seed=5)
        b = model.sample(50_000, seed=5)
        out["cuda_deterministic"] = bool(a.equals(b))
        model.to_device("cpu")
        c = model.sample(50_000, seed=5)
        same = (a.astype(str).to_numpy() == c.astype(str).to_numpy()).mean()
        out["cuda_vs_cpu_equal_cells"] = round(float(same), 4)
    print(json.dumps(out), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(str(Path(tmp) / "ctgan"))
        for device in ["cpu", *(["cuda"] if cuda else [])]:
            for procs in args.procs:
                if procs > cores:
                    continue
                rows_each = max(args.rows // 4, 2048 * 20)
                out[f"node_{device}_{procs}_procs"] = node_rate(path, device, procs, rows_each)
                print(json.dumps({k: v for k, v in out.items() if k.startswith("node")}),
                      flush=True)
    out = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in out.items()}
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
