from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth.data.metadata import Metadata, detect_metadata
from synth.errors import DataError, MetadataError


def test_detects_adult_kinds(adult):
    md = detect_metadata(adult)
    assert md.kind("age") == "numerical"
    assert md.kind("fnlwgt") == "numerical"
    assert md.kind("workclass") == "categorical"
    assert md.kind("income") == "categorical"


def test_detects_ids_dates_text_and_booleans():
    n = 200
    rng = np.random.default_rng(0)
    words = np.array(["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"])
    df = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "code": [f"C-{i:05d}" for i in range(n)],
        "joined": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "note": [" ".join(rng.choice(words, 8)) + f" {i}" for i in range(n)],
        "flag": rng.random(n) < 0.3,
        "amount": rng.normal(size=n),
    })
    md = detect_metadata(df)
    assert [md.kind(c) for c in df.columns] == ["id", "id", "datetime", "text", "boolean",
                                                "numerical"]
    assert md.columns["joined"].datetime_format == "%Y-%m-%d"


def test_overrides_and_sdv_style_metadata(adult):
    sdv_style = {"columns": {"age": {"sdtype": "categorical"}, "fnlwgt": {"sdtype": "id"}},
                 "primary_key": "fnlwgt"}
    md = detect_metadata(adult, sdv_style)
    assert md.kind("age") == "categorical" and md.kind("fnlwgt") == "id"
    assert md.kind("sex") == "categorical"  # detected for the rest
    assert Metadata.from_dict(md.to_dict()).to_dict() == md.to_dict()
    assert detect_metadata(adult, {"age": "categorical"}).kind("age") == "categorical"


@pytest.mark.parametrize("spec, match", [
    ({"nope": "numerical"}, "'nope', which is not in the data"),
    ({"age": "numeric-ish"}, "unknown kind 'numeric-ish'"),
    ({"columns": {"age": {"type": 1}}}, "expected"),
])
def test_bad_metadata_is_named(adult, spec, match):
    with pytest.raises(MetadataError, match=match):
        detect_metadata(adult, spec)


@pytest.mark.parametrize("df, match", [
    (pd.DataFrame(), "empty"),
    (pd.DataFrame({"a": [1]}), "single row"),
    (pd.DataFrame({"a": [1, 2], "b": [None, None]}), "'b' has no values"),
    ([[1, 2], [3, 4]], "expected a pandas DataFrame"),
])
def test_bad_frames_get_clear_errors(df, match):
    with pytest.raises(DataError, match=match):
        detect_metadata(df)
