"""The baseline's pass over the rows, block by block: per column the row, null and invalid
counts, min/max/sum/sum of squares and a uniform sample of the values (numbers), or the count
of every category (up to CATEGORY_CAP of them). Partials merge in any order
(`merge(profile(A), profile(B))` describes A ∪ B: counts add, the sample is the bottom-k of
random keys of the union), so a Ray Data stream of 100M rows needs no big node."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.metrics.columns import null_count
from synth.monitor.values import DISCRETE, NUMERIC, category_counts, column, numbers, rows

SAMPLE = 50_000  # values kept per numeric column for its quantiles
CATEGORY_CAP = 2_000  # categories counted per column; above it the column is open-ended


@dataclass
class ColumnProfile:
    kind: str
    rows: int = 0
    nulls: int = 0
    invalid: int = 0  # non-null values that do not read as the kind (text in a number column)
    lo: float = np.inf
    hi: float = -np.inf
    total: float = 0.0
    total_sq: float = 0.0
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0))
    counts: dict[str, int] | None = field(default_factory=dict)  # None: over the cap


Profile = dict[str, ColumnProfile]


def profile(block: Any, kinds: dict[str, str], seed: int = 0) -> Profile:
    """The partial of one block (an Arrow table or a DataFrame)."""
    n = rows(block)
    rng = np.random.default_rng([seed, n, _block_digest(block)])
    out: Profile = {}
    for name, kind in kinds.items():
        col = column(block, name)
        p = ColumnProfile(kind, rows=n)
        if kind in NUMERIC:
            _, x, p.nulls, p.invalid = numbers(col, kind)
            if len(x):
                # sums of centred values would merge exactly; these are float64 and monitored
                # data is far from the precision where that matters
                p.lo, p.hi = float(x.min()), float(x.max())
                p.total, p.total_sq = float(x.sum()), float(np.square(x).sum())
            keys = rng.integers(0, np.iinfo(np.uint64).max, len(x), dtype=np.uint64,
                                endpoint=False)
            p.keys, p.values = _bottom(keys, x, SAMPLE)
        elif kind in DISCRETE:
            counts, p.nulls = category_counts(col)
            p.counts = counts if len(counts) <= CATEGORY_CAP else None
        else:  # id / text / list: counted, not profiled
            p.nulls = null_count(col)
        out[name] = p
    return out


def _bottom(keys: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(keys) <= k:
        return keys, values
    keep = np.argpartition(keys, k)[:k]
    return keys[keep], values[keep]


def _block_digest(block: Any) -> int:
    """A number that differs between blocks (so their random keys differ) and is the same for
    the same rows, run after run."""
    first = column(block, block.column_names[0] if hasattr(block, "column_names")
                   else block.columns[0])
    head = first.slice(0, 64).to_pylist() if hasattr(first, "to_pylist") else \
        first.iloc[:64].tolist()
    return zlib.crc32(repr(head).encode())


def merge(a: Profile, b: Profile) -> Profile:
    return {name: _merge_column(a[name], b[name]) for name in a}


def _merge_column(a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    out = ColumnProfile(a.kind, a.rows + b.rows, a.nulls + b.nulls, a.invalid + b.invalid,
                        min(a.lo, b.lo), max(a.hi, b.hi), a.total + b.total,
                        a.total_sq + b.total_sq)
    out.keys, out.values = _bottom(np.concatenate([a.keys, b.keys]),
                                   np.concatenate([a.values, b.values]), SAMPLE)
    if a.counts is None or b.counts is None:
        out.counts = None
    else:
        merged = dict(a.counts)
        for k, v in b.counts.items():
            merged[k] = merged.get(k, 0) + v
        out.counts = merged if len(merged) <= CATEGORY_CAP else None
    return out
