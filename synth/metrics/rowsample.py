"""A mergeable uniform row sample: every row gets a pseudo-random key from its content, its
occurrence number among equal rows of the block and the seed; a sample keeps the k rows with
the smallest keys, so the k smallest of two samples are the k smallest of the union. Used by
the evaluate job to draw its bounded samples in the same pass as the statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class RowSample:
    keys: np.ndarray  # uint64, ascending
    rows: pd.DataFrame  # in key order
    seen: int  # rows this sample was drawn from


def row_keys(df: pd.DataFrame, seed: int) -> np.ndarray:
    content = pd.util.hash_pandas_object(df, index=False).to_numpy()
    occurrence = pd.Series(content).groupby(content).cumcount().to_numpy().astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = content + occurrence * _MIX + np.uint64(seed) * _MIX * np.uint64(3)
    return pd.util.hash_array(mixed)


def sample_rows(df: pd.DataFrame, k: int, seed: int) -> RowSample:
    keys = row_keys(df, seed)
    keep = np.argsort(keys, kind="stable")[:k]
    return RowSample(keys[keep], df.iloc[keep].reset_index(drop=True), len(df))


def merge_samples(a: RowSample, b: RowSample, k: int) -> RowSample:
    keys = np.concatenate([a.keys, b.keys])
    rows = pd.concat([a.rows, b.rows], ignore_index=True)
    keep = np.argsort(keys, kind="stable")[:k]
    return RowSample(keys[keep], rows.iloc[keep].reset_index(drop=True), a.seen + b.seen)
