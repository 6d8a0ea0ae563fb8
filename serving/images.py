"""Image models behind the API: conditions checked against the model's attributes, and the
bodies: json (base64 PNGs, each with its labels) or zip (PNG files + labels.csv)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import pandas as pd
import pyarrow as pa

from serving.requests import Invalid, per_row_table
from serving.schemas import IMAGE_FORMATS, GenerateRequest
from synth.errors import SynthError


def attribute_type(values: list[Any]) -> str:
    return str(pa.array([v for v in values if v is not None]).type)


def image_conditions(model: Any, req: GenerateRequest) -> dict | pd.DataFrame | None:
    """The request's attribute conditions, checked against the model."""
    if req.output_format not in IMAGE_FORMATS:
        raise Invalid("output_format", f"{req.output_format!r} is for tables; image models "
                      f"answer {' or '.join(IMAGE_FORMATS)}")
    if req.retime is not None or req.stamp is not None:
        raise Invalid("retime" if req.retime is not None else "stamp",
                      "image models have no datetimes to retime or stamp")
    conditions = per_row_table(req)
    try:
        model.check_conditions(conditions, req.num_samples)
    except SynthError as exc:
        raise Invalid("conditions", str(exc)) from None
    return conditions


def image_body(model: Any, req: GenerateRequest, conditions: Any, head: dict[str, Any]
               ) -> bytes:
    sample = model.sample(req.num_samples, conditions=conditions, seed=req.seed)
    labels = sample.labels.to_dict(orient="records")
    if req.output_format == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for i in range(len(sample)):
                z.writestr(f"{i:06d}.png", sample.png(i))
            z.writestr("labels.csv", sample.labels.assign(
                file=[f"{i:06d}.png" for i in range(len(sample))]).to_csv(index=False))
        return buf.getvalue()
    items = [{"png_base64": base64.b64encode(sample.png(i)).decode(),
              "labels": {k: _plain(v) for k, v in labels[i].items()} if labels else {}}
             for i in range(len(sample))]
    return json.dumps({**head, "columns": list(sample.labels.columns), "images": items}).encode()


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
