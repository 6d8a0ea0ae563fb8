"""Streaming sampling to a Parquet prefix on a moto S3 server with a real local Ray: exact row
counts, types, same bytes on a rerun, resume after lost files, refused mixed runs."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jobs import sample as job
from synth.data import io


@pytest.fixture(scope="module")
def model_dir(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "copula"
    fitted("gaussian_copula").save(str(path))
    return str(path)


def _parts(prefix: str) -> dict[str, bytes]:
    return {n: io.read_bytes(f"{prefix}/{n}") for n in io.list_dir(prefix)
            if n.startswith("part-")}


def test_prefix_on_s3_is_exact_typed_deterministic_and_resumable(ray_local, s3_bucket,
                                                                  model_dir, adult_small):
    out = f"{s3_bucket}/synthetic/adult"
    argv = ["--model", model_dir, "--rows", "2500", "--output", out, "--rows-per-file",
            "1000", "--seed", "7", "--conditions", '{"sex": "Female"}']
    assert job.main(argv) == 0
    names = io.list_dir(out)
    assert names == ["_manifest.json", "_run.json", "part-000000.parquet",
                     "part-000001.parquet", "part-000002.parquet"]
    manifest = json.loads(io.read_bytes(f"{out}/_manifest.json"))
    assert manifest["rows"] == 2500 and [f["rows"] for f in manifest["files"]] == [1000] * 2 + [500]
    fs, path = io.filesystem(out)
    table = pq.read_table(path, filesystem=fs)
    df = table.to_pandas()
    assert len(df) == 2500 and (df["sex"] == "Female").all()
    assert list(df.columns) == list(adult_small.columns)
    assert str(table.schema.field("age").type) == "int64"
    assert df.duplicated().sum() < 25  # not the same rows file after file
    first = _parts(out)
    assert job.main(argv) == 0  # rerun: nothing to write, same bytes
    assert _parts(out) == first
    for name in ("part-000001.parquet", "_manifest.json"):  # a crash lost a file
        fs.delete_file(f"{path}/{name}")
    assert job.main(argv) == 0
    assert _parts(out) == first and len(pd.read_parquet(path, filesystem=fs)) == 2500


def test_a_different_run_is_refused_unless_overwritten(ray_local, s3_bucket, model_dir, capsys):
    out = f"{s3_bucket}/synthetic/other"
    base = ["--model", model_dir, "--output", out, "--rows-per-file", "500"]
    assert job.main([*base, "--rows", "1000"]) == 0
    assert job.main([*base, "--rows", "1200"]) == 2
    assert "holds another run (different rows)" in capsys.readouterr().err
    assert job.main([*base, "--rows", "1200", "--overwrite"]) == 0
    assert json.loads(io.read_bytes(f"{out}/_manifest.json"))["rows"] == 1200
    assert len(io.list_dir(out)) == 2 + 3


@pytest.mark.parametrize("args, message", [
    (["--rows", "0"], "rows must be >= 1"),
    (["--rows", "10", "--conditions", '{"planet": "Mars"}'], "planet"),
    (["--rows", "10", "--output", "s3://no-such-bucket/x"], "cannot write to"),
])
def test_bad_input_fails_before_any_compute(ray_local, s3_bucket, model_dir, capsys, args,
                                            message):
    argv = ["--model", model_dir, "--output", f"{s3_bucket}/bad", *args]
    if "--output" in args:
        argv = ["--model", model_dir, *args]
    assert job.main(argv) == 2
    assert message in capsys.readouterr().err
