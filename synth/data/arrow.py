"""Typed Arrow tables of generated rows: one schema per fitted transformer, so every part file
of a large output has the same column types (ints stay ints with nulls as nulls, categories as
strings, datetimes as timestamps or dates), however few rows a part holds or whichever values
it happens to draw."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from synth.data.codecs import CategoricalCodec, IdCodec, NumericCodec
from synth.data.lists import ListCodec
from synth.data.schema import TableSchema
from synth.errors import DataError


def _from_dtype(dtype: str) -> pa.DataType | None:
    d = dtype.lower()
    if d.startswith(("int", "uint")):
        return pa.int64()
    if d.startswith("float"):
        return pa.float64()
    if d.startswith(("bool", "boolean")):
        return pa.bool_()
    return None


def _categorical_type(codec: CategoricalCodec) -> pa.DataType:
    if codec.meta.kind == "boolean":
        return pa.bool_()
    known = _from_dtype(codec.dtype)
    if known is not None:
        return known
    values = [v for v in codec.known_values() if v is not None]
    if values and all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def column_type(codec: object) -> pa.DataType:
    """The Arrow type of one generated column."""
    if isinstance(codec, NumericCodec):
        if codec.meta.kind == "datetime":
            if codec.state.get("date_only") and not codec.state.get("tz"):
                return pa.date32()
            return pa.timestamp("us", tz=codec.state.get("tz"))
        return _from_dtype(codec.state.get("dtype", "float64")) or pa.float64()
    if isinstance(codec, CategoricalCodec):
        return _categorical_type(codec)
    if isinstance(codec, ListCodec):
        if codec.state.get("format") == "string":
            return pa.string()
        return pa.list_(pa.int64() if codec.state.get("ints") else pa.float64())
    if isinstance(codec, IdCodec):
        return pa.int64() if codec.state.get("style") == "int" else pa.string()
    return pa.string()


def arrow_schema(tr: TableSchema) -> pa.Schema:
    """The schema of every table `to_arrow` makes for this transformer."""
    return pa.schema([pa.field(name, column_type(codec)) for name, codec in tr.codecs.items()])


def to_arrow(df: pd.DataFrame, tr: TableSchema) -> pa.Table:
    """Generated rows (as `sample` returns them) as a table of `arrow_schema(tr)`."""
    schema = arrow_schema(tr)
    columns = []
    for field in schema:
        series = df[field.name]
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            fmt = tr.codecs[field.name].meta.datetime_format
            series = pd.to_datetime(series, format=fmt if series.dtype == object else None)
        try:
            columns.append(pa.array(series, type=field.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise DataError(f"column {field.name!r}: generated values do not fit the column "
                            f"type {field.type}: {exc}") from None
    return pa.Table.from_arrays(columns, schema=schema)
