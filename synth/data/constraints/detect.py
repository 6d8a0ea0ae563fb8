"""Orders between numeric columns that hold in every training row (a loan's amount never above
the price of what it buys: `Amount <= Price`), found so that a model can keep them
(argn's `detect_orders`).

A pair counts only when the order carries information: were the two columns independent, at
least `min_share` of the row pairs would break it (P(a > b) under a random pairing of the
rows). Columns whose ranges barely overlap (`age <= fnlwgt`) are ordered by their ranges alone;
a model keeps those anyway, and rewriting one column as a distance above the other would only
cost it its own shape. Each column takes part in at most one detected order, columns a
declared constraint names take part in none, and columns with nulls are left alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.constraints.chain import ConstraintSet
from synth.data.metadata import Metadata, as_float

MIN_ROWS = 50  # fewer rows than this prove no order
MIN_SHARE = 0.05  # the order's violation rate under independence that makes it a relation


def independent_break_share(low: np.ndarray, high: np.ndarray) -> float:
    """P(low_i > high_j) for i, j drawn independently: how often the order would break if
    the two columns had nothing to do with each other."""
    below = np.searchsorted(np.sort(high), low, side="left")  # high values under each low
    return float(below.mean() / len(high))


def detect_orders(df: pd.DataFrame, md: Metadata, min_share: float = MIN_SHARE
                  ) -> list[dict[str, Any]]:
    """Inequality specs (`low <= high`, violations fixed on rows a sample did not see) for
    the pairs of numeric columns ordered in every row, strongest relation first."""
    if len(df) < MIN_ROWS:
        return []
    taken = ConstraintSet(md).read  # the columns the declared rules read
    names = [c for c in md.names("numerical") if c not in taken and df[c].notna().all()]
    if len(names) < 2:
        return []
    x = np.column_stack([as_float(df[c]) for c in names])
    found = []
    for i in range(len(names)):
        ordered = (x[:, i:i + 1] <= x).all(axis=0)  # column i <= column j in every row
        for j in np.flatnonzero(ordered):
            if j == i or np.array_equal(x[:, i], x[:, j]):
                continue
            share = independent_break_share(x[:, i], x[:, j])
            if share >= min_share:
                found.append((share, names[i], names[int(j)]))
    out, used = [], set()
    for _share, low, high in sorted(found, reverse=True):
        if low in used or high in used:
            continue
        used.update((low, high))
        out.append({"type": "inequality", "low": low, "high": high, "violations": "fix"})
    return out
