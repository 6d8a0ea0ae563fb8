"""Response bodies from generated chunks: each chunk encodes on its own, so a large response is
streamed chunk by chunk and never built whole (parquet, which needs its footer, is the one
format built whole, bounded by max_num_samples)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from synth.data.arrow import to_arrow


def _records(df: pd.DataFrame) -> str:
    """JSON records without the enclosing brackets ("" for no rows)."""
    if df.empty:
        return ""
    return df.to_json(orient="records", date_format="iso", double_precision=15)[1:-1]


def csv_chunks(chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    for i, df in enumerate(chunks):
        yield df.to_csv(index=False, header=i == 0).encode()


def jsonl_chunks(chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    for df in chunks:
        if not df.empty:
            yield (df.to_json(orient="records", lines=True, date_format="iso",
                              double_precision=15).rstrip("\n") + "\n").encode()


def json_chunks(chunks: Iterable[pd.DataFrame], head: dict[str, Any]) -> Iterator[bytes]:
    """One JSON document ({...head, "columns": [...], "rows": [...]}) written piecewise."""
    started = wrote = False
    for df in chunks:
        if not started:
            yield _json_head(head, list(df.columns))
            started = True
        body = _records(df)
        if body:
            yield (("," if wrote else "") + body).encode()
            wrote = True
    if not started:
        yield _json_head(head, [])
    yield b"]}"


def _json_head(head: dict[str, Any], columns: list[str]) -> bytes:
    return (json.dumps({**head, "columns": columns})[:-1] + ', "rows": [').encode()


def parquet_body(df: pd.DataFrame, transformer: Any) -> bytes:
    buf = io.BytesIO()
    pq.write_table(to_arrow(df, transformer), buf)
    return buf.getvalue()


def encode(fmt: str, chunks: Iterable[pd.DataFrame], head: dict[str, Any],
           transformer: Any) -> Iterator[bytes]:
    """The body of `fmt` as byte chunks."""
    if fmt == "csv":
        return csv_chunks(chunks)
    if fmt == "jsonl":
        return jsonl_chunks(chunks)
    if fmt == "json":
        return json_chunks(chunks, head)
    return iter([parquet_body(pd.concat(list(chunks), ignore_index=True), transformer)])
