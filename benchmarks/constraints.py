"""Constraints that hold in the bundled data, declared and measured: the share of synthetic
rows that obey them and the quality (SDMetrics QualityReport definitions) and detection AUC
against the same family fitted without them, side by side in one run.

- Adult, `education_num` declared categorical: fixed_combinations(education, education_num)
  (the real data holds 16 pairs, one number per education level);
- diamonds: inequality(z < x, strict) and range(50 <= depth <= 72); real rows that break them
  are removed first (the count is printed).

    python benchmarks/constraints.py --families argn gaussian_copula
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETS = {
    "adult": {"columns": {"education_num": "categorical"}, "constraints": [
        {"type": "fixed_combinations", "columns": ["education", "education_num"]}]},
    "diamonds": {"constraints": [
        {"type": "inequality", "low": "z", "high": "x", "strict": True},
        {"type": "range", "column": "depth", "low": 50, "high": 72}]},
}


def load(name: str, rows: int, seed: int) -> tuple[pd.DataFrame, int]:
    """The training rows that obey the declared rules, and how many real rows did not."""
    from synth.data.constraints import ConstraintSet
    from synth.data.metadata import detect_metadata

    if name == "adult":
        df = pd.read_csv(ROOT / "data/adult_train.csv.gz")
    else:
        df = pd.read_parquet(ROOT / "data/diamonds.parquet")
    df = df.sample(min(rows, len(df)), random_state=seed).reset_index(drop=True)
    ok = ConstraintSet(detect_metadata(df, SETS[name])).valid(df)
    return df[ok].reset_index(drop=True), int((~ok).sum())


def run(family: str, name: str, train: pd.DataFrame, rules: bool, seed: int) -> dict:
    import synth

    md = SETS[name] if rules else {"columns": SETS[name].get("columns", {})}
    start = time.perf_counter()
    model = synth.create_synthesizer(family, seed=seed).fit(train, md)
    fit_s = time.perf_counter() - start
    fake = model.sample(len(train), seed=seed + 1)
    s = synth.evaluate(train, fake, metadata=SETS[name], seed=seed,
                       metrics=("fidelity", "detection")).scores
    return {"fit_s": fit_s, **{k: s[k] for k in ("quality", "detection_auc",
                                                  "constraints_valid")}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", nargs="+", default=["argn", "gaussian_copula"])
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    print("| data | family | rules | real rows removed | fit s | valid rows | quality | "
          "detection AUC |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.sets:
        train, removed = load(name, args.rows, args.seed)
        for family in args.families:
            for rules in (False, True):
                r = run(family, name, train, rules, args.seed)
                print(f"| {name} | {family} | {'declared' if rules else 'none'} | {removed} | "
                      f"{r['fit_s']:.1f} | {r['constraints_valid']:.2%} | {r['quality']:.4f} | "
                      f"{r['detection_auc']:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
