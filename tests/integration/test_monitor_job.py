"""`synth monitor` on the session's real Ray reading a Parquet prefix on a real S3 protocol
endpoint (moto): the baseline the Ray Data stream computes equals the in-process one, a real
batch passes (exit 0) and a shifted one raises the alarm (exit 1) on the columns shifted."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd

from jobs import monitor as job

DATA = Path(__file__).resolve().parents[2] / "data"


def _put_prefix(df: pd.DataFrame, bucket: str, prefix: str, parts: int = 3) -> str:
    s3 = boto3.client("s3")
    for i, chunk in enumerate(np.array_split(np.arange(len(df)), parts)):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/part-{i}.parquet",
                      Body=df.iloc[chunk].to_parquet(index=False))
    return f"s3://{bucket}/{prefix}"


def _get_json(key: str) -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket="raysynth", Key=key)["Body"].read())


def test_monitor_job_on_an_s3_prefix(ray_local, s3_bucket, tmp_path, capsys):
    import synth.monitor as mon

    train = pd.read_csv(DATA / "adult_train.csv.gz")
    test = pd.read_csv(DATA / "adult_test.csv.gz")
    train_uri = _put_prefix(train, "raysynth", "monitor/train")
    base = f"{s3_bucket}/monitor/baseline"
    assert job.main(["baseline", "--data", train_uri, "--output", base]) == 0
    stats = _get_json("monitor/baseline/statistics.json")
    local = mon.baseline(train_uri).statistics  # in process, the same three files
    assert stats["rows"] == len(train)
    for name, col in stats["columns"].items():
        other = local["columns"][name]
        assert {k: v for k, v in col.items() if k not in ("quantiles", "edges", "probs")} == \
            {k: v for k, v in other.items() if k not in ("quantiles", "edges", "probs")}, name
    capsys.readouterr()
    check = ["check", "--baseline", base, "--output", f"{s3_bucket}/monitor/check"]
    assert job.main([*check, "--data", _put_prefix(test, "raysynth", "monitor/test")]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["alarm"] is False
    shifted = test.assign(age=test.age + 10, fnlwgt=test.fnlwgt * 3)
    assert job.main([*check, "--data", _put_prefix(shifted, "raysynth", "monitor/new")]) == 1
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out["flagged"]) == {"age", "fnlwgt"}
    doc = _get_json("monitor/check/check.json")
    assert doc["rows"] == len(test) and doc["alarm"]
    from synth.data.io import read_table

    history = read_table(f"{base}/history.parquet")  # beside the baseline, one row per column
    assert history.check.nunique() == 2 and len(history) == 2 * history.column.nunique()
    assert job.main([*check, "--data", str(tmp_path / "missing.csv")]) == 2
