"""Synthetic-data quality of every table family side by side, at each family's documented
default budget, on the bundled data sets (issue 16).

Each (data set, family, seed) trains on a train split, samples as many rows, and is scored by
the evaluation suite against that split (fidelity, detection), with the holdout for utility
(TSTR) and privacy (DCR, exact copies); a second, different detector (a random forest on
one-hot features) stands beside the suite's gradient-boosted one. One JSON line per result is
appended to --out as it finishes, so a stopped run resumes where it stopped; --table prints the
markdown table of what is there (means over seeds).

    python benchmarks/quality.py                      # all six families, resumable
    python benchmarks/quality.py --families potnet --seeds 0
    python benchmarks/quality.py --table
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "quality.jsonl"
DATASETS = {  # name: (file, target, holdout file or None: a seeded 20% split)
    "adult": ("adult_train.csv.gz", "income", "adult_test.csv.gz"),
    "credit": ("credit_data.parquet", "Status", None),
    "diamonds": ("diamonds.parquet", "price", None),
    "cps1988": ("cps1988.parquet", "wage", None),
}
SCORES = ("quality", "column_shapes", "column_pair_trends", "detection_auc", "detection_auc_rf",
          "tstr_ratio", "dcr_ratio", "exact_copies", "exact_copies_holdout")


def read(name: str) -> pd.DataFrame:
    path = ROOT / "data" / name
    return pd.read_csv(path) if name.endswith(".csv.gz") else pd.read_parquet(path)


def split(data: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    file, target, holdout = DATASETS[data]
    df = read(file)
    if holdout:
        return df, read(holdout), target
    test = df.sample(frac=0.2, random_state=0)
    return df.drop(test.index).reset_index(drop=True), test.reset_index(drop=True), target


def forest_auc(real: pd.DataFrame, fake: pd.DataFrame, seed: int, rows: int = 10_000) -> float:
    """A second detector: a random forest on one-hot categories and raw numbers, 3-fold AUC."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    a = real.sample(min(rows, len(real)), random_state=seed)
    b = fake.sample(min(rows, len(fake)), random_state=seed)
    both = pd.concat([a, b], ignore_index=True)
    numeric = both.select_dtypes("number").astype(float).fillna(-1e9)
    other = both.drop(columns=numeric.columns).astype(str)
    x = pd.concat([numeric, pd.get_dummies(other, sparse=False).astype(float)], axis=1)
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    model = RandomForestClassifier(n_estimators=200, min_samples_leaf=5, n_jobs=-1,
                                   random_state=seed)
    proba = cross_val_predict(model, x.to_numpy(), y, cv=3, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def run_one(data: str, family: str, seed: int) -> dict:
    import synth

    train, holdout, target = split(data)
    model = synth.create_synthesizer(family, seed=seed)
    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    fake = model.sample(len(train), seed=seed + 1)
    sample_s = time.perf_counter() - start
    report = synth.evaluate(train, fake, target=target, holdout=holdout, seed=seed)
    copies = synth.evaluate(train, holdout, metrics=("privacy",), holdout=holdout, seed=seed)
    scores = {k: float(v) for k, v in report.scores.items() if k in SCORES}
    scores["exact_copies_holdout"] = float(copies.scores.get("exact_copies", np.nan))
    scores["detection_auc_rf"] = forest_auc(train, fake, seed)
    return {"data": data, "family": family, "seed": seed, "fit_s": round(fit_s, 1),
            "sample_rows_s": round(len(fake) / sample_s), "epochs_run": len(model.history),
            "rows": len(train), **{k: round(v, 4) for k, v in scores.items()},
            "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.node()} "
            f"{os.cpu_count()} CPUs", "torch": torch.__version__}


def done(out: Path) -> set[tuple[str, str, int]]:
    if not out.exists():
        return set()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {(r["data"], r["family"], r["seed"]) for r in rows}


def table(out: Path) -> str:
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    keys = ("fit_s", "sample_rows_s", *SCORES)
    lines = ["| data | family | seeds | " + " | ".join(keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["data"], r["family"]), []).append(r)
    for (data, family), runs in sorted(groups.items()):
        cells = []
        for k in keys:
            values = [r[k] for r in runs if r.get(k) is not None and not pd.isna(r[k])]
            mean = statistics.mean(values) if values else float("nan")
            cells.append(f"{mean:,.0f}" if k == "sample_rows_s" else f"{mean:.3f}"
                         if k != "fit_s" else f"{mean:.1f}")
        lines.append(f"| {data} | {family} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=["argn", "gaussian_copula", "tvae",
                                                      "ctgan", "binary_diffusion", "potnet"])
    ap.add_argument("--data", nargs="+", default=list(DATASETS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                    help="seeds on Adult; the other data sets run the first one")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--table", action="store_true", help="print the table of --out and stop")
    args = ap.parse_args(argv)
    if args.table:
        print(table(args.out))
        return 0
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    finished = done(args.out)
    for data in args.data:
        for family in args.families:
            for seed in args.seeds if data == "adult" else args.seeds[:1]:
                if (data, family, seed) in finished:
                    continue
                result = run_one(data, family, seed)
                with args.out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
                print(json.dumps(result), flush=True)
    print(table(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
