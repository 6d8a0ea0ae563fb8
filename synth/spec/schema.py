"""The spec format: data described field by field, generated without training.

    {"name": "telemetry", "rows_hint": 100000,
     "fields": {
       "device": {"type": "id", "prefix": "pi-", "width": 4, "cycle": 50},
       "ts": {"type": "datetime", "start": "2026-12-01", "end": "2026-12-02",
              "process": "poisson", "tz": "Europe/Berlin"},
       "reading": {"type": "number", "dist": {"name": "normal", "mean": 21.5, "std": 2},
                   "min": -40, "max": 85, "decimals": 2},
       "status": {"type": "category", "values": ["ok", "warn", "fail"],
                  "weights": [0.9, 0.08, 0.02]},
       "firmware": {"type": "constant", "value": "2.1"},
       "location": {"type": "object", "fields": {"lat": {...}, "lon": {...}}},
       "boxes": {"type": "array", "items": {...}, "length": {"min": 1, "max": 4}},
       "reading_f": {"type": "derived", "expr": "reading * 9 / 5 + 32", "decimals": 1}},
     "constraints": [{"type": "range", "column": "reading", "low": -40, "high": 85}]}

`synth/spec/spec.schema.json` is the published JSON Schema of this format (`python -m
synth.spec` writes it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_FILE = Path(__file__).with_name("spec.schema.json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Normal(_Strict):
    name: Literal["normal"]
    mean: float = 0.0
    std: float = Field(1.0, gt=0)


class Uniform(_Strict):
    name: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class LogNormal(_Strict):
    name: Literal["lognormal"]
    mean: float = Field(0.0, description="mean of the log")
    sigma: float = Field(1.0, gt=0, description="standard deviation of the log")


class Exponential(_Strict):
    name: Literal["exponential"]
    scale: float = Field(gt=0, description="the mean")


class Poisson(_Strict):
    name: Literal["poisson"]
    lam: float = Field(ge=0, description="the mean count")


class TruncatedNormal(_Strict):
    name: Literal["truncated_normal"]
    mean: float = 0.0
    std: float = Field(1.0, gt=0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> TruncatedNormal:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


Distribution = Annotated[Normal | Uniform | LogNormal | Exponential | Poisson | TruncatedNormal,
                         Field(discriminator="name")]


class Number(_Strict):
    type: Literal["number"]
    dist: Distribution
    min: float | None = Field(None, description="values below are clipped to it")
    max: float | None = Field(None, description="values above are clipped to it")
    decimals: int | None = Field(None, ge=0, le=12, description="round to this many decimals")
    integer: bool = False
    nulls: float = Field(0.0, ge=0, le=1, description="share of missing values")


class Category(_Strict):
    type: Literal["category"]
    values: list[str | int | float | bool] = Field(min_length=1)
    weights: list[float] | None = Field(None, description="relative frequencies (default: "
                                        "equal)")
    nulls: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _weights(self) -> Category:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights has {len(self.weights)} entries for "
                                 f"{len(self.values)} values")
            if any(w < 0 for w in self.weights) or not sum(self.weights) > 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        return self


class Constant(_Strict):
    type: Literal["constant"]
    value: str | int | float | bool | None


class Id(_Strict):
    type: Literal["id"]
    prefix: str = Field("", max_length=64)
    width: int = Field(0, ge=0, le=32, description="zero-pad the number to this width")
    start: int = 1
    cycle: int | None = Field(None, ge=1, description="repeat after this many ids (e.g. "
                              "50 devices); default: unique per row")


class Uuid(_Strict):
    type: Literal["uuid"]


class DateTime(_Strict):
    type: Literal["datetime"]
    start: str = Field(max_length=64)
    end: str | None = Field(None, max_length=64, description="uniform: the range's end")
    process: Literal["uniform", "poisson", "regular"] = Field(
        "uniform", description="uniform: independent times in [start, end); poisson: "
        "increasing times of events `every` seconds apart on average, row after row; regular: "
        "exactly `every` seconds apart")
    every: float | None = Field(None, gt=0, description="poisson / regular: seconds between "
                                "events (mean / exact)")
    tz: str | None = Field(None, max_length=64, description="time zone (e.g. Europe/Berlin)")
    unit: Literal["s", "ms", "us", "ns"] = "s"

    @model_validator(mode="after")
    def _process(self) -> DateTime:
        if self.process == "uniform" and self.end is None:
            raise ValueError("a uniform datetime needs an end")
        if self.process != "uniform" and self.every is None:
            raise ValueError(f"a {self.process} datetime needs every (seconds between events)")
        return self


class Derived(_Strict):
    type: Literal["derived"]
    expr: str = Field(max_length=1000, description="arithmetic on other fields: + - * / // "
                      "% **, comparisons, and abs, min, max, round, sqrt, log, exp")
    decimals: int | None = Field(None, ge=0, le=12)
    as_string: bool = Field(False, description="a list expression written as the string of a "
                            "list, e.g. \"[12.5, 40.0, 88.0, 120.5]\"")


class Object(_Strict):
    type: Literal["object"]
    fields: dict[str, Field_] = Field(min_length=1)


class Length(_Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Length:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class Array(_Strict):
    type: Literal["array"]
    items: Field_
    length: int | Length = Field(description="a fixed length, or {min, max}")


Field_ = Annotated[Number | Category | Constant | Id | Uuid | DateTime | Derived | Object |
                   Array, Field(discriminator="type")]
Object.model_rebuild()
Array.model_rebuild()


class Spec(_Strict):
    name: str = Field("spec", max_length=128)
    description: str = ""
    fields: dict[str, Field_] = Field(min_length=1)
    constraints: list[dict[str, Any]] = Field(default_factory=list, description="rules every "
                                              "row obeys (synth.data.constraints); rows that "
                                              "break one are drawn again")


def json_schema() -> dict[str, Any]:
    return Spec.model_json_schema()


def write_schema() -> Path:
    SCHEMA_FILE.write_text(json.dumps(json_schema(), indent=1) + "\n")
    return SCHEMA_FILE
