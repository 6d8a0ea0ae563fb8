"""How the monitor reads a column of a block (a pandas Series or an Arrow array): numbers as
float64 (datetimes as nanoseconds since the epoch), categories as text keys, and the count of
values that do not read as the column's kind."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synth.data.metadata import ColumnMeta
from synth.metrics.columns import continuous_values, is_arrow, null_count

NUMERIC = ("numerical", "datetime")
DISCRETE = ("categorical", "boolean")


def numbers(col: Any, kind: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(every cell as a number, NaN for nulls and for values that do not read; the values
    that read; nulls; values that do not read)."""
    raw = continuous_values(col, ColumnMeta(kind))
    nulls = null_count(col)
    ok = raw[~np.isnan(raw)]
    return raw, ok, nulls, len(raw) - nulls - len(ok)


def key(value: Any) -> str:
    """One text key per category, the same from CSV and Parquet (1, 1.0 and "1" agree)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def category_counts(col: Any) -> tuple[dict[str, int], int]:
    """(count per category key, nulls)."""
    if is_arrow(col):
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        vc = pc.value_counts(col.drop_null()) if len(col) else None
        out: dict[str, int] = {}
        if vc is not None:
            for v, c in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(),
                            strict=True):
                k = key(v)
                out[k] = out.get(k, 0) + int(c)
        return out, int(col.null_count)
    series = pd.Series(col)
    out = {}
    for v, c in series.value_counts(dropna=True).items():
        k = key(v)
        out[k] = out.get(k, 0) + int(c)
    return out, int(series.isna().sum())


def column(block: Any, name: str) -> Any:
    return block.column(name) if isinstance(block, pa.Table) else block[name]


def rows(block: Any) -> int:
    return block.num_rows if isinstance(block, pa.Table) else len(block)
