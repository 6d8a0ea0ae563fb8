"""How the metrics see a column: continuous (numerical, datetime -> float) or discrete
(categorical, boolean -> hashable values); id and text columns are not compared.

The accessors take a pandas Series or an Arrow (Chunked)Array: the evaluate job hands Arrow
batches straight from Parquet/CSV, which skips the conversion to Python objects for strings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synth.data.metadata import ColumnMeta, Metadata

CONTINUOUS = ("numerical", "datetime")
DISCRETE = ("categorical", "boolean")


def shape_of(meta: ColumnMeta) -> str | None:
    """'continuous', 'discrete' or None (id/text: not compared)."""
    if meta.kind in CONTINUOUS:
        return "continuous"
    if meta.kind in DISCRETE:
        return "discrete"
    return None


def compared_columns(md: Metadata) -> dict[str, str]:
    """column -> shape for every column the fidelity metrics compare, in metadata order."""
    return {c: s for c, m in md.columns.items() if (s := shape_of(m)) is not None}


def is_arrow(col: Any) -> bool:
    return isinstance(col, pa.Array | pa.ChunkedArray)


def _arrow_is_number(col: Any) -> bool:
    t = col.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) \
        or pa.types.is_decimal(t) or pa.types.is_null(t)


def continuous_values(series: Any, meta: ColumnMeta) -> np.ndarray:
    """float64 values, NaN for nulls; datetimes as nanoseconds since the epoch."""
    if is_arrow(series):
        if meta.kind == "numerical" and _arrow_is_number(series):
            return np.asarray(pc.cast(series, pa.float64()).to_numpy(zero_copy_only=False),
                              dtype="float64")
        series = series.to_pandas()
    if meta.kind == "datetime" or pd.api.types.is_datetime64_any_dtype(series):
        if pd.api.types.is_datetime64_any_dtype(series):
            parsed = series
        else:
            parsed = pd.to_datetime(series, format=meta.datetime_format, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        out = parsed.astype("datetime64[ns]").to_numpy().astype("int64").astype("float64")
        out[parsed.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def discrete_values(series: pd.Series) -> np.ndarray:
    """Object array of the values with every kind of null as None."""
    values = series.astype(object).to_numpy(copy=True)
    values[pd.isna(values)] = None
    return values


def null_count(series: Any) -> int:
    if is_arrow(series):
        return int(series.null_count)
    return int(series.isna().sum())


def distinct_values(series: Any) -> np.ndarray:
    """The distinct non-null values (object array), without copying the column."""
    if is_arrow(series):
        return np.asarray(pc.unique(series).drop_null().to_pylist(), dtype=object)
    values = pd.unique(series)
    values = np.asarray(values, dtype=object)
    return values[~pd.isna(values)]


def _arrow_codes(col: Any, vocab: pd.Index) -> np.ndarray | None:
    try:
        value_set = pa.array(list(vocab), type=col.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return None  # mixed or mismatched types: the pandas path compares Python values
    index = pc.index_in(col, value_set=value_set)
    code = np.asarray(index.fill_null(len(vocab)).to_numpy(zero_copy_only=False), dtype=np.int64)
    if col.null_count:
        code[np.asarray(col.is_null().to_numpy(zero_copy_only=False))] = len(vocab) + 1
    return code


def codes_in(series: Any, vocab: pd.Index) -> np.ndarray:
    """Position of each value in `vocab`; len(vocab) when absent, len(vocab) + 1 when null."""
    if is_arrow(series):
        code = _arrow_codes(series, vocab) if len(vocab) else None
        if code is not None:
            return code
        series = series.to_pandas()
    code = vocab.get_indexer(series) if len(vocab) else np.full(len(series), -1)
    code = np.where(code < 0, len(vocab), code)
    code[series.isna().to_numpy()] = len(vocab) + 1
    return code


def value_hash(values: np.ndarray) -> np.ndarray:
    """A stable uint64 hash per value, independent of how the data is split into blocks
    (strings are hashed by their text, so 1 and '1' collide only in the sketch order)."""
    if values.dtype.kind == "f":
        return pd.util.hash_array(values)
    return pd.util.hash_array(np.asarray([str(v) for v in values], dtype=object))
