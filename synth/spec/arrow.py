"""The Arrow schema of a spec's rows, fixed by the spec itself (so every part file of a large
sample has the same schema, whatever values a part happens to hold)."""

from __future__ import annotations

import ast
from typing import Any

import pandas as pd
import pyarrow as pa

from synth.spec import expr as ex
from synth.spec.schema import (
    Array,
    Category,
    Constant,
    DateTime,
    Derived,
    Id,
    Number,
    Object,
    Spec,
    Uuid,
)


def field_type(field: Any) -> pa.DataType:
    if isinstance(field, Number):
        return pa.int64() if field.integer else pa.float64()
    if isinstance(field, Category | Constant):
        values = field.values if isinstance(field, Category) else [field.value]
        return _value_type([v for v in values if v is not None])
    if isinstance(field, Id | Uuid):
        return pa.string()
    if isinstance(field, DateTime):
        return pa.timestamp(field.unit, tz=field.tz)
    if isinstance(field, Derived):
        tree = ex.parse(field.expr, "derived")
        if isinstance(tree.body, ast.List):
            return pa.string() if field.as_string else pa.list_(pa.float64())
        return pa.bool_() if ex.is_test(tree) else pa.float64()
    if isinstance(field, Object):
        return pa.struct([pa.field(k, field_type(g)) for k, g in field.fields.items()])
    assert isinstance(field, Array)
    return pa.list_(field_type(field.items))


def _value_type(values: list[Any]) -> pa.DataType:
    if values and all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def spec_schema(spec: Spec) -> pa.Schema:
    return pa.schema([pa.field(name, field_type(f)) for name, f in spec.fields.items()])


def spec_table(df: pd.DataFrame, spec: Spec) -> pa.Table:
    schema = spec_schema(spec)
    columns = []
    for f in schema:
        values = df[f.name]
        if pa.types.is_string(f.type):  # categories of mixed kinds: their text
            values = values.astype(object).map(
                lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
        columns.append(pa.array(values, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(columns, schema=schema)
