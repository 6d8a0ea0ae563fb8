"""List-valued columns: list-shaped strings and Arrow list columns are detected, learned
element-wise (variable lengths included), constrained by element, and come back in their own
format; bad lists get errors that name the column."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import synth
from synth.data.arrow import to_arrow
from synth.data.metadata import detect_metadata
from synth.errors import ConditionError, DataError

BOX_RULES = [{"type": "inequality", "low": "boxes[0]", "high": "boxes[2]", "strict": True},
             {"type": "inequality", "low": "boxes[1]", "high": "boxes[3]", "strict": True},
             {"type": "range", "column": "boxes[0]", "low": 0, "high": 640},
             {"type": "range", "column": "boxes[1]", "low": 0, "high": 480},
             {"type": "range", "column": "boxes[2]", "low": 0, "high": 640},
             {"type": "range", "column": "boxes[3]", "low": 0, "high": 480}]


@pytest.fixture(scope="module")
def frames() -> pd.DataFrame:
    """Detections on a 640x480 frame: one box per row as the string of a list, and 1-3 tag
    ids per row as a Python list."""
    rng = np.random.default_rng(0)
    n = 600
    x1, y1 = rng.uniform(0, 540, n).round(1), rng.uniform(0, 420, n).round(1)
    x2 = np.minimum(x1 + rng.uniform(5, 100, n), 640).round(1)
    y2 = np.minimum(y1 + rng.uniform(5, 60, n), 480).round(1)
    boxes = [json.dumps([float(v) for v in b]) for b in zip(x1, y1, x2, y2, strict=True)]
    tags = [[int(t) for t in rng.integers(0, 9, rng.integers(1, 4))] for _ in range(n)]
    return pd.DataFrame({"camera": rng.choice(["north", "south"], n), "boxes": boxes,
                         "tags": tags, "temp": rng.normal(20, 3, n).round(2)})


def test_lists_are_detected_and_kept_apart_from_text(frames):
    md = detect_metadata(frames)
    assert md.kind("boxes") == "list" and md.kind("tags") == "list"
    assert detect_metadata(pd.DataFrame({"a": ["[x]", "[y]"] * 10})).kind("a") != "list"


@pytest.mark.parametrize("family", ["gaussian_copula", "argn"])
def test_boxes_obey_their_rules_and_come_back_as_strings(frames, family, tmp_path):
    params = {"epochs": 3} if family == "argn" else {}
    model = synth.create_synthesizer(family, **params).fit(frames, {"constraints": BOX_RULES})
    out = model.sample(3000, seed=1)
    assert out.boxes.map(lambda s: bool(re.fullmatch(r"\[[\d.]+(, [\d.]+){3}\]", s))).all()
    box = np.array([json.loads(s) for s in out.boxes])
    assert ((box[:, 0] < box[:, 2]) & (box[:, 1] < box[:, 3])).all()
    assert (box >= 0).all() and (box[:, [0, 2]] <= 640).all() and (box[:, [1, 3]] <= 480).all()
    assert all(isinstance(t, list) and all(isinstance(v, int) for v in t) for t in out.tags)
    share = out.tags.map(len).value_counts(normalize=True)
    real = frames.tags.map(len).value_counts(normalize=True)
    assert (share - real).abs().max() < 0.1  # variable lengths keep their distribution
    model.save(str(tmp_path / "m"))
    assert synth.load_synthesizer(str(tmp_path / "m")).sample(3000, seed=1).equals(out)
    table = to_arrow(out, model.schema)
    assert str(table.schema.field("tags").type) == "list<item: int64>"
    assert str(table.schema.field("boxes").type) == "string"


def test_arrow_list_columns_from_parquet(frames, tmp_path):
    frames.to_parquet(tmp_path / "f.parquet")
    back = pd.read_parquet(tmp_path / "f.parquet")  # lists come back as numpy arrays
    model = synth.create_synthesizer("gaussian_copula").fit(back)
    out = model.sample(200, seed=0)
    assert detect_metadata(back).kind("tags") == "list"
    assert all(1 <= len(t) <= 3 for t in out.tags)


def test_bad_lists_get_clear_errors(frames):
    with pytest.raises(DataError, match="more than its max_length 2"):
        synth.create_synthesizer("gaussian_copula").fit(
            frames, {"constraints": [{"type": "list", "column": "tags", "max_length": 2}]})
    rule = {"type": "range", "column": "boxes[7]", "low": 0, "high": 1}
    with pytest.raises(DataError, match=r"'boxes\[7\]' does not exist"):
        synth.create_synthesizer("gaussian_copula").fit(frames, {"constraints": [rule]})
    broken = frames.copy()
    broken.loc[3, "boxes"] = '["a", 1]'
    with pytest.raises(DataError, match="row 3: .* is not a list of numbers"):
        synth.create_synthesizer("gaussian_copula").fit(
            broken, {"columns": {"boxes": "list"}})
    model = synth.create_synthesizer("gaussian_copula").fit(frames)
    with pytest.raises(ConditionError, match="cannot be conditioned on"):
        model.sample(3, conditions={"tags": [1]})
