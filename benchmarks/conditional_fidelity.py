"""Does conditional sampling follow the conditional distribution? (issue 2's criterion)

For each model and condition c: column shapes of `sample(n, conditions=c)` against real[c]
must be >= column shapes of an unconditional sample against real, minus 0.05. Also printed:
the same scores over the *other* columns only (the conditioned column itself is trivially
right after rejection), one dependence probe per condition (the share of
relationship=Husband), and how many generated rows rejection dropped (argn imposes every
condition natively: none).

    python benchmarks/conditional_fidelity.py --models argn gaussian_copula
    python benchmarks/conditional_fidelity.py --models ctgan --epochs 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

import synth
from synth.metrics import column_shapes
from synth.monitor.conditions import matching

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = [{"sex": "Female"}, {"income": ">50K"}, {"age": {"min": 30, "max": 40}},
              {"sex": "Female", "income": ">50K"}]


def others_mean(scores: dict[str, float], columns: list[str]) -> float:
    vals = [v for k, v in scores.items() if k not in (*columns, "column_shapes")]
    return sum(vals) / len(vals)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["ctgan", "gaussian_copula"])
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs of the models that train in epochs (default: their own)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    real = pd.read_csv(ROOT / "data/adult_train.csv.gz")
    print(f"# {time.strftime('%Y-%m-%d')}, Adult ({len(real)} rows), epochs {args.epochs}\n")
    print("| model | condition | base | conditioned | criterion (>= base-0.05) | others: "
          "conditioned / unconditioned | Husband share real / cond / uncond | rejected rows |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models:
        params = {"epochs": args.epochs} if args.epochs and name != "gaussian_copula" else {}
        model = synth.create_synthesizer(name, **params).fit(real)
        base = column_shapes(real, model.sample(len(real), seed=5), model.metadata)
        for cond in CONDITIONS:
            subset = real[matching(real, cond)].reset_index(drop=True)
            conditioned = model.sample(len(subset), conditions=cond, seed=5)
            rejected = model.rejected_rows
            unconditioned = model.sample(len(subset), seed=6)
            c = column_shapes(subset, conditioned, model.metadata)
            u = column_shapes(subset, unconditioned, model.metadata)
            ok = c["column_shapes"] >= base["column_shapes"] - 0.05
            husband = [(f["relationship"] == "Husband").mean()
                       for f in (subset, conditioned, unconditioned)]
            print(f"| {name} | {cond} | {base['column_shapes']:.3f} | {c['column_shapes']:.3f} | "
                  f"{'met' if ok else 'NOT met'} | {others_mean(c, list(cond)):.3f} / "
                  f"{others_mean(u, list(cond)):.3f} | {husband[0]:.3f} / {husband[1]:.3f} / "
                  f"{husband[2]:.3f} | {rejected:,} |", flush=True)


if __name__ == "__main__":
    main()
