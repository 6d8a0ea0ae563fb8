"""The Serve app's pieces without Ray: request checks, streamed encodings, settings, catalog."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from pydantic import ValidationError

from serving.auth import keys_match
from serving.catalog import Catalog, NotFound
from serving.encode import csv_chunks, json_chunks, jsonl_chunks
from serving.generate import body_chunks, model_conditions
from serving.requests import Invalid, check_size
from serving.schemas import GenerateRequest
from serving.settings import load_settings
from synth.errors import ConfigError

CHUNKS = [pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.1234567890123, float("nan")]}),
          pd.DataFrame({"a": [3], "b": ["y"], "c": [1.5]})]


def test_streamed_encodings_join_into_valid_documents():
    doc = json.loads(b"".join(json_chunks(iter(CHUNKS), {"model": "m", "version": 2})))
    assert doc["columns"] == ["a", "b", "c"] and len(doc["rows"]) == 3
    assert doc["rows"][1] == {"a": 2, "b": None, "c": None}
    assert doc["rows"][0]["c"] == 0.1234567890123  # full float precision
    assert json.loads(b"".join(json_chunks(iter([]), {"model": "m"})))["rows"] == []
    csv = pd.read_csv(io.BytesIO(b"".join(csv_chunks(iter(CHUNKS)))))
    assert csv["a"].tolist() == [1, 2, 3]  # one header only
    lines = b"".join(jsonl_chunks(iter(CHUNKS))).decode().splitlines()
    assert [json.loads(x)["a"] for x in lines] == [1, 2, 3]


def test_requests_forbid_unknown_fields_and_check_types():
    with pytest.raises(ValidationError, match="num_sample"):
        GenerateRequest.model_validate({"num_sample": 3})
    with pytest.raises(ValidationError):
        GenerateRequest.model_validate({"num_samples": "3"})  # strict: no coercion
    req = GenerateRequest.model_validate({"conditions": {"age": {"min": 30}, "sex": "F"}})
    assert req.plain_conditions() == {"age": {"min": 30}, "sex": "F"}
    with pytest.raises(Invalid, match="max_num_samples"):
        check_size(GenerateRequest(num_samples=11), 10)


def test_conditions_are_checked_against_the_model(fitted):
    model = fitted("gaussian_copula")
    for conditions, message in [({"planet": "x"}, "unknown column"),
                                ({"sex": "Martian"}, "never occurs"),
                                ([{"sex": "Male"}], "one entry per sample")]:
        req = GenerateRequest(num_samples=2, conditions=conditions)
        with pytest.raises(Invalid, match=message) as info:
            model_conditions(model, req)
        assert info.value.to_json()["detail"][0]["loc"] == ["body", "conditions"]
    req = GenerateRequest(num_samples=2, conditions=[{"sex": "Male"}, {}], seed=1)
    table = model_conditions(model, req)
    body = b"".join(body_chunks(model, req, table, 1, {}))
    assert [r["sex"] for r in json.loads(body)["rows"]][0] == "Male"


def test_settings_reject_unknown_keys_and_read_the_key_from_a_file(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="max_num_sample"):
        load_settings({"max_num_sample": 5})
    with pytest.raises(ConfigError, match="pins.adult"):
        load_settings({"pins": {"adult": 0}})
    with pytest.raises(ConfigError, match="auth must be one of"):
        load_settings({"auth": "off"})


def test_catalog_resolves_names_only_and_honours_pins(fitted, tmp_path):
    from synth.store import ModelStore

    store = ModelStore(str(tmp_path))
    for _ in range(2):
        store.add_version("adult", fitted("gaussian_copula").save)
    catalog = Catalog(str(tmp_path), refresh_s=0)
    assert catalog.resolve("adult", None) == 2 and catalog.resolve("adult", 1) == 1
    assert Catalog(str(tmp_path), pins={"adult": 1}).resolve("adult", None) == 1
    for bad in ("../adult", "..", "adult/1", "nope"):
        with pytest.raises(NotFound):
            catalog.resolve(bad, None)
    with pytest.raises(NotFound, match="no version 5"):
        catalog.resolve("adult", 5)
    info = catalog.describe("adult", 2)
    assert info["kind"] == "gaussian_copula" and info["versions"] == [1, 2]


def test_api_keys_compare_as_bytes_so_non_ascii_is_a_wrong_key():
    assert keys_match("s3cret", "s3cret") and not keys_match("s3cret ", "s3cret")
    assert not keys_match(None, "s3cret") and not keys_match("", "s3cret")
    assert not keys_match("clé-é", "s3cret") and keys_match("clé-é", "clé-é")
