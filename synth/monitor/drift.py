"""Per-column drift of a check against its baseline, from the fixed-size tallies:

- PSI (population stability index) over about 20 bins of equal baseline mass (numbers: the
  baseline's 5%-quantiles; categories: each category plus one for values never seen), zero
  shares floored at 1e-4: the industry's reading is < 0.1 stable, 0.1-0.25 moderate, > 0.25
  a shift;
- Jensen-Shannon distance (base 2, 0..1) on the same bins;
- KS: the largest gap between the two CDFs at the baseline's 100 quantile edges (numbers);
- Wasserstein-1 over the same grid (values spread evenly within a bin), in units of the
  baseline's standard deviation (numbers).

Only non-null values are compared; a change in the share of nulls is the completeness rule's
business."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon

from synth.monitor.tally import OTHER, ColumnTally

FLOOR = 1e-4
METRICS = ("psi", "js", "ks", "wasserstein")


def psi(p: np.ndarray, q: np.ndarray) -> float:
    p, q = np.maximum(p, FLOOR), np.maximum(q, FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def js(p: np.ndarray, q: np.ndarray) -> float:
    return float(jensenshannon(p, q, base=2)) if p.sum() > 0 and q.sum() > 0 else 0.0


def numeric_drift(stats: dict[str, Any], t: ColumnTally) -> dict[str, Any]:
    edges = np.asarray(stats["edges"])
    base = np.concatenate([[0.0], np.asarray(stats["probs"]), [0.0]])
    total = t.bins.sum() if t.bins is not None else 0
    if not total:
        return {m: None for m in METRICS}
    cur = t.bins / total
    fb, fc = np.cumsum(base), np.cumsum(cur)
    ks = float(np.max(np.abs(fb - fc)))
    widths = np.diff(edges) if len(edges) > 1 else np.zeros(1)
    d = np.abs(fb - fc)[:len(widths) + 1]  # at each edge (values below it)
    w = float(np.sum((d[:-1] + d[1:]) / 2 * widths)) if len(d) > 1 else 0.0
    w += cur[0] * max(edges[0] - t.lo, 0) / 2 + cur[-1] * max(t.hi - edges[-1], 0) / 2
    group = _coarse_groups(stats)
    pb, pc = np.bincount(group, base), np.bincount(group, cur)
    std = stats.get("std") or 0.0
    return {"psi": psi(pb, pc), "js": js(pb, pc), "ks": ks,
            "wasserstein": w / std if std > 0 else (0.0 if w == 0 else float("inf"))}


def _coarse_groups(stats: dict[str, Any]) -> np.ndarray:
    """Fine bin (below, bins..., above) -> coarse group: below and above are groups of their
    own, the bins fall into the baseline's 5%-quantile bins."""
    edges = np.asarray(stats["edges"])
    coarse = np.unique(np.asarray(stats["quantiles"])[::5])
    bins = max(len(edges) - 1, 1)
    inner = np.clip(np.searchsorted(coarse, edges[:bins], side="right") - 1, 0,
                    max(len(coarse) - 2, 0))
    return np.concatenate([[0], inner + 1, [inner.max() + 2]]).astype(np.int64)


def category_drift(stats: dict[str, Any], t: ColumnTally) -> dict[str, Any]:
    cats = stats.get("categories")
    total = sum(t.counts.values())
    if cats is None or not total:
        return {m: None for m in METRICS}
    names = list(cats)
    base = np.array([cats[k] for k in names] + [0], dtype=np.float64)
    base /= base.sum()
    cur = np.array([t.counts.get(k, 0) for k in names] +
                   [sum(v for k, v in t.counts.items() if k not in cats or k == OTHER)],
                   dtype=np.float64) / total
    return {"psi": psi(base, cur), "js": js(base, cur), "ks": None, "wasserstein": None}


def shares(stats: dict[str, Any], t: ColumnTally, top: int = 12) -> dict[str, Any] | None:
    """Baseline and current shares for the report's bar chart: the 5%-quantile bins of a
    number, the most frequent categories (plus 'unseen')."""
    if "edges" in stats and t.bins is not None and t.bins.sum():
        group = _coarse_groups(stats)
        base = np.bincount(group, np.concatenate([[0.0], stats["probs"], [0.0]]))
        cur = np.bincount(group, t.bins / t.bins.sum())
        coarse = np.unique(np.asarray(stats["quantiles"])[::5])
        labels = ["below"] + [f"{a:.4g}" for a in coarse[:len(base) - 2]] + ["above"]
        return {"labels": labels, "baseline": base.tolist(), "current": cur.tolist()}
    cats = stats.get("categories")
    total = sum(t.counts.values())
    if cats is None or not total:
        return None
    names = list(cats)[:top]
    base_total = sum(cats.values())
    unseen = sum(v for k, v in t.counts.items() if k not in cats)
    return {"labels": names + ["(unseen)"],
            "baseline": [cats[k] / base_total for k in names] + [0.0],
            "current": [t.counts.get(k, 0) / total for k in names] + [unseen / total]}
