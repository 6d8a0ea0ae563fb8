"""The end-to-end pipeline on real Adult rows: every stage on a real local Ray (Ray Train, Ray
Data), completion markers with config hashes (an unchanged rerun does nothing, a changed
config reruns its stage and those after it, a lost output is rebuilt), and the same pipeline
submitted with `ray job submit --working-dir .` to a `ray start --head` on loopback, deployed
to Ray Serve and called over HTTP (and a failing job through JobSubmissionClient)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from jobs import pipeline
from jobs.common import LOCAL_RAY_ENV, free_port
from synth.store import ModelStore

ROOT = Path(__file__).resolve().parents[2]

# a JobSubmissionClient in a fresh interpreter (Ray reads the auth token at import, so the
# client process gets the head's token): submit, wait, print the status and the logs' tail
SUBMIT = """
import json, sys, time
from ray.job_submission import JobStatus, JobSubmissionClient
address, entry, runtime_env = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = JobSubmissionClient(address)
deadline = time.time() + 120
while True:  # the head's job agent comes up a little after its HTTP server
    try:
        job = client.submit_job(entrypoint=entry, runtime_env=runtime_env)
        break
    except RuntimeError as exc:
        if "No available agent" not in str(exc) or time.time() > deadline:
            raise
        time.sleep(2)
deadline = time.time() + 300
while time.time() < deadline:
    status = client.get_job_status(job)
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
        break
    time.sleep(1)
