"""Tables in codec space, what models without mode normalization read and what `_block`
returns: numeric and datetime columns as float64 (NaN: null), categorical columns as level
codes (nulls are a level)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.data.transformer import DataTransformer


def numeric_values(tr: DataTransformer, df: pd.DataFrame) -> np.ndarray:
    """Rows x numeric columns, float64, NaN where the cell is null."""
    cols = [tr.codecs[c].to_float(df[c]) for c in tr.numeric_columns]  # type: ignore[union-attr]
    return np.stack(cols, axis=1) if cols else np.zeros((len(df), 0))


def category_codes(tr: DataTransformer, df: pd.DataFrame) -> np.ndarray:
    """Rows x categorical columns, int64 level codes."""
    cols = [tr.codecs[c].encode(df[c]) for c in tr.categorical_columns]  # type: ignore[union-attr]
    return np.stack(cols, axis=1) if cols else np.zeros((len(df), 0), dtype=np.int64)


def numeric_range(tr: DataTransformer) -> tuple[np.ndarray, np.ndarray]:
    """(minimum, width) of every numeric column as seen in training (width 1 for a constant
    column), for scaling values to [0, 1]."""
    lo = np.array([tr.codecs[c].state["min"] for c in tr.numeric_columns], dtype=np.float64)
    hi = np.array([tr.codecs[c].state["max"] for c in tr.numeric_columns], dtype=np.float64)
    width = hi - lo
    return lo, np.where(width > 0, width, 1.0)
