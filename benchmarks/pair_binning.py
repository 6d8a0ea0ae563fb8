"""How much of a pair-trend score is the binning convention (issue 16's quality table).

The evaluation suite scores a numeric x categorical pair as SDMetrics' QualityReport does: each
data set's numeric column is cut into 10 equal-width bins over *its own* range, so a synthetic
sample whose minimum or maximum differs from the real one (a single real outlier it did not
reproduce) has every bin shifted against the real bins. This script scores the same related
pairs both ways, the suite's and with the real column's bins applied to both tables, for the
real holdout (the ceiling real data sets) and the fast families, on every bundled data set.

    python benchmarks/pair_binning.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BINS = 10


def _codes(col: pd.Series, real: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(real) and real.nunique() > BINS:
        edges = np.linspace(real.min(), real.max(), BINS + 1)[1:-1]
        out = pd.Series(np.digitize(col.astype(float), edges), index=col.index).astype(str)
        return out.where(col.notna(), "null")
    return col.astype(str)


def shared_bins_score(real: pd.DataFrame, fake: pd.DataFrame, a: str, b: str) -> float:
    """1 - total variation of the pair's joint frequencies, both tables cut on real's bins."""
    r = pd.crosstab(_codes(real[a], real[a]), _codes(real[b], real[b]), normalize=True)
    f = pd.crosstab(_codes(fake[a], real[a]), _codes(fake[b], real[b]), normalize=True)
    r, f = r.align(f, fill_value=0.0)
    return float(1 - 0.5 * np.abs(r.to_numpy() - f.fillna(0).to_numpy()).sum())


def main() -> int:
    import quality

    import synth

    warnings.filterwarnings("ignore")
    print("| data | sample | pair trends (suite: own-range bins) | pair trends (real range bins) |")
    print("|---|---|---|---|")
    for data in quality.DATASETS:
        train, holdout, _ = quality.split(data)
        tables = {"holdout (real)": holdout}
        for family in ("argn", "gaussian_copula"):
            model = synth.create_synthesizer(family, seed=0).fit(train)
            tables[family] = model.sample(len(train), seed=1)
        for name, fake in tables.items():
            report = synth.evaluate(train, fake, metrics=("fidelity",), seed=0)
            pairs = report.details["fidelity"]["column_pair_trends"]
            suite, shared = [], []
            for key, d in pairs.items():
                if not d["related"] or np.isnan(d["score"]):
                    continue
                suite.append(d["score"])
                a, b = key.split(" | ")
                shared.append(d["score"] if d["metric"] == "CorrelationSimilarity"
                              else shared_bins_score(train, fake, a, b))
            print(f"| {data} | {name} | {np.mean(suite):.3f} | {np.mean(shared):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
