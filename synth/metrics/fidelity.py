"""Fidelity with the SDMetrics QualityReport definitions, computed from mergeable statistics
(synth.metrics.scan / counts) so a stream of blocks and one DataFrame give the same scores:

- column shapes: 1 - KS statistic (numerical, datetime), 1 - total variation distance of the
  category frequencies (categorical, boolean); nulls are left out of both, as SDMetrics does;
- column pair trends: 1 - |r_real - r_synthetic| / 2 with Pearson's r for two continuous
  columns, else 1 - total variation distance of the contingency tables (nulls a category),
  averaged over the pairs that are related in the real data (see pair_details);
- quality: the mean of the two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.data.metadata import Metadata, detect_metadata
from synth.metrics.counts import Counts, Plan, count, make_plan
from synth.metrics.scan import scan
from synth.registry import Registry

METRICS: Registry = Registry("metric")
PAIR_THRESHOLDS = (0.5, 0.3)  # real |correlation|, real Cramér's V (SDMetrics' defaults)


def ks_from_hist(real: np.ndarray, synthetic: np.ndarray) -> tuple[float, float]:
    """(KS statistic, bound on its error) from edge-slot counts (see counts._edge_hist).
    Exact when the edges hold every distinct real value: the real CDF is then flat inside each
    open slot while the synthetic one rises monotonically, so the supremum is at a slot end."""
    nr, ns = real.sum(), synthetic.sum()
    if nr == 0 or ns == 0:
        return float("nan"), 0.0
    gap = np.abs(np.cumsum(real) / nr - np.cumsum(synthetic) / ns)
    inside = real[0::2] / nr  # real mass strictly between two edges (0 when edges are exact)
    return float(gap.max()), float(inside.max())


def tv_from_counts(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Total variation distance of two count vectors (nulls already removed)."""
    nr, ns = real.sum(), synthetic.sum()
    if nr == 0 or ns == 0:
        return float("nan")
    return float(0.5 * np.abs(real / nr - synthetic / ns).sum())


def pearson(m: np.ndarray) -> float:
    n, _, _, sxx, syy, sxy = m
    if n < 2 or sxx <= 0 or syy <= 0:
        return float("nan")  # constant or empty: undefined, left out of the mean (as SDMetrics)
    return float(np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0))


def cramers_v(table: tuple[np.ndarray, np.ndarray], width: int) -> float:
    """Cramér's V (no continuity correction) of a sparse contingency table over the
    observed rows and columns; NaN when it has fewer than two of either."""
    keys, counts = table
    rows, row_idx = np.unique(keys // width, return_inverse=True)
    cols, col_idx = np.unique(keys % width, return_inverse=True)
    if len(rows) < 2 or len(cols) < 2 or counts.sum() == 0:
        return float("nan")
    dense = np.zeros((len(rows), len(cols)))
    np.add.at(dense, (row_idx, col_idx), counts)
    n = dense.sum()
    expected = dense.sum(1, keepdims=True) * dense.sum(0, keepdims=True) / n
    chi2 = float(((dense - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(dense.shape) - 1))))


def contingency_tv(real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
                   ) -> float:
    (kr, cr), (ks, cs) = real, synthetic
    keys = np.union1d(kr, ks)
    pr = np.zeros(len(keys))
    ps = np.zeros(len(keys))
    pr[np.searchsorted(keys, kr)] = cr / max(cr.sum(), 1)
    ps[np.searchsorted(keys, ks)] = cs / max(cs.sum(), 1)
    return float(0.5 * np.abs(pr - ps).sum())


