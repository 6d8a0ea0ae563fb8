"""Models and tables on a real S3 protocol endpoint (moto server on 127.0.0.1)."""

from __future__ import annotations

import pandas as pd

import synth
from synth.data.io import read_table, write_table
from synth.store import ModelStore


def test_tables_roundtrip_through_s3(s3_bucket, credit):
    for suffix in ("parquet", "csv"):
        uri = f"{s3_bucket}/tables/credit.{suffix}"
        write_table(credit, uri)
        back = read_table(uri)
        assert back.shape == credit.shape
        assert back["Status"].tolist() == credit["Status"].tolist()


def test_model_save_load_and_store_on_s3(s3_bucket, fitted):
    model = fitted("gaussian_copula")
    uri = f"{s3_bucket}/models/copula-direct"
    model.save(uri)
    pd.testing.assert_frame_equal(synth.load_synthesizer(uri).sample(500, seed=4),
                                  model.sample(500, seed=4))
    store = ModelStore(f"{s3_bucket}/store")
    for _ in range(2):
        version, path = store.next_version_path("adult")
        model.save(path)
    assert store.versions("adult") == [1, 2]
    loaded = synth.load_synthesizer("adult", store=store.root)
    pd.testing.assert_frame_equal(loaded.sample(100, seed=1), model.sample(100, seed=1))
