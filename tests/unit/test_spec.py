"""The spec generator: a JSON/YAML description of fields generates rows deterministically per
seed and position, bad specs get errors naming the field, a spec saves and loads as a model,
and the telemetry example (made by a spec) trains a model whose rows obey every declared
constraint, with boxes as strings and a retimed day."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synth
import synth.spec
from synth.errors import ConditionError, ConfigError, SynthError
from synth.metrics.fidelity import column_shapes
from synth.spec.schema import SCHEMA_FILE, json_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "telemetry"
BASE = {"reading": {"type": "number", "dist": {"name": "normal", "mean": 20, "std": 2},
                    "decimals": 2}}


def spec(**fields) -> dict:
    return {"fields": {**BASE, **fields}}


@pytest.mark.parametrize("fields, message", [
    ({"reading": {"type": "number", "dist": {"name": "gausian", "mean": 1}}},
     r"fields\.reading\.dist: unknown name 'gausian'; valid: 'normal', 'uniform'"),
    ({"reading": {"type": "number", "dist": {"name": "uniform", "low": 1}}},
     r"fields\.reading\.dist\.high: Field required"),
    ({"reading": {"type": "nmber"}}, r"fields\.reading: unknown type 'nmber'"),
    ({"a": {"type": "derived", "expr": "b + 1"}, "b": {"type": "derived", "expr": "a * 2"}},
     r"spec fields a -> b -> a form a cycle"),
    ({"a": {"type": "derived", "expr": "missing + 1"}}, r"fields\.a\.expr reads 'missing'"),
    ({"a": {"type": "derived", "expr": "__import__('os').system('true')"}},
     r"fields\.a\.expr: expr .* calls something other than abs"),
    ({"t": {"type": "datetime", "start": "2026-01-01", "process": "poisson"}},
     r"fields\.t: Value error, a poisson datetime needs every"),
    ({"s": {"type": "category", "values": ["a", "b"], "weights": [1]}},
     r"fields\.s: Value error, weights has 1 entries for 2 values"),
])
def test_a_bad_spec_names_the_field(fields, message):
    with pytest.raises(ConfigError, match=message):
        synth.create_synthesizer("spec", spec=spec(**fields))


def test_rows_are_the_same_whatever_the_request_size_or_chunking():
    model = synth.create_synthesizer("spec", spec=spec(
        id={"type": "id", "prefix": "dev-", "width": 3, "cycle": 7},
        key={"type": "uuid"},
        ts={"type": "datetime", "start": "2026-01-01", "process": "poisson", "every": 5.0},
        kind={"type": "category", "values": ["a", "b", "c"], "weights": [0.7, 0.2, 0.1]},
        pos={"type": "object", "fields": {"lat": {"type": "number", "dist": {
            "name": "uniform", "low": 47, "high": 55}}, "lon": {"type": "number", "dist": {
                "name": "uniform", "low": 6, "high": 15}}}},
        tags={"type": "array", "items": {"type": "category", "values": [1, 2, 3]},
              "length": {"min": 0, "max": 3}},
        north={"type": "derived", "expr": "pos.lat > 51"}))
    full = model.sample(5000, seed=3)
    assert model.sample(700, seed=3, start=2100).equals(full.iloc[2100:2800].reset_index(
        drop=True))
    chunks = pd.concat(model.iter_sample(5000, seed=3, chunk_rows=999), ignore_index=True)
    assert chunks.equals(full) and not model.sample(50, seed=4).equals(full.iloc[:50])
    assert full.id.iloc[:8].tolist() == [f"dev-{k:03d}" for k in (1, 2, 3, 4, 5, 6, 7, 1)]
    assert full.key.is_unique and full.ts.is_monotonic_increasing
    assert abs(full.ts.diff().dt.total_seconds().mean() - 5) < 0.2
    assert abs((full.kind == "a").mean() - 0.7) < 0.03 and abs(full.reading.mean() - 20) < 0.1
    assert full.north.equals(full.pos.map(lambda p: p["lat"] > 51))
    assert set(full.tags.map(len)) == {0, 1, 2, 3}


def test_a_spec_is_a_model_kind_of_its_own(tmp_path):
    model = synth.spec.load(str(EXAMPLE / "spec.yaml"))
    assert "spec" in synth.list_synthesizers()
    store = tmp_path / "store"
    from synth.store import ModelStore

    ModelStore(str(store)).add_version("telemetry", model.save)
    again = synth.load_synthesizer("telemetry", store=str(store))
    assert again.sample(300, seed=1).equals(model.sample(300, seed=1))
    with pytest.raises(SynthError, match="not trained"):
        model.fit(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(ConditionError, match="no conditions"):
        model.sample(3, conditions={"status": "ok"})
    # the published JSON Schema is the format's (`python -m synth.spec` rewrites it)
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


def test_zoned_times_cross_daylight_saving_changes():
    """Years of events in Berlin time: a repeated or skipped hour is no error (the times are
    elapsed time from the start, shown in the zone)."""
    model = synth.create_synthesizer("spec", spec={"fields": {"ts": {
        "type": "datetime", "start": "2026-10-25 01:00", "process": "regular", "every": 600.0,
        "tz": "Europe/Berlin"}}})
    ts = model.sample(4000, seed=0).ts  # 27 days from the night the clocks go back
    assert ts.is_monotonic_increasing and (ts.diff().dropna() == pd.Timedelta(minutes=10)).all()
    assert str(ts.dtype) == "datetime64[s, Europe/Berlin]"


def test_constraints_of_a_spec_hold_in_every_row():
    model = synth.create_synthesizer("spec", spec={
        **spec(low={"type": "number", "dist": {"name": "normal", "mean": 0, "std": 1}},
               high={"type": "number", "dist": {"name": "normal", "mean": 0.5, "std": 1}}),
        "constraints": [{"type": "inequality", "low": "low", "high": "high", "strict": True}]})
    out = model.sample(4000, seed=0)
    assert (out.low < out.high).all()  # about a third of the first draws broke it


def test_the_telemetry_example_trains_a_model_whose_rows_obey_every_rule():
    import sys

    sys.path.insert(0, str(EXAMPLE))
    from make import make

    day = make()
    metadata = json.loads((EXAMPLE / "metadata.json").read_text())
    model = synth.create_synthesizer("gaussian_copula").fit(day, metadata)
    out = model.sample(100_000, seed=1)
    assert model.constraints.violations(out) == {k: 0 for k in model.constraints.violations(day)}
    assert out.boxes.str.fullmatch(r"\[[\d.]+(, [\d.]+){3}\]").all()
    box = np.array([json.loads(b) for b in out.boxes.iloc[:5000]])
    assert ((box[:, 0] < box[:, 2]) & (box[:, 1] < box[:, 3]) & (box[:, 2] <= 640)).all()
    moved = model.sample(20_000, seed=2, retime={"column": "ts", "start": "2026-12-24"})
    local = moved.ts.dt.tz_convert("Europe/Berlin")
    assert (local.dt.date == pd.Timestamp("2026-12-24").date()).all()
    hours = pd.DataFrame({"h": day.ts.dt.tz_convert("Europe/Berlin").dt.hour.astype(str)})
    assert column_shapes(hours, pd.DataFrame({"h": local.dt.hour.astype(str)}))[
        "column_shapes"] >= 0.95
    assert re.fullmatch(r"pi-\d{3}", out.device.iloc[0])
