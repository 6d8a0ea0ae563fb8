"""The `synth` command line as users run it (subprocesses), on real Adult data; the pipeline
runs on a real local Ray."""

from __future__ import annotations

import json
import os
import re
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
    (rc, top, _), (rc2, sample, _) = run_many(["--help"], ["sample", "--help"])
    assert rc == rc2 == 0
    assert "synth train" in top and "synth sample" in top and "synth evaluate" in top
    assert "--conditions" in sample


def test_train_sample_models(small_csv, tmp_path):
    model_dir, store = tmp_path / "model", str(tmp_path / "store")
    out_file, per_row = tmp_path / "female.parquet", tmp_path / "conditions.csv"
    pd.DataFrame({"income": [">50K"] * 3 + ["<=50K"] * 2}).to_csv(per_row, index=False)
    results = run_many(
        ["train", "--no-ray", "--data", str(small_csv), "--model", "ctgan", "--epochs", "2",
         "--output", str(model_dir), "--store", store, "--name", "adult"],
        ["sample", "--no-ray", "--model", str(model_dir), "--rows", "300", "--seed", "3",
         "--output", str(out_file), "--conditions", '{"sex": "Female"}'],
        ["sample", "--no-ray", "--model", "adult", "--store", store, "--output",
         str(tmp_path / "rows.csv"), "--conditions", str(per_row)],
        ["models", "--store", store], ["models", "--params", "ctgan"])
    assert [rc for rc, _, _ in results] == [0] * 5, results
    assert (model_dir / "_COMPLETE").exists()
    df = pd.read_parquet(out_file)
    assert len(df) == 300 and (df["sex"] == "Female").all()
    assert pd.read_csv(tmp_path / "rows.csv")["income"].tolist() == [">50K"] * 3 + ["<=50K"] * 2
    listing = results[3][1]
    assert "adult: versions [1]" in listing
    assert re.search(r"^    v1  ctgan$", listing, re.M)  # --no-ray: no evaluation recorded
    assert "pac = 10" in results[4][1]


def test_dry_run_prints_resolved_config_and_rejects_unknown_keys(small_csv):
    (rc, out, _), (bad, _, err) = run_many(
        ["train", "--data", str(small_csv), "--output", "x", "--dry-run", "params.epochs=7",
         "--config", str(ROOT / "configs/adult_ctgan.yaml")],
        ["train", "--data", str(small_csv), "--output", "x", "epochz=3"])
    cfg = json.loads(out)
    assert rc == 0 and cfg["params"]["epochs"] == 7 and cfg["params"]["batch_size"] == 500
    assert bad == 2 and "unknown job config parameter 'epochz'" in err


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
# several `synth` commands through its own entry point in one fresh interpreter (an interpreter
# per command cost 3 s each): exit status, stdout and stderr of each, in order
EACH = """
import contextlib, io, json, sys
from jobs import cli
out = []
for args in json.loads(sys.argv[1]):
    so, se = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        try:
            rc = cli.main(args)
        except SystemExit as exc:
            rc = exc.code
    out.append([rc, so.getvalue(), se.getvalue()])
print(json.dumps(out))
"""


def run_many(*commands: list[str]) -> list[tuple[int, str, str]]:
    env = {**os.environ, **LOCAL_RAY_ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", EACH, json.dumps(list(commands))],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [tuple(x) for x in json.loads(done.stdout.splitlines()[-1])]


def test_user_mistakes_are_one_clear_line():
    for (args, message), (rc, _, err) in zip(MISTAKES, run_many(*[a for a, _ in MISTAKES]),
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
    html = (tmp_path / "run" / "evaluation" / "report.html").read_text()
    assert "data-figure" in html and "trained without differential privacy" in html
    assert (tmp_path / "run" / "models" / "demo" / "1" / "_COMPLETE").exists()
