"""A spec as a model of its own kind: `synth.spec.load("telemetry.yaml")` (or
`create_synthesizer("spec", spec={...})`) samples like any table model, deterministically per
seed and position, and saves to a model directory (its config.json holds the spec) that the
store, `synth sample` and the HTTP endpoint load by name like any other model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa
import yaml
from pydantic import ValidationError

from synth.config import config_to_dict
from synth.data import io as sio
from synth.errors import ConditionError, ConfigError, ModelLoadError, SynthError
from synth.models.registry import register_synthesizer
from synth.models.seeding import check_rows, check_start, resolve_seed
from synth.spec.arrow import spec_schema, spec_table
from synth.spec.generate import Plan, plan, rows
from synth.spec.schema import Spec
from synth.store import json_bytes, load_json, read_model_dir, write_model_dir

FORMAT_VERSION = 1


@dataclass(frozen=True)
class SpecConfig:
    spec: dict[str, Any] = field(default_factory=dict)  # synth.spec.schema.Spec as a dict


def parse_spec(doc: Any) -> Spec:
    """A checked Spec; a mistake is a ConfigError naming the field (fields.reading.dist...)."""
    if not isinstance(doc, dict):
        raise ConfigError(f"a spec is a mapping with 'fields', got {type(doc).__name__}")
    try:
        return Spec.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _where(first["loc"])
        detail = first["msg"]
        if first["type"] == "union_tag_invalid":
            detail = (f"unknown {first['ctx']['discriminator'].strip(chr(39))} "
                      f"{first['ctx']['tag']!r}; valid: {first['ctx']['expected_tags']}")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"spec field {where}: {detail}{more}") from None


_TAGS = {"number", "category", "constant", "id", "uuid", "datetime", "derived", "object",
         "array", "normal", "uniform", "lognormal", "exponential", "poisson",
         "truncated_normal", "int", "Length"}


def _where(loc: tuple) -> str:
    """pydantic's error location without the union tags it adds (fields.reading.number.dist
    -> fields.reading.dist); a field named like a tag stays (it follows "fields")."""
    kept: list[str] = []
    for part in map(str, loc):
        if part in _TAGS and (not kept or kept[-1] != "fields"):
            continue
        kept.append(part)
    return ".".join(kept) or "spec"


def load(path: str) -> SpecModel:
    """A spec file (JSON or YAML, local or s3://) as a model."""
    try:
        doc = yaml.safe_load(sio.read_bytes(path))
    except FileNotFoundError:
        raise ConfigError(f"spec file {path!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"spec file {path!r} is not JSON or YAML: {exc}") from None
    return SpecModel(spec=doc)


@register_synthesizer("spec")
class SpecModel:
    """Rows from a spec (no training)."""

    name: ClassVar[str] = "spec"
    kind: ClassVar[str] = "table"
    config_cls: ClassVar[type] = SpecConfig

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - {"spec"})
        if unknown:
            raise ConfigError(f"unknown spec model parameter {unknown[0]!r}; it takes: spec")
        self.spec = parse_spec(params.get("spec"))
        self.plan: Plan = plan(self.spec)
        self.config = SpecConfig(self.spec.model_dump(mode="json", exclude_defaults=True))
        self.rejected_rows = 0

    @classmethod
    def resolve_params(cls, params: dict[str, Any] | None) -> dict[str, Any]:
        return config_to_dict(cls(**(params or {})).config)

    @classmethod
    def trains_in_epochs(cls) -> bool:
        return False

    @property
    def fitted(self) -> bool:
        return True

    @property
    def prepared(self) -> bool:
        return True

    @property
    def columns(self) -> list[str]:
        return list(self.spec.fields)

    def fit(self, data: Any = None, metadata: Any = None) -> SpecModel:
        raise SynthError("a spec model is not trained: it generates what its spec describes "
                         "(edit the spec to change it)")

    def check_conditions(self, conditions: Any, num_rows: int | None = None) -> None:
        if conditions is not None:
            raise ConditionError("a spec model takes no conditions: write them into the spec "
                                 "(a constant or a narrower distribution)")

    def sample(self, num_rows: int, conditions: Any = None, seed: int | None = None,
               batch_size: int | None = None, id_offset: int = 0, start: int = 0,
               **_: Any) -> pd.DataFrame:
        """Rows start..start+num_rows of the spec's stream for `seed` (the same rows whatever
        the request's size or chunking)."""
        self.check_conditions(conditions)
        return rows(self.plan, resolve_seed(seed), check_start(start), check_rows(num_rows))

    def iter_sample(self, num_rows: int, conditions: Any = None, seed: int | None = None,
                    chunk_rows: int = 32_768, **_: Any) -> Iterator[pd.DataFrame]:
        self.check_conditions(conditions)
        n, seed = check_rows(num_rows), resolve_seed(seed)
        for first in range(0, n, check_rows(chunk_rows, "chunk_rows")):
            yield rows(self.plan, seed, first, min(chunk_rows, n - first))

    def json_schema(self) -> dict[str, Any]:
        return Spec.model_json_schema()

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of every table `to_arrow` makes (fixed by the spec)."""
        return spec_schema(self.spec)

    def to_arrow(self, df: pd.DataFrame) -> pa.Table:
        return spec_table(df, self.spec)

    def describe_columns(self) -> list[dict[str, Any]]:
        """Each column's name, Arrow type and field type (what the HTTP API lists)."""
        return [{"name": f.name, "type": str(f.type), "kind": self.spec.fields[f.name].type,
                 "conditionable": False} for f in self.arrow_schema()]

    def to_device(self, device: Any) -> SpecModel:
        return self  # no network: a spec samples on the CPU

    def save(self, path: str, extra: dict[str, bytes] | None = None) -> str:
        files = {"config.json": json_bytes({"synthesizer": "spec", "kind": "table",
                                            "format": FORMAT_VERSION,
                                            "params": {"spec": self.config.spec}}),
                 **(extra or {})}
        write_model_dir(str(path), files)
        return str(path)

    @classmethod
    def load(cls, path: str) -> SpecModel:
        doc = load_json(read_model_dir(str(path), ["config.json"])["config.json"],
                        f"{path}/config.json")
        try:
            return cls(**doc.get("params", {}))
        except ConfigError as exc:
            raise ModelLoadError(f"{path!r} holds a spec that no longer parses: {exc}") from None
