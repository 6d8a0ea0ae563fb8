"""How the metrics see a column: continuous (numerical, datetime -> float) or discrete
(categorical, boolean -> hashable values); id and text columns are not compared."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def continuous_values(series: pd.Series, meta: ColumnMeta) -> np.ndarray:
    """float64 values, NaN for nulls; datetimes as nanoseconds since the epoch."""
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


def value_hash(values: np.ndarray) -> np.ndarray:
    """A stable uint64 hash per value, independent of how the data is split into blocks
    (strings are hashed by their text, so 1 and '1' collide only in the sketch order)."""
    if values.dtype.kind == "f":
        return pd.util.hash_array(values)
    return pd.util.hash_array(np.asarray([str(v) for v in values], dtype=object))
