"""Request -> rows, without Ray: the checks that turn a bad request into a 4xx naming the field,
and the chunked generation the model deployment runs (so it is testable in a plain process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from serving.encode import encode
from serving.schemas import GenerateRequest
from synth.errors import ConditionError, SynthError
from synth.models.conditions import condition_groups, parse_conditions


class Invalid(ValueError):
    """A request the model cannot serve (HTTP 422), naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message

    def to_json(self) -> dict[str, Any]:
        return {"detail": [{"loc": ["body", self.field], "msg": self.message,
                            "type": "value_error"}]}


def check_size(req: GenerateRequest, limit: int, setting: str = "max_num_samples") -> None:
    if req.num_samples > limit:
        raise Invalid("num_samples", f"num_samples must be <= {limit} (this server's "
                      f"{setting}), got {req.num_samples}; ask in several requests or use "
                      "the batch sample job for more")


def model_conditions(model: Any, req: GenerateRequest) -> dict | pd.DataFrame | None:
    """The request's conditions in the form `sample` takes, checked against the model."""
    if getattr(model, "kind", "table") == "image":
        from serving.images import image_conditions

        return image_conditions(model, req)
    if req.output_format == "zip":
        raise Invalid("output_format", "zip is for image models; tables answer json, jsonl, "
                      "csv or parquet")
    conditions = per_row_table(req)
    tr = model.transformer
    try:
        if isinstance(conditions, pd.DataFrame):
            for conds, _ in condition_groups(conditions, tr):
                parse_conditions(conds, tr)
        else:
            parse_conditions(conditions, tr)
    except ConditionError as exc:
        raise Invalid("conditions", str(exc)) from None
    return conditions


def per_row_table(req: GenerateRequest) -> dict | pd.DataFrame | None:
    """The request's conditions, a list of per-row conditions as a table (one per sample)."""
    conditions = req.plain_conditions()
    if not isinstance(conditions, list):
        return conditions
    if len(conditions) != req.num_samples:
        raise Invalid("conditions", f"a list of conditions needs one entry per sample: got "
                      f"{len(conditions)} for num_samples {req.num_samples}")
    return pd.DataFrame(conditions) if any(conditions) else None


def body_chunks(model: Any, req: GenerateRequest, conditions: Any, chunk_rows: int,
                head: dict[str, Any]) -> Iterator[bytes]:
    """The response body of `req` in byte chunks; a model error becomes Invalid."""
    if getattr(model, "kind", "table") == "image":
        from serving.images import image_body

        yield image_body(model, req, conditions, head)
        return
    rows = model.iter_sample(req.num_samples, conditions=conditions, seed=req.seed,
                             chunk_rows=chunk_rows)
    try:
        yield from encode(req.output_format, rows, head, model.transformer)
    except SynthError as exc:
        raise Invalid("conditions", str(exc)) from None
