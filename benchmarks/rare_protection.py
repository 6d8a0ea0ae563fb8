"""argn's rare protection (`rare_min_count`), measured: quality, detection and utility with
and without it on Adult, and how many synthetic rows carry a category the training data holds
fewer than k times (the values rare protection must never replay).

    python benchmarks/rare_protection.py --k 5 20
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rare_rows(train: pd.DataFrame, fake: pd.DataFrame, k: int) -> int:
    """Synthetic rows holding a category (text column) seen fewer than k times in training."""
    hits = pd.Series(False, index=fake.index)
    for col in train.select_dtypes("object").columns:
        counts = train[col].value_counts()
        hits |= fake[col].isin(set(counts[counts < k].index))
    return int(hits.sum())


def main(argv: list[str] | None = None) -> int:
    import synth

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, nargs="+", default=[5, 20])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    train = pd.read_csv(ROOT / "data/adult_train.csv.gz")
    test = pd.read_csv(ROOT / "data/adult_test.csv.gz")
    print("| rare_min_count | quality | detection AUC | TSTR ratio | rows with a category seen "
          "< k times (k = " + ", ".join(map(str, args.k)) + ") |")
    print("|---|---|---|---|---|")
    for setting in (0, *args.k):
        model = synth.create_synthesizer("argn", seed=args.seed, rare_min_count=setting)
        fake = model.fit(train).sample(len(train), seed=args.seed + 1)
        s = synth.evaluate(train, fake, target="income", holdout=test, seed=args.seed,
                           metrics=("fidelity", "detection", "utility")).scores
        counts = " / ".join(str(rare_rows(train, fake, k)) for k in args.k)
        print(f"| {setting} | {s['quality']:.4f} | {s['detection_auc']:.4f} | "
              f"{s['tstr_ratio']:.4f} | {counts} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
