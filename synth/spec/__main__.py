"""`python -m synth.spec`: write the spec format's JSON Schema (synth/spec/spec.schema.json)."""

from synth.spec.schema import write_schema

print(write_schema())
