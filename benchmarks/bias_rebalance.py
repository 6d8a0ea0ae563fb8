"""Rebalancing to equal group shares without losing fidelity (issue 22): a model at its
defaults on the bundled Adult training rows, then as many rows as training rows sampled plainly
and with `synth.monitor.rebalance(model, n, "sex")` (equal shares of `sex`, one per-row
condition each). Within each sex group, every other column's shape score against the real
rows of that group, plain beside rebalanced: rebalancing should move the group shares, not the
rows inside a group. Also the bias report's parity figures for sex and race, real beside
plain synthetic.

    python benchmarks/bias_rebalance.py --families argn gaussian_copula
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def per_group_shapes(real: pd.DataFrame, fake: pd.DataFrame, column: str) -> dict:
    from synth.data.metadata import Metadata, detect_metadata
    from synth.metrics.fidelity import column_shapes

    md = detect_metadata(real)
    others = [c for c in real.columns if c != column]
    sub = Metadata({c: md.columns[c] for c in others})
    out = {}
    for group in real[column].unique():
        scores = column_shapes(real[real[column] == group][others],
                               fake[fake[column] == group][others], sub)
        out[str(group)] = {c: scores[c] for c in others}
    return out


def run(family: str, real: pd.DataFrame, seed: int) -> dict:
    import synth
    import synth.monitor as mon

    start = time.perf_counter()
    model = synth.create_synthesizer(family, seed=seed).fit(real)
    fit_s = time.perf_counter() - start
    plain = model.sample(len(real), seed=seed + 1)
    start = time.perf_counter()
    balanced = mon.rebalance(model, len(real), "sex", seed=seed + 1)
    rebalance_s = time.perf_counter() - start
    a, b = per_group_shapes(real, plain, "sex"), per_group_shapes(real, balanced, "sex")
    diffs = {g: {c: b[g][c] - a[g][c] for c in a[g]} for g in a}
    worst = {g: min(d.items(), key=lambda kv: kv[1]) for g, d in diffs.items()}
    doc = mon.bias(real, plain, ["sex", "race"], target="income")
    return {"family": family, "fit_s": round(fit_s, 1), "rebalance_s": round(rebalance_s, 1),
            "shares": balanced["sex"].value_counts(normalize=True).round(4).to_dict(),
            "plain_shares": plain["sex"].value_counts(normalize=True).round(4).to_dict(),
            "mean_shapes": {g: (sum(a[g].values()) / len(a[g]), sum(b[g].values()) / len(b[g]))
                            for g in a},
            "max_drop": {g: (c, round(v, 4)) for g, (c, v) in worst.items()},
            "max_abs_change": max(abs(v) for d in diffs.values() for v in d.values()),
            "parity": {attr: p["parity"] for attr, p in doc["attributes"].items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", nargs="+", default=["argn", "gaussian_copula"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    real = pd.read_csv(ROOT / "data" / "adult_train.csv.gz")
    results = []
    for family in args.families:
        results.append(run(family, real, args.seed))
        print(json.dumps(results[-1], default=str), flush=True)
    print(f"{platform.node()} {os.cpu_count()} CPUs")
    print("| family | sex shares after (plain) | mean shapes in group, plain -> rebalanced | "
          "largest change of a column's shape in a group | fit s | rebalance s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        shares = ", ".join(f"{g} {v:.4f} ({r['plain_shares'][g]:.4f})"
                           for g, v in r["shares"].items())
        means = ", ".join(f"{g} {p:.3f} -> {q:.3f}" for g, (p, q) in r["mean_shapes"].items())
        drops = ", ".join(f"{g}: {c} {v:+.4f}" for g, (c, v) in r["max_drop"].items())
        print(f"| {r['family']} | {shares} | {means} | max abs {r['max_abs_change']:.4f}; "
              f"worst {drops} | {r['fit_s']} | {r['rebalance_s']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
