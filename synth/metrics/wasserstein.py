"""Wasserstein distances, lower is better:

- per continuous column: the 1-Wasserstein distance between real and synthetic values scaled
  by the real column's range (0 = same distribution, 1 = shifted by the whole range);
- joint: the optimal-transport cost between equal-size subsamples of real and synthetic rows
  with the Gower distance as ground cost (an assignment problem, exact for the subsamples;
  its size is reported because the estimate depends on it, as is the same distance between two
  real subsamples, the floor a perfect generator would reach)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.stats import wasserstein_distance

from synth.data.metadata import Metadata
from synth.metrics.columns import compared_columns, continuous_values
from synth.metrics.gower import encode, pairwise


def column_wasserstein(real: pd.DataFrame, synthetic: pd.DataFrame, md: Metadata
                       ) -> dict[str, float]:
    out = {}
    for c, shape in compared_columns(md).items():
        if shape != "continuous":
            continue
        r = continuous_values(real[c], md.columns[c])
        s = continuous_values(synthetic[c], md.columns[c])
        r, s = r[~np.isnan(r)], s[~np.isnan(s)]
        if len(r) == 0 or len(s) == 0:
            out[c] = float("nan")
            continue
        span = (r.max() - r.min()) or 1.0
        out[c] = float(wasserstein_distance((r - r.min()) / span, (s - r.min()) / span))
    return out


def _matched_cost(a: pd.DataFrame, b: pd.DataFrame, md: Metadata, reference: pd.DataFrame
                  ) -> float:
    ea, eb = encode([a, b], md, reference=reference)
    cost = pairwise(ea, eb)
    i, j = linear_sum_assignment(cost)
    return float(cost[i, j].mean())


def joint_wasserstein(real: pd.DataFrame, synthetic: pd.DataFrame, md: Metadata, rows: int,
                      seed: int = 0) -> tuple[float, float, int]:
    """(mean matched Gower cost real vs synthetic, the same between two disjoint real
    subsamples (the estimator's floor; NaN when real has fewer than 2n rows), n)."""
    n = min(rows, len(real), len(synthetic))
    order = np.random.default_rng(seed).permutation(len(real))
    r = real.iloc[order[:n]]
    s = synthetic.iloc[np.random.default_rng(seed).permutation(len(synthetic))[:n]]
    joint = _matched_cost(r, s, md, real)
    floor = float("nan")
    if len(real) >= 2 * n:
        floor = _matched_cost(r, real.iloc[order[n:2 * n]], md, real)
    return joint, floor, n


def wasserstein(real: pd.DataFrame, synthetic: pd.DataFrame, md: Metadata, joint_rows: int,
                seed: int = 0) -> tuple[dict, dict]:
    per_column = column_wasserstein(real, synthetic, md)
    joint, floor, n = joint_wasserstein(real, synthetic, md, joint_rows, seed)
    valid = [v for v in per_column.values() if not np.isnan(v)]
    scores = {"wasserstein_columns": float(np.mean(valid)) if valid else float("nan"),
              "wasserstein_joint": joint, "wasserstein_joint_real": floor}
    note = (f"joint distance on {n} x {n} random rows (Gower ground cost); "
            "wasserstein_joint_real is the same between two disjoint real subsamples, the "
            "floor a perfect generator would reach at this sample size")
    return scores, {"per_column": per_column, "joint_rows": n, "note": note}
