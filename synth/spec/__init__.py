"""Data described field by field and generated without training (synth.spec.schema has the
format; spec.schema.json its published JSON Schema): `synth.spec.load("telemetry.yaml")`
returns a model that samples, saves and serves like any table model."""

from synth.spec.model import SpecModel, load, parse_spec

__all__ = ["SpecModel", "load", "parse_spec"]
