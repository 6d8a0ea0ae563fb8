"""Request -> rows, without Ray: the checks that turn a bad request into a 4xx naming the field,
and the chunked generation the model deployment runs (so it is testable in a plain process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from serving.encode import encode
from serving.images import image_body, image_conditions
from serving.requests import Invalid, per_row_table
from serving.schemas import GenerateRequest
from synth.errors import ConditionError, SynthError


def model_conditions(model: Any, req: GenerateRequest) -> dict | pd.DataFrame | None:
    """The request's conditions in the form `sample` takes, checked against the model."""
    if model.kind == "image":
        return image_conditions(model, req)
    if req.output_format == "zip":
        raise Invalid("output_format", "zip is for image models; tables answer json, jsonl, "
                      "csv or parquet")
    conditions = per_row_table(req)
    try:
        model.check_conditions(conditions, req.num_samples)
    except ConditionError as exc:
        raise Invalid("conditions", str(exc)) from None
    return conditions


def body_chunks(model: Any, req: GenerateRequest, conditions: Any, chunk_rows: int,
                head: dict[str, Any]) -> Iterator[bytes]:
    """The response body of `req` in byte chunks; a model error becomes Invalid."""
    if model.kind == "image":
        yield image_body(model, req, conditions, head)
        return
    rows = model.iter_sample(req.num_samples, conditions=conditions, seed=req.seed,
                             chunk_rows=chunk_rows)
    try:
        yield from encode(req.output_format, rows, head, model.transformer)
    except SynthError as exc:
        raise Invalid("conditions", str(exc)) from None
