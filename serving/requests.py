"""Request checks shared by the table and image paths: the 4xx error that names the field, the
size limits, and a list of per-row conditions turned into the table `sample` takes."""

from __future__ import annotations

from typing import Any

import pandas as pd

from serving.schemas import GenerateRequest


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


def per_row_table(req: GenerateRequest) -> dict | pd.DataFrame | None:
    """The request's conditions, a list of per-row conditions as a table (one per sample)."""
    conditions = req.plain_conditions()
    if not isinstance(conditions, list):
        return conditions
    if len(conditions) != req.num_samples:
        raise Invalid("conditions", f"a list of conditions needs one entry per sample: got "
                      f"{len(conditions)} for num_samples {req.num_samples}")
    return pd.DataFrame(conditions) if any(conditions) else None


def check_groups(req: GenerateRequest, limit: int) -> None:
    """Per-row conditions cost work per distinct group: refuse more groups than `limit`."""
    rows = req.conditions if isinstance(req.conditions, list) else None
    if not rows:
        return
    groups = {tuple(sorted(row.items(), key=lambda kv: kv[0])) for row in rows}
    if len(groups) > limit:
        raise Invalid("conditions", f"{len(groups)} distinct per-row conditions; this server "
                      f"takes at most {limit} (max_condition_groups) per request: split the "
                      "request, or use the batch sample job")
