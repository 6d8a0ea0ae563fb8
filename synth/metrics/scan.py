"""Pass 1 of the mergeable fidelity statistics: per column row/null counts, min/max and a
bottom-k sketch of the distinct values (all of them while there are at most `cap`).

`scan(A ∪ B) == merge_scans(scan(A), scan(B))` for any split of the rows: counts add,
min/max combine, and the bottom-k-by-hash of a union is the bottom-k of the two sketches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from synth.data.metadata import Metadata
from synth.metrics.columns import (
    compared_columns,
    continuous_values,
    distinct_values,
    null_count,
    value_hash,
)

DEFAULT_CAP = 50_000


@dataclass
class ColumnScan:
    """What one pass learns about one column."""

    shape: str
    rows: int = 0
    nulls: int = 0
    lo: float = np.inf
    hi: float = -np.inf
    values: np.ndarray = field(default_factory=lambda: np.empty(0))
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    complete: bool = True  # values holds every distinct non-null value

    def equals(self, other: ColumnScan) -> bool:
        same = (self.shape, self.rows, self.nulls, self.complete) == (
            other.shape, other.rows, other.nulls, other.complete)
        return (same and _same_float(self.lo, other.lo) and _same_float(self.hi, other.hi)
                and set(self.values.tolist()) == set(other.values.tolist()))


Scan = dict[str, ColumnScan]


def _same_float(a: float, b: float) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b))


def scan(df: pd.DataFrame | pa.Table, md: Metadata, cap: int = DEFAULT_CAP,
         sketch_continuous: bool = True) -> Scan:
    """Pass-1 statistics of a block of rows. `sketch_continuous=False` skips the distinct
    values of continuous columns (only the real data's are needed)."""
    out: Scan = {}
    for name, shape in compared_columns(md).items():
        meta = md.columns[name]
        if shape == "continuous":
            x = continuous_values(df[name], meta)
            ok = x[~np.isnan(x)]
            col = ColumnScan(shape, rows=len(x), nulls=int(len(x) - len(ok)))
            if len(ok):
                col.lo, col.hi = float(ok.min()), float(ok.max())
            distinct = np.unique(ok) if sketch_continuous else np.empty(0)
            col.complete = sketch_continuous
        else:
            series = df[name]
            col = ColumnScan(shape, rows=len(series), nulls=null_count(series))
            distinct = distinct_values(series)
        col.values, col.hashes = np.asarray(distinct), value_hash(np.asarray(distinct))
        out[name] = _bottom_k(col, cap)
    return out


def _bottom_k(col: ColumnScan, cap: int) -> ColumnScan:
    if len(col.values) > cap:
        keep = np.argsort(col.hashes, kind="stable")[:cap]
        col.values, col.hashes, col.complete = col.values[keep], col.hashes[keep], False
    return col


def merge_scans(a: Scan, b: Scan, cap: int = DEFAULT_CAP) -> Scan:
    """The scan of the union of the two row sets."""
    return {name: _merge_column(a[name], b[name], cap) for name in a}


def _merge_column(a: ColumnScan, b: ColumnScan, cap: int) -> ColumnScan:
    values = np.concatenate([a.values, b.values])
    hashes = np.concatenate([a.hashes, b.hashes])
    if values.dtype.kind == "f":
        values, first = np.unique(values, return_index=True)
    else:
        first = np.flatnonzero(~pd.Index(values).duplicated())
        values = values[first]
    col = ColumnScan(a.shape, rows=a.rows + b.rows, nulls=a.nulls + b.nulls,
                     lo=min(a.lo, b.lo), hi=max(a.hi, b.hi), values=values,
                     hashes=hashes[first], complete=a.complete and b.complete)
    return _bottom_k(col, cap)
