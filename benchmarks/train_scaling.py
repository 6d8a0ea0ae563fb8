"""Data-parallel training throughput and quality: raysynth `ctgan` on Ray Train with 1 vs 2
workers (one torch thread each), plus single-process raysynth vs SDV's CTGANSynthesizer, on
the bundled Adult data, in one run on one machine.

Throughput is training rows per second per epoch (rows all ranks consumed / epoch time), the
median over epochs after the first. Quality is sdmetrics' QualityReport of as many sampled
rows as the training set has, against it; mean over seeds. Same per-worker batch (500) and
epochs everywhere, so 2 workers take half the optimizer steps of 1 worker per epoch with a
global batch twice as large (see synth/models/session.py: learning rates are not rescaled).

    python benchmarks/train_scaling.py --epochs 10 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "data" / "adult_train.csv.gz"


def quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    from sdmetrics.reports import QualityReport

    from synth.data.metadata import detect_metadata

    md = detect_metadata(real)
    meta = {"tables": {"t": {"columns": {c: {"sdtype": m.kind} for c, m in md.columns.items()}}}}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"t": real}, {"t": synthetic}, meta, verbose=False)
    return float(report.get_score())


def ray_train(workers: int, epochs: int, seed: int, storage: str) -> dict:
    from jobs.common import resolve_params
    from jobs.ray_train.tables import fit_tables
    from jobs.train import TrainConfig, trainer_spec

    cfg = resolve_params(TrainConfig(
        data=str(DATA), model="ctgan", output="unused", num_workers=workers,
        params={"epochs": epochs, "seed": seed, "batch_size": 500}, storage=storage,
        run_name=f"scale-{workers}-{seed}", checkpoint_every=epochs))
    start = time.perf_counter()
    model, result, _ = fit_tables(cfg, None, trainer_spec(cfg))
    wall = time.perf_counter() - start
    history = result.metrics["history"]
    rates = [h["rows_per_s"] for h in history[1:]] or [history[0]["rows_per_s"]]
    return {"model": model, "rows_per_s": statistics.median(rates), "wall_s": wall}


def single_process(real: pd.DataFrame, epochs: int, seed: int) -> dict:
    import synth

    torch.set_num_threads(1)
    start = time.perf_counter()
    model = synth.create_synthesizer("ctgan", epochs=epochs, seed=seed,
                                     batch_size=500).fit(real)
    seconds = time.perf_counter() - start
    return {"model": model, "rows_per_s": epochs * (len(real) // 500) * 500 / seconds,
            "wall_s": seconds}


def sdv(real: pd.DataFrame, epochs: int, seed: int) -> dict:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    meta = Metadata.detect_from_dataframes({"table": real})
    model = CTGANSynthesizer(meta, epochs=epochs, batch_size=500, enable_gpu=False)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit({"table": real})  # SDV 2.0 takes a dict of tables
    seconds = time.perf_counter() - start
    return {"model": model, "rows_per_s": epochs * (len(real) // 500) * 500 / seconds,
            "wall_s": seconds}


def sample(model, n: int, seed: int) -> pd.DataFrame:
    if hasattr(model, "config"):
        return model.sample(n, seed=seed)
    out = model.sample(n)
    return out if isinstance(out, pd.DataFrame) else next(iter(out.values()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--skip-sdv", action="store_true")
    args = ap.parse_args(argv)
    from jobs.common import LOCAL_RAY_ENV

    os.environ.update(LOCAL_RAY_ENV)
    import ray

    real = pd.read_csv(DATA)
    # 3 logical CPUs on the 2 cores: the 2 workers plus the data-loading task that feeds their
    # shards (it runs once, before training)
    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False)
    rows: dict[str, list[dict]] = {"ray train, 1 worker": [], "ray train, 2 workers": []}
    with tempfile.TemporaryDirectory() as storage:
        for seed in args.seeds:
            for workers in (1, 2):
                run = ray_train(workers, args.epochs, seed, storage)
                run["quality"] = quality(real, sample(run.pop("model"), len(real), seed))
                key = f"ray train, {workers} worker" + ("s" if workers > 1 else "")
                rows[key].append(run)
                print(key, seed, run, flush=True)
    ray.shutdown()
    seed = args.seeds[0]
    for name, fn in (("synth, one process", single_process), ("SDV CTGAN, one process", sdv)):
        if name.startswith("SDV") and args.skip_sdv:
            continue
        run = fn(real, args.epochs, seed)
        run["quality"] = quality(real, sample(run.pop("model"), len(real), seed))
        rows[name] = [run]
        print(name, run, flush=True)
    print(table(rows, args))
    return 0


def table(rows: dict[str, list[dict]], args) -> str:
    base = statistics.mean(r["rows_per_s"] for r in rows["ray train, 1 worker"])
    q1 = statistics.mean(r["quality"] for r in rows["ray train, 1 worker"])
    lines = [f"{platform.node()} {os.cpu_count()} CPUs, torch {torch.__version__}, "
             f"epochs {args.epochs}, seeds {args.seeds}",
             "| setup | runs | rows/s (mean) | vs 1 worker | wall s (mean) | quality (mean) | "
             "Δ quality vs 1 worker |", "|---|---|---|---|---|---|---|"]
    for name, runs in rows.items():
        rate = statistics.mean(r["rows_per_s"] for r in runs)
        q = statistics.mean(r["quality"] for r in runs)
        wall = statistics.mean(r["wall_s"] for r in runs)
        lines.append(f"| {name} | {len(runs)} | {rate:,.0f} | {rate / base:.2f}x | {wall:.1f} | "
                     f"{q:.4f} | {q - q1:+.4f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
