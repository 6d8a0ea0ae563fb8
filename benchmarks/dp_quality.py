"""Differentially private models on Adult against the non-private argn (issue 23): quality,
detection AUC, TSTR ratio and the membership attack's AUC (the evaluation suite's
distance-to-synthetic attack: training rows against as many holdout rows) at ε in {1, 3, 10}
with δ = 1/(10 n); and the same attack on a deliberately overfit non-private argn (1,000
training rows, 150 epochs, no early stopping), to show it can find members when there are any
to find. One JSON line per run in --out (resumable); --table prints the markdown table.

    python benchmarks/dp_quality.py
    python benchmarks/dp_quality.py --table

The codecs and tokens of the DP runs come from declared metadata: Adult's codebook (published
bounds of its numbers, its category lists) plus one noisy histogram release of the continuous
columns, accounted in ε. The evaluation reads real rows (it is the operator's report, not part
of what the model releases)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "dp_quality.jsonl"
KEYS = ("quality", "column_shapes", "column_pair_trends", "detection_auc", "tstr_ratio",
        "membership_auc", "membership_disclosure", "dcr_ratio")
RUNS = {  # name: (rows, family, params)
    "argn": (None, "argn", {}),
    "argn eps=10": (None, "argn", {"dp": {"epsilon": 10.0, "epochs": 10}}),
    "argn eps=3": (None, "argn", {"dp": {"epsilon": 3.0, "epochs": 10}}),
    "argn eps=1": (None, "argn", {"dp": {"epsilon": 1.0, "epochs": 10}}),
    "argn overfit (1k rows)": (1000, "argn", {"epochs": 150, "val_fraction": 0.0}),
    "argn eps=1 (1k rows)": (1000, "argn", {"dp": {"epsilon": 1.0, "epochs": 10},
                                            "batch_size": 64}),
    "tvae eps=3 (3 epochs)": (None, "tvae", {"dp": {"epsilon": 3.0, "epochs": 3}}),
    "ctgan eps=3 (3 epochs)": (None, "ctgan", {"pac": 1, "dp": {"epsilon": 3.0,
                                                                 "epochs": 3}}),
    "ctgan eps=10 (3 epochs)": (None, "ctgan", {"pac": 1, "dp": {"epsilon": 10.0,
                                                                  "epochs": 3}}),
    "ctgan eps=1 (3 epochs)": (None, "ctgan", {"pac": 1, "dp": {"epsilon": 1.0,
                                                                 "epochs": 3}}),
    "ctgan overfit (1k rows, pac=1)": (1000, "ctgan", {"pac": 1, "epochs": 300,
                                                        "batch_size": 100}),
    "ctgan eps=1 (1k rows)": (1000, "ctgan", {"pac": 1, "batch_size": 100,
                                               "dp": {"epsilon": 1.0, "epochs": 3}}),
    "ctgan eps=3 (30 epochs)": (None, "ctgan", {"pac": 1, "dp": {"epsilon": 3.0,
                                                                  "epochs": 30}}),
    "tvae eps=3 (30 epochs)": (None, "tvae", {"dp": {"epsilon": 3.0, "epochs": 30}}),
}


def declared() -> dict:
    """Adult's codebook as declared metadata (the bundled data/adult_metadata.json)."""
    return json.loads((ROOT / "data" / "adult_metadata.json").read_text())


def run_one(name: str, seed: int) -> dict:
    import synth

    train = pd.read_csv(ROOT / "data" / "adult_train.csv.gz")
    holdout = pd.read_csv(ROOT / "data" / "adult_test.csv.gz")
    rows, family, params = RUNS[name]
    md = declared() if "dp" in params else None
    if rows:
        train = train.sample(rows, random_state=seed).reset_index(drop=True)
    model = synth.create_synthesizer(family, seed=seed, **params)
    start = time.perf_counter()
    model.fit(train, metadata=md)
    fit_s = time.perf_counter() - start
    fake = model.sample(len(train), seed=seed + 1)
    report = synth.evaluate(train, fake, target="income", holdout=holdout, seed=seed)
    scores = {k: round(float(report.scores[k]), 4) for k in KEYS if k in report.scores}
    privacy = model.privacy or {}
    return {"run": name, "seed": seed, "rows": len(train), "fit_s": round(fit_s, 1),
            "epsilon": privacy.get("epsilon"), "delta": privacy.get("delta"),
            "noise_multiplier": privacy.get("noise_multiplier"), **scores,
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.node()} {os.cpu_count()} CPUs"}


def table(out: Path) -> str:
    rows = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    head = ["run", "rows", "ε", "σ", "fit_s", *KEYS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        eps = f"{r['epsilon']:.2f}" if r.get("epsilon") is not None else "∞"
        sigma = f"{r['noise_multiplier']:.2f}" if r.get("noise_multiplier") else "-"
        lines.append(f"| {r['run']} | {r['rows']:,} | {eps} | {sigma} | {r['fit_s']:.0f} | "
                     + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in KEYS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", default=list(RUNS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args(argv)
    if not args.table:
        warnings.filterwarnings("ignore")
        torch.set_num_threads(2)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        done = set()
        if args.out.exists():
            done = {json.loads(x)["run"] for x in args.out.read_text().splitlines() if x}
        for name in args.runs:
            if name in done:
                continue
            result = run_one(name, args.seed)
            with args.out.open("a") as f:
                f.write(json.dumps(result) + "\n")
            print(json.dumps(result), flush=True)
    print(table(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
