"""Response bodies from generated chunks: each chunk encodes on its own, so a large response is
streamed chunk by chunk and never built whole (parquet, which needs its footer, is the one
format built whole, bounded by max_num_samples).

A streamed body has sent its 200 before the last row exists. When generation fails after
that (`trailer=True`), the body ends in a way a client detects instead of looking complete:
jsonl a last line {"error": {"status", "detail"}}; csv a last line "#error,STATUS,detail";
json closes its rows and adds an "error" member, so the document stays valid JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd
import pyarrow.parquet as pq


def _records(df: pd.DataFrame) -> str:
    """JSON records without the enclosing brackets ("" for no rows)."""
    if df.empty:
        return ""
    return df.to_json(orient="records", date_format="iso", double_precision=15)[1:-1]


class StreamFailed:
    """The end of a stream whose generation failed: the HTTP status it would have had."""

    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail

    def doc(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail}


Failure = Callable[[Exception], StreamFailed | None]  # an error -> its trailer (None: raise)


def guarded(chunks: Iterable[pd.DataFrame], failure: Failure | None
            ) -> Iterator[pd.DataFrame | StreamFailed]:
    """The chunks, and at the end a StreamFailed when producing them raised an error that
    `failure` maps to one (without `failure`, errors propagate)."""
    it = iter(chunks)
    while True:
        try:
            df = next(it)
        except StopIteration:
            return
        except Exception as exc:
            end = failure(exc) if failure is not None else None
            if end is None:
                raise
            yield end
            return
        yield df


def csv_chunks(chunks: Iterable[pd.DataFrame], failure: Failure | None = None
               ) -> Iterator[bytes]:
    for i, df in enumerate(guarded(chunks, failure)):
        if isinstance(df, StreamFailed):
            yield f"#error,{df.status},{json.dumps(df.detail)}\n".encode()
            return
        yield df.to_csv(index=False, header=i == 0).encode()


def jsonl_chunks(chunks: Iterable[pd.DataFrame], failure: Failure | None = None
                 ) -> Iterator[bytes]:
    for df in guarded(chunks, failure):
        if isinstance(df, StreamFailed):
            yield (json.dumps({"error": df.doc()}) + "\n").encode()
            return
        if not df.empty:
            yield (df.to_json(orient="records", lines=True, date_format="iso",
                              double_precision=15).rstrip("\n") + "\n").encode()


def json_chunks(chunks: Iterable[pd.DataFrame], head: dict[str, Any],
                failure: Failure | None = None) -> Iterator[bytes]:
    """One JSON document ({...head, "columns": [...], "rows": [...]}) written piecewise."""
    started = wrote = False
    for df in guarded(chunks, failure):
        if isinstance(df, StreamFailed):
            if not started:
                yield _json_head(head, [])
            yield f"], {json.dumps('error')}: {json.dumps(df.doc())}}}".encode()
            return
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


def parquet_body(df: pd.DataFrame, model: Any) -> bytes:
    buf = io.BytesIO()
    pq.write_table(model.to_arrow(df), buf)
    return buf.getvalue()


def encode(fmt: str, chunks: Iterable[pd.DataFrame], head: dict[str, Any],
           model: Any, failure: Failure | None = None) -> Iterator[bytes]:
    """The body of `fmt` as byte chunks; `failure` turns an error into the stream's trailer."""
    if fmt == "csv":
        return csv_chunks(chunks, failure)
    if fmt == "jsonl":
        return jsonl_chunks(chunks, failure)
    if fmt == "json":
        return json_chunks(chunks, head, failure)
    return iter([parquet_body(pd.concat(list(chunks), ignore_index=True), model)])