def _lumped_bound(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Values outside the vocabulary share one overflow count; lumping can only lower the TV
    distance, by at most min(real overflow share, synthetic overflow share) (0 whenever every
    real value is in the vocabulary)."""
    nr, ns = real.sum(), synthetic.sum()
    if nr == 0 or ns == 0:
        return 0.0
    return float(min(real[-1] / nr, synthetic[-1] / ns))


def shape_details(plan: Plan, real: Counts, synthetic: Counts) -> dict[str, dict]:
    out = {}
    for name, shape in plan.shapes.items():
        if shape == "continuous":
            ks, bound = ks_from_hist(real.hist[name], synthetic.hist[name])
            out[name] = {"metric": "KSComplement", "score": 1.0 - ks, "error_bound": bound}
        else:
            tv = tv_from_counts(real.cats[name][:-1], synthetic.cats[name][:-1])
            bound = _lumped_bound(real.cats[name][:-1], synthetic.cats[name][:-1])
            out[name] = {"metric": "TVComplement", "score": 1.0 - tv, "error_bound": bound}
    return out


def pair_details(plan: Plan, real: Counts, synthetic: Counts,
                 thresholds: tuple[float, float] = PAIR_THRESHOLDS) -> dict[str, dict]:
    """Per pair: its score and whether the pair is related enough in the real data to count
    in `column_pair_trends` (|Pearson r| > 0.5 or Cramér's V > 0.3 by default, as the
    SDMetrics QualityReport); `column_pair_trends_all` averages every pair."""
    out = {}
    for a, b in plan.pairs:
        if (a, b) in real.moments:
            ra, sa = pearson(real.moments[(a, b)]), pearson(synthetic.moments[(a, b)])
            entry = {"metric": "CorrelationSimilarity", "real": ra, "synthetic": sa,
                     "score": 1.0 - abs(ra - sa) / 2.0, "related": abs(ra) > thresholds[0]}
        else:
            tv = contingency_tv(real.tables[(a, b)], synthetic.tables[(a, b)])
            v = cramers_v(real.tables[(a, b)], plan.width(b))
            entry = {"metric": "ContingencySimilarity", "real_association": v,
                     "synthetic_association": cramers_v(synthetic.tables[(a, b)], plan.width(b)),
                     "score": 1.0 - tv, "related": bool(v > thresholds[1])}
            if np.isnan(v):
                entry["score"] = float("nan")
        entry["related"] = bool(entry["related"])
        out[f"{a} | {b}"] = entry
    return out


def _mean(details: dict[str, dict], related_only: bool = False) -> float:
    scores = [d["score"] for d in details.values()
              if not np.isnan(d["score"]) and (d.get("related", True) or not related_only)]
    return float(np.mean(scores)) if scores else float("nan")


def summarize(plan: Plan, real: Counts, synthetic: Counts,
              thresholds: tuple[float, float] = PAIR_THRESHOLDS) -> tuple[dict, dict]:
    """(scores, details) of the fidelity metrics from the two data sets' counts."""
    shapes = shape_details(plan, real, synthetic)
    pairs = pair_details(plan, real, synthetic, thresholds)
    missing = {c: 1.0 - abs(real.nulls[c] / max(real.rows, 1)
                            - synthetic.nulls[c] / max(synthetic.rows, 1)) for c in plan.shapes}
    scores = {"column_shapes": _mean(shapes), "column_pair_trends": _mean(pairs, True),
              "column_pair_trends_all": _mean(pairs),
              "missing_values": float(np.mean(list(missing.values()))) if missing else 1.0}
    parts = [v for v in (scores["column_shapes"], scores["column_pair_trends"]) if not np.isnan(v)]
    scores["quality"] = float(np.mean(parts)) if parts else float("nan")
    exact = all(plan.exact.values())
    return scores, {"column_shapes": shapes, "column_pair_trends": pairs,
                    "missing_values": missing, "exact": exact}


def fidelity_counts(real: pd.DataFrame, synthetic: pd.DataFrame, md: Metadata,
                    pairs: bool = True) -> tuple[Plan, Counts, Counts]:
    """Both passes on in-memory frames (one block each); `pairs=False` counts columns only."""
    plan = make_plan(md, scan(real, md), scan(synthetic, md, sketch_continuous=False))
    if not pairs:
        plan.pairs = []
    return plan, count(real, md, plan, "real"), count(synthetic, md, plan, "synthetic")


@METRICS.register("fidelity")
def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | None = None
             ) -> dict[str, float]:
    """quality, column_shapes, column_pair_trends and missing_values."""
    md = metadata or detect_metadata(real)
    return summarize(*fidelity_counts(real, synthetic, md))[0]


@METRICS.register("column_shapes")
def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | None = None
                  ) -> dict[str, float]:
    """Per-column shape scores and their mean under key 'column_shapes' (id/text skipped)."""
    md = metadata or detect_metadata(real)
    details = shape_details(*fidelity_counts(real, synthetic, md, pairs=False))
    scores = {name: d["score"] for name, d in details.items()}
    scores["column_shapes"] = _mean(details)
    return scores
