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
        store.add_version("adult", model.save)
    assert store.versions("adult") == [1, 2]
    assert store.complete_versions() == {"adult": [1, 2]}
    loaded = synth.load_synthesizer("adult", store=store.root)
    pd.testing.assert_frame_equal(loaded.sample(100, seed=1), model.sample(100, seed=1))


def test_concurrent_registrations_on_s3_claim_distinct_versions(s3_bucket):
    """The version number is claimed with a conditional PUT (If-None-Match: *) on the real S3
    protocol: writers that all saw the same "next" number still get distinct versions."""
    import threading

    from synth.data import io
    from synth.store import write_model_dir

    store, barrier, got = ModelStore(f"{s3_bucket}/race"), threading.Barrier(4), {}

    def register(i: int) -> None:
        barrier.wait()
        version, path = store.add_version(
            "m", lambda p: write_model_dir(p, {"config.json": b"{}", "who": str(i).encode()}))
        got[version] = io.read_bytes(f"{path}/who").decode()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [1, 2, 3, 4] and sorted(got.values()) == ["0", "1", "2", "3"]
    assert store.complete_versions() == {"m": [1, 2, 3, 4]}
    assert not io.create_exclusive(f"{s3_bucket}/race/m/1/_CLAIM")
