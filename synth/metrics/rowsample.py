"""A mergeable uniform row sample: every row gets a pseudo-random key, drawn from a generator
seeded by the seed and the block's size and first row (so the same blocks give the same
sample); a sample keeps the k rows with the smallest keys, so the k smallest of two samples are
the k smallest of the union. Used by the evaluate job to draw its bounded samples in the same
pass as the statistics."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa


@dataclass
class RowSample:
    keys: np.ndarray  # uint64, ascending
    rows: pd.DataFrame  # in key order
    seen: int  # rows this sample was drawn from


def _first_row(df: pd.DataFrame | pa.Table) -> int:
    if len(df) == 0:
        return 0
    row = df.slice(0, 1).to_pylist() if isinstance(df, pa.Table) else \
        df.head(1).to_dict("records")
    return zlib.crc32(repr(row).encode())


def row_keys(df: pd.DataFrame | pa.Table, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, len(df), _first_row(df)])
    return rng.integers(0, np.iinfo(np.uint64).max, size=len(df), dtype=np.uint64)


def sample_rows(df: pd.DataFrame | pa.Table, k: int, seed: int) -> RowSample:
    """The k rows with the smallest keys of a block (pandas or Arrow), as pandas."""
    keys = row_keys(df, seed)
    keep = np.argsort(keys, kind="stable")[:k]
    rows = df.take(keep).to_pandas() if isinstance(df, pa.Table) else df.iloc[keep]
    return RowSample(keys[keep], rows.reset_index(drop=True), len(df))


def merge_samples(a: RowSample, b: RowSample, k: int) -> RowSample:
    keys = np.concatenate([a.keys, b.keys])
    rows = pd.concat([a.rows, b.rows], ignore_index=True)
    keep = np.argsort(keys, kind="stable")[:k]
    return RowSample(keys[keep], rows.iloc[keep].reset_index(drop=True), a.seen + b.seen)