print("STATUS", status.value)
print(client.get_job_logs(job)[-3000:])
"""


def _ran(capsys) -> tuple[list[str], dict[str, str]]:
    """(stages that ran, what the summary says) of the last pipeline call."""
    out = capsys.readouterr().out
    ran = re.search(r"^pipeline done; ran: (.*)$", out, re.M).group(1)
    model = re.search(r"^  model +(\S+) v(\d+) at (\S+)$", out, re.M)
    result = {"ran": ran, "name": model.group(1), "version": model.group(2),
              "path": model.group(3), "report_html": re.search(r"^  report +(\S+)$", out,
                                                               re.M).group(1)}
    result.update(re.findall(r"^  \w+ +(?:good|fair|poor) .*\((\w+) ([-0-9.]+)\)$", out, re.M))
    monitor = re.search(r"^  monitor +(.*): (\S+)$", out, re.M)
    if monitor:
        result.update(monitor=monitor.group(1), monitor_report=monitor.group(2))
    return ([] if ran.startswith("nothing") else ran.split(",")), result


def test_stages_run_once_and_rerun_only_what_changed(ray_local, adult_small, tmp_path, capsys):
    data = tmp_path / "adult.csv"
    adult_small.head(2000).to_csv(data, index=False)
    run = tmp_path / "run"
    # a model that fits in one Ray task keeps the six runs quick (Ray Train: the job-submit test)
    argv = ["--data", str(data), "--target", "income", "--model", "gaussian_copula", "--name",
            "adult", "--output", str(run), "--rows", "3000", "rows_per_file=1000"]
    assert pipeline.main(argv) == 0
    ran, result = _ran(capsys)
    assert ran == ["prepare", "baseline", "train", "evaluate", "register", "sample", "check"]
    assert result["version"] == "1" and 0 < float(result["quality"]) <= 1
    check = json.loads((run / "monitor" / "check" / "check.json").read_text())
    assert check["rows"] == 3000 and check["alarm"] == result["monitor"].startswith("ALARM")
    assert result["monitor_report"] == str(run / "monitor" / "check" / "report.html")
    assert (run / "monitor" / "baseline" / "constraints.json").is_file()
    assert (run / "evaluation" / "report.html").is_file() and "tstr_ratio" in result
    assert result["report_html"] == str(run / "evaluation" / "report.html")
    assert len(pd.read_parquet(run / "prepared" / "holdout.parquet")) == 400
    synthetic = pd.read_parquet(run / "synthetic")
    assert len(synthetic) == 3000 and list(synthetic.columns) == list(adult_small.columns)
    markers = {p.stem: json.loads(p.read_text()) for p in (run / "_stages").glob("*.json")}
    assert set(markers) == {"prepare", "baseline", "train", "evaluate", "register", "sample",
                            "check"}
    assert len({m["config_hash"] for m in markers.values()}) == 7
    registered = run / "models" / "adult" / "1"
    assert json.loads((registered / "training.json").read_text())["engine"] == "process"
    evaluation = json.loads((registered / "evaluation.json").read_text())
    assert evaluation["quality"] == pytest.approx(float(result["quality"]), abs=6e-4)
    assert set(evaluation["verdicts"]) == {"fidelity", "utility", "privacy", "detection"}
    parts = {p.name: p.stat().st_mtime_ns for p in (run / "synthetic").iterdir()}

    assert pipeline.main(argv) == 0  # nothing changed: nothing runs, nothing is rewritten
    assert _ran(capsys)[0] == []
    assert {p.name: p.stat().st_mtime_ns for p in (run / "synthetic").iterdir()} == parts
    assert ModelStore(str(run / "models")).versions("adult") == [1]  # no new registration

    argv[argv.index("3000")] = "5000"  # more rows: only sampling reruns
    assert pipeline.main(argv) == 0
    assert _ran(capsys)[0] == ["sample", "check"]
    assert len(pd.read_parquet(run / "synthetic")) == 5000
    assert json.loads((run / "monitor" / "check" / "check.json").read_text())["rows"] == 5000

    (run / "evaluation" / "report.json").unlink()  # a lost output is rebuilt, nothing else
    assert pipeline.main(argv) == 0
    assert _ran(capsys)[0] == ["evaluate"] and (run / "evaluation" / "report.json").is_file()

    (run / "synthetic" / "part-000001.parquet").unlink()  # a lost part, its manifest intact
    assert pipeline.main(argv) == 0
    assert _ran(capsys)[0] == ["sample"] and len(pd.read_parquet(run / "synthetic")) == 5000

    assert pipeline.main([*argv, "params.quantiles=501"]) == 0  # a new model: train and after
    ran, result = _ran(capsys)
    assert ran == ["train", "evaluate", "register", "sample", "check"]
    assert result["version"] == "2"

    data.write_text(data.read_text().replace("Private", "private", 1))  # new data: everything
    assert pipeline.main([*argv, "params.quantiles=501"]) == 0
    assert _ran(capsys)[0] == ["prepare", "baseline", "train", "evaluate", "register", "sample",
                               "check"]


def test_bad_pipeline_input_fails_before_any_stage(tmp_path, capsys):
    base = ["--data", "data/adult_train.csv.gz", "--output", str(tmp_path / "r")]
    assert pipeline.main([*base, "--target", "nope", "--no-ray"]) == 2
    assert "target 'nope' is not a column" in capsys.readouterr().err
    assert pipeline.main([*base, "--model", "dcgan"]) == 2
    assert "image model" in capsys.readouterr().err
    assert pipeline.main([*base, "port=0"]) == 2
    assert not (tmp_path / "r" / "_stages").exists()


def test_ray_job_submit_runs_the_pipeline_and_deploys_it(ray_head, adult_small, tmp_path):
    """`ray job submit --working-dir .` (the CLI, logs streamed, exit status checked) to a head
    on 127.0.0.1 with token auth, training on 2 DDP workers there; the runtime_env only sets
    variables, installs nothing. Then a failing job through the Python SDK. The model is a
    binary_diffusion, so this run is also that family's DDP check (equal parameters on both
    ranks, a model that samples and serves; tvae's: the ASHA test of Train trials)."""
    address, env = ray_head
    data = tmp_path / "adult.csv"
    adult_small.head(1500).to_csv(data, index=False)
    port = free_port()
    key_file = tmp_path / "api-key"  # deploy with a key: readiness is polled with it
    key_file.write_text("pipeline-key\n")
    runtime_env = json.dumps({"env_vars": dict(LOCAL_RAY_ENV)})
    cmd = [str(Path(sys.executable).parent / "ray"), "job", "submit", "--address", address,
           "--working-dir", ".", "--runtime-env-json", runtime_env, "--",
           "python", "-m", "jobs.pipeline", "--data", str(data), "--target", "income",
           "--model", "binary_diffusion", "--name", "adult", "--output", str(tmp_path / "run"),
           "--rows", "500", "params.epochs=2", "params.dim=32", "params.sample_steps=4",
           "num_workers=2", "--deploy", f"port={port}",
           f"serve.api_key_file={key_file}"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    logs = out.stdout + out.stderr
    assert out.returncode == 0, logs[-4000:]
    assert "pipeline done; ran:" in logs and "succeeded" in logs  # the job's own output, streamed
    assert len(pd.read_parquet(tmp_path / "run" / "synthetic")) == 500
    url, key = f"http://127.0.0.1:{port}/v1/models/adult", {"X-API-Key": "pipeline-key"}
    assert httpx.get(url, timeout=30).status_code == 401
    info = httpx.get(url, timeout=30, headers=key).json()
    assert info["versions"] == [1]  # still served after the job
    record = json.loads((tmp_path / "run/models/adult/1/training.json").read_text())
    m = record["metrics"]
    assert record["engine"] == "ray.train" and len(m["shard_rows"]) == 2
    assert m["param_digest"][0] == m["param_digest"][1] and m["stopped_at"] == 2
    rows = httpx.post(f"{url}/generate", json={"num_samples": 5, "seed": 7}, timeout=60,
                      headers=key)
    assert rows.status_code == 200 and len(rows.json()["rows"]) == 5

    # the Python SDK (JobSubmissionClient): a failing job is reported as FAILED, with its error
    entry = f"python -m jobs.pipeline --data {tmp_path / 'missing.csv'} --output {tmp_path / 'r2'}"
    sdk_env = {"working_dir": str(ROOT), "env_vars": dict(LOCAL_RAY_ENV),
               "excludes": [".venv", ".git", "runs", "models", "*.egg-info"]}
    out = subprocess.run([sys.executable, "-c", SUBMIT, address, entry, json.dumps(sdk_env)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert "STATUS FAILED" in out.stdout and "missing.csv" in out.stdout, out.stdout + out.stderr


def test_a_run_directory_on_s3(ray_local, s3_bucket, adult_small, tmp_path, capsys):
    """Every stage reads and writes the s3:// run directory (moto on 127.0.0.1); a rerun reads
    its markers back from S3 and skips everything."""
    from synth.data import io

    data = f"{s3_bucket}/input/adult.parquet"
    io.write_table(adult_small.head(1000), data)
    argv = ["--data", data, "--target", "income", "--model", "gaussian_copula", "--name", "s3",
            "--output", f"{s3_bucket}/runs/p", "--rows", "700"]
    assert pipeline.main(argv) == 0
    ran, result = _ran(capsys)
    assert len(ran) == 7 and result["path"] == f"{s3_bucket}/runs/p/models/s3/1"
    assert len(io.read_table(f"{s3_bucket}/runs/p/synthetic")) == 700
    assert io.exists(f"{s3_bucket}/runs/p/evaluation/report.html")
    assert pipeline.main(argv) == 0 and _ran(capsys)[0] == []
