"""List-valued columns: Arrow list columns (Python lists or arrays in pandas) and list-shaped
strings such as "[12.0, 40.5, 88.0, 120.0]", of fixed or variable length.

A model learns a list column element-wise: element i is a numeric column `col[i]`, and a
variable length is a column `col#length` (synth.data.constraints.lists); constraints can name
the elements (`{"type": "inequality", "low": "boxes[0]", "high": "boxes[2]"}`). Generated
lists come back in the training format: the same container, and for strings the same
separator, brackets and integer-or-float elements."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import DataError

MAX_LENGTH = 64  # longest list learned element-wise (each element is a model column)
_LISTY = re.compile(r"^\s*\[.*\]\s*$", re.S)


def is_list_value(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def looks_like_lists(values: pd.Series) -> bool:
    """Non-null values that are all lists, or all strings of a JSON list of numbers."""
    sample = values.head(200)
    if sample.empty:
        return False
    if all(is_list_value(v) for v in sample):
        return True
    if not all(isinstance(v, str) and _LISTY.match(v) for v in sample):
        return False
    try:
        return all(_numbers(json.loads(v)) for v in sample)
    except ValueError:
        return False


def _numbers(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in items)


class ListCodec:
    """Reads a list column into an (rows x max_length) float matrix plus lengths, and writes
    one back in the column's format. Not a model column itself: it cannot be conditioned on."""

    modelled = False

    def __init__(self, name: str, meta: Any) -> None:  # meta: a ColumnMeta of kind list
        self.name, self.meta = name, meta
        self.state: dict[str, Any] = {}

    def fit(self, series: pd.Series) -> None:
        values = series.dropna()
        strings = bool(len(values)) and isinstance(values.iloc[0], str)
        items, lengths, _ = self.elements(series)
        ints = bool(np.all(np.isnan(items) | (items == np.round(items))))
        sep = ", "
        if strings:
            inner = str(values.iloc[0]).strip()[1:-1]
            sep = ", " if ", " in inner or "," not in inner else ","
            ints = ints and not any("." in str(v) or "e" in str(v).lower() for v in values.head(50))
        self.state = {"format": "string" if strings else "list", "sep": sep, "ints": ints,
                      "max_length": int(lengths.max(initial=0)),
                      "fixed": bool(len(set(lengths[series.notna().to_numpy()].tolist())) <= 1),
                      "null_rate": float(series.isna().mean())}
        if self.state["max_length"] > MAX_LENGTH:
            raise DataError(f"column {self.name!r} holds lists of up to "
                            f"{self.state['max_length']} elements; at most {MAX_LENGTH} are "
                            "learned element-wise: shorten them or store them as text")

    def elements(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows x max_length floats, NaN past each list's end; lengths; null rows)."""
        rows = [self._parse(v, i) for i, v in enumerate(series.tolist())]
        null = np.array([r is None for r in rows])
        lengths = np.array([0 if r is None else len(r) for r in rows], dtype=np.int64)
        width = max(int(lengths.max(initial=0)), int(self.state.get("max_length", 0)))
        out = np.full((len(rows), width), np.nan)
        for i, r in enumerate(rows):
            if r:
                out[i, :min(len(r), width)] = r[:width]
        return out, lengths, null

    def _parse(self, value: Any, row: int) -> list[float] | None:
        if value is None or (not is_list_value(value) and pd.isna(value)):
            return None
        items = json.loads(value) if isinstance(value, str) else list(value)
        try:
            return [float(x) for x in items]
        except (TypeError, ValueError):
            raise DataError(f"column {self.name!r}, row {row}: {value!r} is not a list of "
                            "numbers") from None

    def join(self, items: np.ndarray, lengths: np.ndarray, null: np.ndarray) -> pd.Series:
        """The column from element values, lengths and null rows, in the training format."""
        st = self.state
        out: list[Any] = []
        for row, n, is_null in zip(items, lengths, null, strict=True):
            if is_null:
                out.append(None)
                continue
            values = [int(x) if st["ints"] else float(x) + 0.0 for x in row[:int(n)]]  # no -0.0
            if st["format"] == "string":
                out.append("[" + st["sep"].join(repr(v) for v in values) + "]")
            else:
                out.append(values)
        return pd.Series(out, name=self.name, dtype=object)

    def to_json(self) -> dict[str, Any]:
        return dict(self.state)

    def load_json(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.state = dict(state)
