"""Ray Train (DDP) training on real Adult rows: 2 CPU workers on a real local Ray, data and
checkpoints on a moto S3 server; a node killed mid-run on a multi-node local cluster. (Jobs
submitted to a `ray start --head`: tests/integration/test_pipeline.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import synth
from jobs import train
from jobs.common import LOCAL_RAY_ENV
from jobs.ray_train.collective import digest
from synth.data import io

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows(adult_small) -> pd.DataFrame:
    return adult_small.iloc[:3000].reset_index(drop=True)


def test_two_workers_shard_sync_checkpoint_and_register(ray_local, s3_bucket, rows, tmp_path):
    for i in range(3):  # a Parquet prefix of three files on S3
        io.write_table(rows.iloc[i * 1000:(i + 1) * 1000], f"{s3_bucket}/train/part-{i}.parquet")
    store = tmp_path / "store"
    rc = train.main(["--data", f"{s3_bucket}/train/", "--model", "ctgan", "--name", "adult",
                     "--store", str(store), "num_workers=2", "params.epochs=3",
                     "checkpoint_every=1", f"storage={s3_bucket}/runs", "run_name=ddp"])
    assert rc == 0
    record = json.loads((store / "adult" / "1" / "training.json").read_text())
    m = record["metrics"]
    # DDP: every rank ends with the same parameters
    assert len(m["param_digest"]) == 2 and m["param_digest"][0] == m["param_digest"][1]
    # the ranks' row sets are disjoint and cover the table
    assert sum(m["shard_rows"]) == len(rows) and min(m["shard_rows"]) > 0
    assert sum(int(d) for d in m["shard_digest"]) % 2**64 == digest(rows)
    assert record["data"]["rows"] == len(rows) and m["stopped_at"] == 3
    assert [h["epoch"] for h in record["history"]] == [1, 2, 3]
    assert {"loss_d", "loss_g", "rows_per_s", "elapsed_s"} <= set(record["history"][0])
    assert 0 < record["evaluation"]["quality"] <= 1
    assert io.list_dir(f"{s3_bucket}/runs/ddp")  # checkpoints went to S3
    model = synth.load_synthesizer("adult", store=str(store))
    assert list(model.sample(50, seed=1).columns) == list(rows.columns)


def test_early_stopping_is_decided_once_for_all_ranks(ray_local, rows, tmp_path):
    """With potnet, which also stands for the newer families taking the same DDP path (equal
    parameters on both ranks, a model that samples; binary_diffusion: the job-submit test in
    test_pipeline.py)."""
    data = tmp_path / "rows.csv"
    rows.to_csv(data, index=False)
    md = tmp_path / "metadata.json"  # constraints reach the workers, which rewrite their shards
    md.write_text(json.dumps({"columns": {"education_num": "categorical"}, "constraints": [
        {"type": "fixed_combinations", "columns": ["education", "education_num"]},
        {"type": "positive", "column": "capital_loss"}]}))
    rc = train.main(["--data", str(data), "--model", "potnet", "--output", str(tmp_path / "m"),
                     "--metadata", str(md), "num_workers=2", "params.epochs=40",
                     "early_stop_patience=1", "validate_every=1", "validation_rows=500",
                     f"storage={tmp_path / 's'}"])
    assert rc == 0
    m = json.loads((tmp_path / "m" / "training.json").read_text())["metrics"]
    assert m["stopped_at"] < 40 and m["param_digest"][0] == m["param_digest"][1]
    out = synth.load_synthesizer(str(tmp_path / "m")).sample(1000, seed=0)
    assert list(out.columns) == list(rows.columns)
    pairs = set(map(tuple, rows[["education", "education_num"]].drop_duplicates().to_numpy()))
    assert set(map(tuple, out[["education", "education_num"]].to_numpy())) <= pairs
    assert (out.capital_loss >= 0).all()


def test_a_killed_node_does_not_lose_the_run(rows, tmp_path):
    data = tmp_path / "rows.csv"
    rows.to_csv(data, index=False)
    env = {**os.environ, **LOCAL_RAY_ENV, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "tests/integration/fault_run.py"),
                          str(data), str(tmp_path / "work")], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stdout[-3000:] + out.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["killed"] is not None and result["killed_after_checkpoints"] >= 1
    assert result["rc"] == 0 and result["epochs"] == 6
    assert result["resumed_from"] >= 1  # restored from a checkpoint, not from epoch 0
    assert result["sampled"] == 100
