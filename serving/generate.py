"""Request -> rows, without Ray: the checks that turn a bad request into a 4xx naming the field,
and the chunked generation the model deployment runs (so it is testable in a plain process)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pandas as pd

from serving.encode import StreamFailed, encode
from serving.images import image_body, image_conditions
from serving.requests import Invalid, per_row_table
from serving.schemas import GenerateRequest
from synth.data.retime import parse_shift
from synth.errors import BudgetExceeded, ConditionError, SynthError
from synth.spec.model import SpecModel

T = TypeVar("T")


def model_conditions(model: Any, req: GenerateRequest) -> dict | pd.DataFrame | None:
    """The request's conditions in the form `sample` takes, checked against the model."""
    if model.kind == "image":
        return image_conditions(model, req)
    if req.output_format == "zip":
        raise Invalid("output_format", "zip is for image models; tables answer json, jsonl, "
                      "csv or parquet")
    conditions = per_row_table(req)
    retime, stamp = req.shift()
    if retime is not None or stamp is not None:
        field = "retime" if retime is not None else "stamp"
        if isinstance(model, SpecModel):
            raise Invalid(field, "a spec model writes its times into the spec (a datetime "
                          "field's start)")
        try:
            parse_shift(retime, stamp, model.schema)
        except ConditionError as exc:
            raise Invalid(field, str(exc)) from None
    try:
        model.check_conditions(conditions, req.num_samples)
    except ConditionError as exc:
        raise Invalid("conditions", str(exc)) from None
    return conditions


def body_chunks(model: Any, req: GenerateRequest, conditions: Any, chunk_rows: int,
                head: dict[str, Any]) -> Iterator[bytes]:
    """The whole response body of `req` in byte chunks; a model error becomes Invalid (a spent
    time budget stays BudgetExceeded)."""
    if model.kind == "image":
        yield _checked(lambda: image_body(model, req, conditions, head))
        return
    retime, stamp = req.shift()
    rows = model.iter_sample(req.num_samples, conditions=conditions, seed=req.seed,
                             chunk_rows=chunk_rows, retime=retime, stamp=stamp)
    try:
        yield from encode(req.output_format, rows, head, model)
    except BudgetExceeded:
        raise
    except SynthError as exc:
        raise Invalid("conditions", str(exc)) from None


def open_stream(model: Any, req: GenerateRequest, conditions: Any, chunk_rows: int,
                head: dict[str, Any]) -> Iterator[bytes]:
    """A streamed body (tables): its first chunk of rows is generated here, before any header
    is sent, so a condition the model cannot meet is a 422 (a spent budget a 408), not a
    truncated 200; a failure after that ends the body with the format's error trailer."""
    retime, stamp = req.shift()
    rows = model.iter_sample(req.num_samples, conditions=conditions, seed=req.seed,
                             chunk_rows=chunk_rows, retime=retime, stamp=stamp)
    first = _checked(lambda: next(rows, None))
    chunks = itertools.chain([] if first is None else [first], rows)
    return encode(req.output_format, chunks, head, model, failure=stream_failure)


def stream_failure(exc: Exception) -> StreamFailed | None:
    """The trailer of a stream that failed after its 200 (None: not a request's fault)."""
    if isinstance(exc, BudgetExceeded):
        return StreamFailed(408, str(exc))
    if isinstance(exc, SynthError):
        return StreamFailed(422, str(exc))
    return None


def _checked(make: Callable[[], T]) -> T:
    try:
        return make()
    except BudgetExceeded:
        raise
    except SynthError as exc:
        raise Invalid("conditions", str(exc)) from None
