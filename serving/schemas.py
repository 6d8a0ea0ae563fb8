"""Request and response models of the HTTP API (v1). Requests forbid unknown fields, so a
typo (`num_sample`) is a 422 naming the field, never silently ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr | None
FORMATS = ("json", "jsonl", "csv", "parquet", "zip")
MEDIA_TYPES = {"json": "application/json", "jsonl": "application/x-ndjson",
               "csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
               "zip": "application/zip"}
IMAGE_FORMATS = ("json", "zip")


class Range(BaseModel):
    """An inclusive range condition on a numerical or datetime column."""

    model_config = ConfigDict(extra="forbid")
    min: StrictInt | StrictFloat | StrictStr | None = None
    max: StrictInt | StrictFloat | StrictStr | None = None


class Retime(BaseModel):
    """Move the generated datetimes to the period that begins at `start` (synth.data.retime)."""

    model_config = ConfigDict(extra="forbid")
    column: StrictStr | None = Field(None, max_length=256, description="a datetime column "
                                     "(default: the first)")
    start: StrictStr = Field(max_length=64, description="the new period's first day, e.g. "
                             "2026-12-01")
    period: Literal["day", "week", "month"] = "day"


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    num_samples: StrictInt = Field(100, ge=1, description="rows to generate (at most the "
                                   "server's max_num_samples)")
    output_format: Literal["json", "jsonl", "csv", "parquet", "zip"] = Field(
        "json", description="tables: json (one document), jsonl/csv (streamed lines), parquet;"
                            " images: json (base64 PNGs with labels) or zip (PNGs + labels.csv)")
    conditions: dict[str, Range | Scalar] | list[dict[str, Scalar]] | None = Field(
        None, description="{column: value or {min, max}} for every row, or a list of per-row "
                          "{column: value} (one per sample)")
    seed: StrictInt | None = Field(None, ge=0, le=2**62, description="same seed, same rows")
    version: StrictInt | None = Field(None, ge=1, description="model version (default: newest)")
    retime: Retime | None = Field(None, description="tables: move the datetimes to a new day, "
                                  "week or month, keeping their place within it")
    stamp: Literal["now"] | None = Field(None, description="tables: put the first datetime "
                                         "column at the current time (the row's other "
                                         "datetimes keep their distance to it)")

    def shift(self) -> tuple[dict[str, Any] | None, str | None]:
        """(retime, stamp) as `sample` takes them."""
        return (self.retime.model_dump(exclude_none=True) if self.retime else None,
                self.stamp)

    def plain_conditions(self) -> dict[str, Any] | list[dict[str, Any]] | None:
        """Conditions as plain dicts, the form synth's `sample` takes."""
        if isinstance(self.conditions, dict):
            return {k: v.model_dump(exclude_none=True) if isinstance(v, Range) else v
                    for k, v in self.conditions.items()}
        return self.conditions


class ColumnInfo(BaseModel):
    name: str
    type: str = Field(description="Arrow type of the generated column")
    kind: str = Field(description="numerical, categorical, boolean, datetime, id or text")
    conditionable: bool
    values: list[Scalar] | None = Field(None, description="allowed condition values "
                                        "(categorical; first 200)")
    min: float | None = None
    max: float | None = None


class ImageInfo(BaseModel):
    size: int
    channels: int


class PrivacyInfo(BaseModel):
    epsilon: float = Field(description="ε spent by training (differential privacy)")
    delta: float
    accountant: str


class ModelInfo(BaseModel):
    name: str
    version: int
    versions: list[int]
    kind: str = Field(description="model family, e.g. ctgan")
    columns: list[ColumnInfo] = Field(description="tables: the columns; images: the attributes")
    image: ImageInfo | None = Field(None, description="image models: size and channels")
    privacy: PrivacyInfo | None = Field(None, description="models trained with differential "
                                        "privacy: the (ε, δ) they spent")


class BrokenModel(BaseModel):
    name: str
    version: int | None = Field(None, description="the version that failed, when known")
    detail: str = Field(description="why it cannot be served (a bad pin, a corrupt version)")


class ModelList(BaseModel):
    models: list[ModelInfo]
    broken: list[BrokenModel] = Field(default_factory=list, description="models that cannot "
                                      "be served as configured, each with the reason")


class ImageItem(BaseModel):
    png_base64: str
    labels: dict[str, Any]


class GenerateResponse(BaseModel):
    """The `json` output format (csv, jsonl, parquet and zip bodies are the data itself):
    `rows` for tables, `images` for image models."""

    model: str
    version: int
    num_samples: int
    seed: int | None
    columns: list[str]
    rows: list[dict[str, Any]] | None = None
    images: list[ImageItem] | None = None


class Health(BaseModel):
    status: Literal["ok"]
    models: int


class ErrorBody(BaseModel):
    detail: str
