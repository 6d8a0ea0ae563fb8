"""Checks on what is handed to the evaluation, with messages that name the column and the fix:
the data sets must be non-empty tables with the same columns, each column holding the same
type of value in all of them, and the target (when given) one of those columns."""

from __future__ import annotations

from typing import Any

import pandas as pd

from synth.data.metadata import Metadata, detect_metadata
from synth.errors import DataError
from synth.metrics.columns import compared_columns


def value_type(series: pd.Series) -> str | None:
    """'number', 'bool', 'datetime', 'text' or None (no values to tell)."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {"empty": None, "boolean": "bool", "integer": "number", "floating": "number",
            "mixed-integer-float": "number", "decimal": "number", "datetime64": "datetime",
            "datetime": "datetime", "date": "datetime"}.get(inferred, "text")


def _check_table(df: Any, role: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"the {role} data must be a pandas DataFrame, got {type(df).__name__}; "
                        "load files with synth.data.io.read_table(path)")
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError(f"the {role} data is empty ({len(df)} rows x {df.shape[1]} columns); "
                        "evaluate needs rows in every data set")


def check_columns(real_columns: list[str], other_columns: list[str], role: str) -> None:
    missing = [c for c in real_columns if c not in set(other_columns)]
    extra = [c for c in other_columns if c not in set(real_columns)]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"extra {extra}"] if extra else [])
        raise DataError(f"the {role} data does not have the real data's columns: "
                        f"{'; '.join(parts)}; select the same columns in both")


def check_types(real: pd.DataFrame, other: pd.DataFrame, role: str, md: Metadata) -> None:
    for c in compared_columns(md):
        a, b = value_type(real[c]), value_type(other[c])
        if a and b and a != b and {a, b} != {"bool", "number"}:
            raise DataError(f"column {c!r} holds {a} values in the real data but {b} values "
                            f"in the {role} data; convert it to one type in both")


def check_inputs(real: Any, synthetic: Any, metadata: Metadata | dict | None,
                 target: str | None, holdout: Any = None) -> Metadata:
    """Validate the inputs of synth.evaluate and return the metadata to use."""
    _check_table(real, "real")
    _check_table(synthetic, "synthetic")
    cols = [str(c) for c in real.columns]
    check_columns(cols, [str(c) for c in synthetic.columns], "synthetic")
    if holdout is not None:
        _check_table(holdout, "holdout")
        check_columns(cols, [str(c) for c in holdout.columns], "holdout")
    if isinstance(metadata, dict):
        metadata = Metadata.from_dict(metadata)
    unknown = [c for c in (metadata.columns if metadata is not None else ())
               if c not in set(cols)]
    if unknown:
        raise DataError(f"metadata names columns the data does not have: {unknown}")
    md = detect_metadata(real, metadata)  # the kinds not declared are detected, as fit does
    check_types(real, synthetic, "synthetic", md)
    if holdout is not None:
        check_types(real, holdout, "holdout", md)
    if target is not None:
        if target not in set(cols):
            raise DataError(f"target {target!r} is not a column; columns: {', '.join(cols)}")
        if target not in compared_columns(md):
            raise DataError(f"target {target!r} is a {md.kind(target)} column; pick a "
                            "numerical, datetime, categorical or boolean column")
    return md
