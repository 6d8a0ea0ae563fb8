"""The `synth` command line as users run it (subprocesses), on real Adult data; the pipeline
runs on a real local Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jobs.common import LOCAL_RAY_ENV

ROOT = Path(__file__).resolve().parents[2]
SYNTH = [sys.executable, "-m", "jobs.cli"]


def run(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **LOCAL_RAY_ENV}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([*SYNTH, *args], capture_output=True, text=True, cwd=cwd, env=env,
                         timeout=600)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, adult_small) -> Path:
    path = tmp_path_factory.mktemp("data") / "adult.csv"
    adult_small.to_csv(path, index=False)
    return path


def test_help_is_there_for_newcomers():
    out = run("--help")
    assert "synth train" in out.stdout and "synth sample" in out.stdout
    assert "synth evaluate" in out.stdout
    assert "--conditions" in run("sample", "--help").stdout


def test_train_sample_models(small_csv, tmp_path):
    model_dir = tmp_path / "model"
    run("train", "--no-ray", "--data", str(small_csv), "--model", "ctgan", "--epochs", "2",
        "--output", str(model_dir), "--store", str(tmp_path / "store"), "--name", "adult")
    assert (model_dir / "_COMPLETE").exists()
    out_file = tmp_path / "female.parquet"
    run("sample", "--no-ray", "--model", str(model_dir), "--rows", "300", "--seed", "3",
        "--output", str(out_file), "--conditions", '{"sex": "Female"}')
    df = pd.read_parquet(out_file)
    assert len(df) == 300 and (df["sex"] == "Female").all()
    per_row = tmp_path / "conditions.csv"
    pd.DataFrame({"income": [">50K"] * 3 + ["<=50K"] * 2}).to_csv(per_row, index=False)
    run("sample", "--no-ray", "--model", "adult", "--store", str(tmp_path / "store"),
        "--output", str(tmp_path / "rows.csv"), "--conditions", str(per_row))
    assert pd.read_csv(tmp_path / "rows.csv")["income"].tolist() == [">50K"] * 3 + ["<=50K"] * 2
    listing = run("models", "--store", str(tmp_path / "store")).stdout
    assert "ctgan" in listing and "adult: versions [1]" in listing
    assert "pac = 10" in run("models", "--params", "ctgan").stdout


def test_dry_run_prints_resolved_config_and_rejects_unknown_keys(small_csv):
    out = run("train", "--data", str(small_csv), "--output", "x", "--dry-run", "params.epochs=7",
              "--config", str(ROOT / "configs/adult_ctgan.yaml"))
    cfg = json.loads(out.stdout)
    assert cfg["params"]["epochs"] == 7 and cfg["params"]["batch_size"] == 500
    bad = run("train", "--data", str(small_csv), "--output", "x", "epochz=3", check=False)
    assert bad.returncode == 2 and "unknown job config parameter 'epochz'" in bad.stderr


MISTAKES = [
    (["train", "--no-ray", "--data", "missing.csv", "--output", "x"], "does not exist"),
    (["sample", "--no-ray", "--model", "/nonexistent/model", "--rows", "5", "--output", "o.csv"],
     "not found"),
    (["sample", "--no-ray", "--model", "m", "--output", "o.csv"], "rows is required"),
    (["train", "--no-ray", "--data", "README.md", "--output", "x"], "unsupported data file"),
    (["evaluate", "--no-ray", "--real", "data/adult_test.csv.gz", "--synthetic",
      "data/credit_data.parquet", "--output", "x"], "does not have the real data's columns"),
    (["evaluate", "--real", "data/adult_test.csv.gz", "--output", "x"], "synthetic is required"),
]
# every mistake through `synth`'s own entry point in one fresh interpreter (an interpreter per
# case cost 3 s each): exit status and stderr of each
EACH = """
import contextlib, io, json, sys
from jobs import cli
out = []
for args in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = cli.main(args)
        except SystemExit as exc:
            rc = exc.code
    out.append([rc, err.getvalue()])
print(json.dumps(out))
"""


def test_user_mistakes_are_one_clear_line():
    env = {**os.environ, **LOCAL_RAY_ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", EACH, json.dumps([a for a, _ in MISTAKES])],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for (args, message), (rc, err) in zip(MISTAKES, json.loads(done.stdout.splitlines()[-1]),
                                          strict=True):
        assert rc == 2 and message in err and "Traceback" not in err, (args, rc, err)
    assert not (ROOT / "x").exists() and not (ROOT / "_logs").exists()  # nothing left behind


def test_pipeline_on_a_real_local_ray(small_csv, tmp_path):
    out = run("pipeline", "--data", str(small_csv), "--target", "income", "--model",
              "gaussian_copula", "--rows", "2000", "--output", str(tmp_path / "run"))
    assert "pipeline done" in out.stdout
    synthetic = pd.read_parquet(tmp_path / "run" / "synthetic")  # Ray Data parts
    assert len(synthetic) == 2000
    report = json.loads((tmp_path / "run" / "evaluation" / "report.json").read_text())
    assert report["scores"]["column_shapes"] > 0.9
    assert {"tstr_ratio", "dcr_ratio", "detection_auc"} <= set(report["scores"])
    assert "data-figure" in (tmp_path / "run" / "evaluation" / "report.html").read_text()
    assert (tmp_path / "run" / "models" / "demo" / "1" / "_COMPLETE").exists()
