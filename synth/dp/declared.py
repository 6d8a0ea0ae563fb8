"""A data transformer built from declarations, not from the rows: under differential privacy
nothing the model keeps may come from the data except through the accounted mechanisms, and a
codec fitted the usual way keeps the observed minimum and maximum (someone's exact value), the
categories seen (a rare one names a person) and their frequencies.

Declared per column in metadata:
- numerical / datetime: `min`, `max` (values outside are clipped to them), optionally
  `decimals` (default 0 for integer columns, none for floats) and `nullable`;
- categorical: `values` (the categories; a row with another value is an error), `nullable`;
- boolean: nothing (values False/True), `nullable`.
The data's dtypes (schema, not content) are read. Id, text and list columns are refused: their
generators replay patterns of the real values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import CategoricalCodec, NumericCodec
from synth.data.metadata import ColumnMeta, Metadata
from synth.data.transformer import DataTransformer, TransformerOptions
from synth.errors import ConfigError, DataError

EXAMPLE = ('metadata={"columns": {"age": {"kind": "numerical", "min": 17, "max": 90}, '
           '"sex": {"kind": "categorical", "values": ["Female", "Male"]}}}')


def check_declared(md: Metadata) -> None:
    """ConfigError naming every declaration a DP fit lacks, before any compute."""
    missing = []
    for name, meta in md.columns.items():
        if meta.kind in ("id", "text", "list"):
            missing.append(f"{name!r} is a {meta.kind} column (drop it, or declare it "
                           "categorical with its values)")
        elif meta.kind in ("numerical", "datetime") and (meta.min is None or meta.max is None):
            missing.append(f"{name!r} needs min and max")
        elif meta.kind == "categorical" and not meta.values:
            missing.append(f"{name!r} needs its values")
    if md.constraints:
        missing.append("constraints are not supported with dp yet (remove them)")
    if missing:
        raise ConfigError("differential privacy builds the model's codecs from declared "
                          "metadata, not from the rows: " + "; ".join(missing) + f". E.g. "
                          f"{EXAMPLE}")


def declared_transformer(md: Metadata, options: TransformerOptions, data: pd.DataFrame
                         ) -> DataTransformer:
    """The transformer of `md`'s declarations; `data` is checked against them (nulls where
    none are declared, categories outside the declared ones) but not learned from. With
    mode normalization the caller attaches normalizers (from a noisy release) and builds the
    spans."""
    check_declared(md)
    tr = DataTransformer(md, options)
    for name, meta in md.columns.items():
        codec = tr._new_codec(name)
        if isinstance(codec, NumericCodec):
            codec.state = numeric_state(codec, meta, data[name])
        elif isinstance(codec, CategoricalCodec):
            categorical_levels(codec, meta, data[name])
        tr.codecs[name] = codec
    if not options.mode_normalize:  # else the family attaches its normalizers, then spans
        tr._build_spans()
    return tr


def numeric_state(codec: NumericCodec, meta: ColumnMeta, series: pd.Series) -> dict[str, Any]:
    lo, hi = (float(codec.to_float(pd.Series([v]))[0]) for v in (meta.min, meta.max))
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ConfigError(f"column {codec.name!r}: declared min {meta.min!r} and max "
                          f"{meta.max!r} must be finite with min <= max")
    _check_nulls(codec.name, meta, series)
    integer = pd.api.types.is_integer_dtype(series) or str(series.dtype) == "Int64"
    decimals = meta.decimals if meta.decimals is not None else (0 if integer else None)
    if meta.kind == "datetime":
        decimals = None
    # null_rate only says whether the null span exists (the model learns the rate privately)
    return {"dtype": str(series.dtype), "null_rate": 0.5 if meta.nullable else 0.0,
            "min": lo, "max": hi,
            "decimals": decimals, "date_only": False, "nullable": bool(meta.nullable)}


def categorical_levels(codec: CategoricalCodec, meta: ColumnMeta, series: pd.Series) -> None:
    values = list(meta.values) if meta.values else [False, True]
    _check_nulls(codec.name, meta, series)
    seen = series.dropna()
    bad = ~seen.isin(values)
    if bad.any():
        raise DataError(f"column {codec.name!r} has values outside its declared values (e.g. "
                        f"{seen[bad].iloc[0]!r}); declare every category it takes")
    codec.dtype = str(series.dtype)
    codec.levels = [*values, *([None] if meta.nullable else [])]
    codec.probs = np.full(len(codec.levels), 1.0 / len(codec.levels))


def _check_nulls(name: str, meta: ColumnMeta, series: pd.Series) -> None:
    if not meta.nullable and series.isna().any():
        raise DataError(f"column {name!r} has nulls but is not declared nullable (add "
                        "\"nullable\": true to its metadata)")
