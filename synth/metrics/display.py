"""Per-column real vs synthetic distributions for the report's charts, taken from the same
mergeable counts as the scores (so a 20M-row evaluation draws them without the rows)."""

from __future__ import annotations

import numpy as np

from synth.metrics.counts import Counts, Plan

DISPLAY_BINS = 30
TOP_CATEGORIES = 20


def _slot_values(edges: np.ndarray) -> np.ndarray:
    """A representative value per edge slot: the edge itself, or the nearest edge for the
    open intervals (the chart is binned far coarser than the edges)."""
    j = np.arange(2 * len(edges) + 1) // 2
    return edges[np.clip(j, 0, len(edges) - 1)]


def _continuous(edges: np.ndarray, real: np.ndarray, synthetic: np.ndarray) -> dict:
    if len(edges) == 0:
        return {"type": "continuous", "edges": [], "real": [], "synthetic": []}
    lo, hi = float(edges[0]), float(edges[-1])
    bins = np.linspace(lo, hi if hi > lo else lo + 1.0, DISPLAY_BINS + 1)
    idx = np.clip(np.searchsorted(bins, _slot_values(edges), side="right") - 1, 0,
                  DISPLAY_BINS - 1)
    out = {"type": "continuous", "edges": bins.tolist()}
    for role, hist in (("real", real), ("synthetic", synthetic)):
        total = max(hist.sum(), 1)
        out[role] = (np.bincount(idx, weights=hist, minlength=DISPLAY_BINS) / total).tolist()
    return out


def _discrete(labels: list[str], real: np.ndarray, synthetic: np.ndarray) -> dict:
    pr = real / max(real.sum(), 1)
    ps = synthetic / max(synthetic.sum(), 1)
    order = np.argsort(-(pr + ps / 1e3), kind="stable")
    top, rest = order[:TOP_CATEGORIES], order[TOP_CATEGORIES:]
    names = [labels[i] for i in top]
    r, s = pr[top].tolist(), ps[top].tolist()
    if len(rest):
        names.append(f"{len(rest)} others")
        r.append(float(pr[rest].sum()))
        s.append(float(ps[rest].sum()))
    return {"type": "discrete", "labels": names, "real": r, "synthetic": s}


def distributions(plan: Plan, real: Counts, synthetic: Counts) -> dict[str, dict]:
    out = {}
    for name, shape in plan.shapes.items():
        if shape == "continuous":
            out[name] = _continuous(plan.edges[name], real.hist[name], synthetic.hist[name])
        else:
            labels = [str(v) for v in plan.vocab[name]] + ["(other values)", "(null)"]
            keep = [i for i in range(len(labels))
                    if i < len(labels) - 2 or real.cats[name][i] + synthetic.cats[name][i] > 0]
            out[name] = _discrete([labels[i] for i in keep], real.cats[name][keep],
                                  synthetic.cats[name][keep])
    return out
