"""Sampling conditions: parsed and checked against the fitted transformer, then applied as
row masks. `{"sex": "Female"}` is an equality; `{"age": {"min": 30, "max": 40}}` an inclusive
range (either bound may be left out).

An equality on a numeric column is exact for integer columns and date-only datetimes (generated
values are rounded to that grid); on any other numeric column (floats, datetimes with a time)
a generated value meets it when it lies within EQ_TOLERANCE of the column's training range
(max - min) of the value asked: the value is the model's own, never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import CategoricalCodec, NumericCodec
from synth.data.schema import TableSchema
from synth.errors import ConditionError

EQ_TOLERANCE = 1e-3  # float equality: |generated - asked| <= EQ_TOLERANCE * (max - min)


@dataclass(frozen=True)
class Condition:
    column: str
    op: str  # "eq" or "range"
    value: Any = None  # eq: a training value (categorical) or a float in codec space
    low: float | None = None
    high: float | None = None
    code: int | None = None  # categorical eq: the level index when it is a modelled level
    tol: float = 0.0  # numeric eq: how far a generated value may lie from `value`


def parse_conditions(conditions: dict[str, Any] | None, tr: TableSchema) -> list[Condition]:
    """Check every column and value; the error names the culprit and the valid choices."""
    if conditions is None:
        return []
    if not isinstance(conditions, dict):
        raise ConditionError(f"conditions must be a dict {{column: value}} or a DataFrame, got "
                             f"{type(conditions).__name__}")
    return [_parse_one(col, value, tr) for col, value in conditions.items()]


def _parse_one(column: str, value: Any, tr: TableSchema) -> Condition:
    codec = tr.codecs.get(column)
    if codec is None:
        raise ConditionError(f"unknown column {column!r} in conditions; columns: "
                             f"{', '.join(tr.codecs)}")
    if isinstance(codec, CategoricalCodec):
        if isinstance(value, dict):
            raise ConditionError(f"column {column!r} is categorical: give one value, not a range")
        code = codec.code_of(value)
        if code is None and value not in codec.known_values():
            shown = ", ".join(repr(v) for v in codec.known_values()[:20])
            raise ConditionError(f"value {value!r} of column {column!r} never occurs in the "
                                 f"training data; valid values include: {shown}")
        return Condition(column, "eq", value=value, code=code)
    if not isinstance(codec, NumericCodec):
        kind = tr.metadata.kind(column)
        how = "a list (learned element by element)" if kind == "list" else \
            f"generated ({kind}), not modelled"
        raise ConditionError(f"column {column!r} is {how}: it cannot be conditioned on")
    if isinstance(value, dict):
        return _parse_range(column, value, codec)
    x = _to_float(column, value, codec)
    _check_within(column, x, x, codec)
    return Condition(column, "eq", value=x, tol=equality_tolerance(codec))


def equality_tolerance(codec: NumericCodec) -> float:
    """0 for integer columns and date-only datetimes; else EQ_TOLERANCE of the range."""
    st = codec.state
    if st.get("decimals") == 0 or st.get("date_only"):
        return 0.0
    return EQ_TOLERANCE * (st["max"] - st["min"])


def _parse_range(column: str, spec: dict[str, Any], codec: NumericCodec) -> Condition:
    extra = set(spec) - {"min", "max"}
    if extra or not spec:
        raise ConditionError(f"range condition on {column!r} takes keys 'min' and/or 'max', got "
                             f"{sorted(spec)}")
    low = _to_float(column, spec["min"], codec) if spec.get("min") is not None else None
    high = _to_float(column, spec["max"], codec) if spec.get("max") is not None else None
    if low is not None and high is not None and low > high:
        raise ConditionError(f"range condition on {column!r}: min {spec['min']!r} > max "
                             f"{spec['max']!r}")
    _check_within(column, low, high, codec)
    return Condition(column, "range", low=low, high=high)


def _to_float(column: str, value: Any, codec: NumericCodec) -> float:
    try:
        out = codec.to_float(pd.Series([value], name=column))[0]
    except Exception:  # noqa: BLE001 - any parse failure is the user's value
        out = np.nan
    if np.isnan(out):
        raise ConditionError(f"condition value {value!r} for column {column!r} is not a "
                             f"{codec.meta.kind} value")
    return float(out)


def _check_within(column: str, low: float | None, high: float | None, codec: NumericCodec
                  ) -> None:
    lo, hi = codec.state["min"], codec.state["max"]
    if (low is not None and low > hi) or (high is not None and high < lo):
        raise ConditionError(f"condition on {column!r} lies outside the training range "
                             f"[{lo:g}, {hi:g}]; generated values never leave it")


def condition_mask(df: pd.DataFrame, conds: list[Condition], tr: TableSchema) -> np.ndarray:
    """Rows of a decoded frame that satisfy every condition."""
    mask = np.ones(len(df), dtype=bool)
    for cond in conds:
        series = df[cond.column]
        codec = tr.codecs[cond.column]
        if isinstance(codec, CategoricalCodec):
            hit = series.isna() if cond.value is None else series == cond.value
            mask &= hit.to_numpy(dtype=bool, na_value=False)
            continue
        x = codec.to_float(series)  # type: ignore[union-attr]
        if cond.op == "eq":
            slack = cond.tol + 1e-9 * max(1.0, abs(cond.value))
            mask &= np.abs(x - cond.value) <= slack
        else:
            mask &= (x >= (cond.low if cond.low is not None else -np.inf)) & (
                x <= (cond.high if cond.high is not None else np.inf))
    return mask


def condition_groups(table: pd.DataFrame, tr: TableSchema
                     ) -> list[tuple[dict[str, Any], np.ndarray]]:
    """Per-row conditions -> [(conditions of a group, positions of its rows)]. Null cells
    mean 'no condition on this column for this row'."""
    if table.empty:
        raise ConditionError("the conditions table has no rows")
    unknown = [c for c in table.columns if c not in tr.codecs]
    if unknown:
        raise ConditionError(f"unknown column {unknown[0]!r} in the conditions table; columns: "
                             f"{', '.join(tr.codecs)}")
    keys = table.astype(object).where(table.notna(), None)
    groups: dict[tuple, list[int]] = {}
    for pos, row in enumerate(keys.itertuples(index=False, name=None)):
        groups.setdefault(row, []).append(pos)
    cols = list(table.columns)
    return [({c: v for c, v in zip(cols, key, strict=True) if v is not None},
             np.asarray(rows)) for key, rows in groups.items()]
