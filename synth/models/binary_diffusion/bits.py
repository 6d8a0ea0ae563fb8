"""Rows as fixed-size bit vectors (the paper's lossless binary transformation): a number is
min-max scaled and written as a `numeric_bits`-bit unsigned integer (most significant bit
first), a column with nulls adds one null bit, a category is its level code in
ceil(log2(levels)) bits. Decoding inverts it; a bit pattern past the last level wraps
around (code mod levels). One column (the guide) may be left out: the model carries it as a
label instead."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth.data.transformer import DataTransformer
from synth.models.codec_space import category_codes, numeric_range, numeric_values


@dataclass(frozen=True)
class Field:
    column: str
    role: str  # number | null | category
    start: int
    width: int
    levels: int = 0


class BitLayout:
    def __init__(self, tr: DataTransformer, numeric_bits: int, skip: str | None = None
                 ) -> None:
        self.numeric_bits, self.skip = numeric_bits, skip
        self.lo, self.span = numeric_range(tr)
        fields: list[Field] = []
        start = 0
        for name in tr.numeric_columns:
            fields.append(Field(name, "number", start, numeric_bits))
            start += numeric_bits
            if tr.codecs[name].state["null_rate"] > 0:
                fields.append(Field(name, "null", start, 1))
                start += 1
        for name in tr.categorical_columns:
            if name == skip:
                continue
            levels = tr.codecs[name].n_levels  # type: ignore[union-attr]
            width = max(1, math.ceil(math.log2(levels))) if levels > 1 else 1
            fields.append(Field(name, "category", start, width, levels))
            start += width
        self.fields, self.width = fields, start
        self.numeric = list(tr.numeric_columns)
        self.categorical = list(tr.categorical_columns)

    def encode(self, tr: DataTransformer, df: pd.DataFrame) -> np.ndarray:
        """Rows as float32 0/1 bits (rows x width)."""
        nums, cats = numeric_values(tr, df), category_codes(tr, df)
        out = np.zeros((len(df), self.width), dtype=np.float32)
        top = float(2 ** self.numeric_bits - 1)
        for f in self.fields:
            if f.role == "category":
                code = cats[:, self.categorical.index(f.column)]
                out[:, f.start:f.start + f.width] = _bits(code, f.width)
                continue
            j = self.numeric.index(f.column)
            null = np.isnan(nums[:, j])
            if f.role == "null":
                out[:, f.start] = null
                continue
            scaled = np.clip((np.nan_to_num(nums[:, j], nan=self.lo[j]) - self.lo[j])
                             / self.span[j], 0.0, 1.0)
            out[:, f.start:f.start + f.width] = _bits(np.rint(scaled * top).astype(np.int64),
                                                      f.width)
        return out

    def decode(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(numeric floats, null flags, category codes) in codec space; the skipped column's
        codes are left 0 for the caller to fill."""
        rows = len(bits)
        numeric = np.zeros((rows, len(self.numeric)))
        null = np.zeros((rows, len(self.numeric)), dtype=bool)
        cats = np.zeros((rows, len(self.categorical)), dtype=np.int64)
        top = float(2 ** self.numeric_bits - 1)
        for f in self.fields:
            value = _integers(bits[:, f.start:f.start + f.width])
            if f.role == "category":
                cats[:, self.categorical.index(f.column)] = value % f.levels
            elif f.role == "null":
                null[:, self.numeric.index(f.column)] = value == 1
            else:
                j = self.numeric.index(f.column)
                numeric[:, j] = self.lo[j] + value / top * self.span[j]
        return numeric, null, cats


def _bits(values: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values.astype(np.int64)[:, None] >> shifts) & 1).astype(np.float32)


def _integers(bits: np.ndarray) -> np.ndarray:
    weights = 2 ** np.arange(bits.shape[1] - 1, -1, -1, dtype=np.int64)
    return (bits > 0.5).astype(np.int64) @ weights
