"""Ray Tune search on real Adult rows with a real local Ray: the best model is registered and
loads, the results table is written, an interrupted (here: finished)
search restores with Tuner.restore instead of starting over, and so does one killed mid-way;
trials of Ray Train workers report through Tune and ASHA stops them (and their Train runs);
bad searches fail before Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import synth
from jobs import tune

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_search_registers_the_best_and_resumes(ray_local, adult_small, tmp_path,
                                                      capsys):
    """In-process trials of two families drawn by Optuna's TPE (FIFO: ASHA's stopping is
    asserted by the Train-worker search below, whose decisions do not hang on the order in
    which concurrent trials report); a finished search resumed keeps its trials."""
    data = tmp_path / "adult.csv"
    adult_small.head(1000).to_csv(data, index=False)
    store = str(tmp_path / "store")
    argv = ["--data", str(data), "--models", "gaussian_copula,tvae", "--name", "best",
            "--store", store, "search=optuna", "trials=3", "max_epochs=2", "report_every=1",
            "scheduler=fifo", f"storage={tmp_path / 'tune'}", "run_name=t1",
            "fixed.tvae.batch_size=500", "validation_rows=300"]
    assert tune.main(argv) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["trials"] == 3 and out["version"] == 1 and 0 < out["best_objective"] <= 1
    assert out["best_config"]["model"] in ("gaussian_copula", "tvae")
    table = pd.read_csv(tmp_path / "tune" / "t1" / "results.csv")
    assert len(table) == 3 and {"objective", "quality", "config/model"} <= set(table.columns)
    record = json.loads((tmp_path / "store" / "best" / "1" / "training.json").read_text())
    assert record["engine"] == "ray.tune" and record["scores"]["objective"] == pytest.approx(
        out["best_objective"], abs=1e-4)
    assert len(synth.load_synthesizer("best", store=store).sample(10, seed=0)) == 10
    assert tune.main([*argv, "resume=true"]) == 0  # restored: the finished trials stay
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["trials"] == 3 and again["version"] == 2
    assert again["best_objective"] == out["best_objective"]


@pytest.mark.parametrize("extra, message", [
    (["space.tvae.learning_rate={type: choice, values: [1]}"], "unknown tvae parameter"),
    (["models=[gaussian_copula]", "fixed.gaussian_copula.quantiles=101"], "empty"),
    (["max_epochs=2", "report_every=5"], "no trial would report"),
    (["time_budget_s=3"], "too small for one trial"),
    (["space.tvae.lr={type: normal}"], "is not one of"),
    (["max_concurrent=0"], "max_concurrent must be >= 1"),
    (["weights={tstr_ratio: 1}"], "needs target"),
])
def test_bad_searches_fail_before_any_trial(tmp_path, capsys, extra, message):
    argv = ["--data", "data/adult_train.csv.gz", "--models", "tvae", *extra]
    assert tune.main(argv) == 2
    assert message in capsys.readouterr().err


def _reports(experiment: Path) -> dict[str, list[int]]:
    """trial id -> the epochs it reported, in order (each trial's result.json)."""
    out = {}
    for path in experiment.glob("*/result.json"):
        lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        if lines:
            out[lines[0]["trial_id"]] = [r["epoch"] for r in lines]
    return out


def _recorded(experiment: Path) -> dict[str, tuple[str, int]]:
    """trial id -> (status, last epoch) in Tune's newest experiment snapshot."""
    states = sorted(experiment.glob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    try:
        doc = json.loads(states[-1].read_text()) if states else {"trial_data": []}
    except json.JSONDecodeError:  # caught mid-write
        return {}
    out = {}
    for trial, runtime in doc["trial_data"]:
        trial, runtime = json.loads(trial), json.loads(runtime)
        out[trial["trial_id"]] = (trial["status"], runtime["last_result"].get("epoch", 0))
    return out


EPOCHS = 8  # of each trial of the killed search


def test_a_search_killed_mid_way_resumes_where_it_stopped(ray_local, adult, tmp_path, capsys):
    """SIGKILL the search (driver and its own Ray) once Tune has recorded a finished trial and a
    running one with a checkpoint, then rerun with resume=true: the finished trial is not rerun,
    the interrupted one continues from its checkpoint, and every trial reaches max_epochs."""
    data = tmp_path / "adult.csv"
    adult.head(12000).to_csv(data, index=False)  # ~0.7 s epochs: room to kill mid-trial
    experiment = tmp_path / "tune" / "k"
    argv = ["--data", str(data), "--models", "tvae", "--name", "k", "--store",
            str(tmp_path / "store"), "trials=3", f"max_epochs={EPOCHS}", "report_every=1",
            "scheduler=fifo", f"storage={tmp_path / 'tune'}", "run_name=k",
            "fixed.tvae.batch_size=50", "validation_rows=200"]
    # snapshots every 2 s instead of Tune's 10 s, so that the kill lands between two states
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUNE_GLOBAL_CHECKPOINT_S": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.tune", *argv], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while True:
            state = _recorded(experiment)
            statuses = {status for status, epoch in state.values() if epoch >= 2}
            if {"TERMINATED", "RUNNING"} <= statuses:
                break
            assert proc.poll() is None, "the search ended before it could be killed"
            assert time.monotonic() < deadline, "no trial finished in time"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _reports(experiment)
    assert tune.main([*argv, "resume=true"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    after = _reports(experiment)
    assert out["trials"] == 3 and len(after) == 3 and out["version"] == 1
    assert all(epochs[-1] == EPOCHS for epochs in after.values())
    for trial, (status, epoch) in state.items():
        done = before.get(trial, [])  # reported before the kill
        new = after[trial][len(done):]
        if status == "TERMINATED":  # not rerun: nothing reported after its last epoch
            assert after[trial] == list(range(1, EPOCHS + 1)) and not new
        elif status == "RUNNING" and epoch >= 2:  # continued from a checkpoint, not epoch 1
            assert after[trial][:len(done)] == done
            assert 1 < new[0] <= epoch + 1 and new == list(range(new[0], EPOCHS + 1)), after[trial]


def test_asha_stops_trials_of_ray_train_workers_and_frees_them(adult, tmp_path):
    """The command a user runs on a small machine (its own local Ray, here 3 logical CPUs):
    each trial is a TorchTrainer of 2 DDP workers inside the Tune function (Train V2 +
    TuneReportCallback) whose objective reaches Tune; ASHA stops a trial early, and a stopped
    trial's Ray Train run (controller, DDP workers, placement group) ends with it. One trial
    of 2.01 CPUs fits at a time, so the later trial can only start once the first gave its
    CPUs back, and a leak would hang it; the best model is registered. Trials are seeded, so
    each one's scores are fixed (seed 1: trial 0 scores 0.428 after epoch 1 and 0.472 after
    epoch 2, trial 1 0.481 and 0.447, the same in every run); Tune picks which starts first
    (both orders seen), and either way ASHA stops one: trial 0 at epoch 1 when it comes
    second (0.428 < 0.481), trial 1 at epoch 2 when it does (0.447 < 0.472)."""
    data = tmp_path / "adult.csv"
    adult.head(3000).to_csv(data, index=False)  # ~1 s epochs: long enough for a stop to land
    argv = ["--data", str(data), "--models", "tvae", "--name", "asha", "--store",
            str(tmp_path / "store"), "trials=2", "max_epochs=4", "report_every=1",
            "reduction_factor=2", "workers_per_trial=2", "num_cpus=3", "max_concurrent=1",
            f"storage={tmp_path / 'tune'}", "run_name=asha", "fixed.tvae.batch_size=25",
            "validation_rows=200", "seed=1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "jobs.tune", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=420, start_new_session=True)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads([x for x in done.stdout.splitlines() if x.startswith('{"trials"')][-1])
    table = pd.read_csv(tmp_path / "tune" / "asha" / "results.csv")
    assert out["trials"] == 2 and table["epoch"].max() == 4 and 0 < out["best_objective"] <= 1
    assert len(list((tmp_path / "tune").glob("asha-train/trial-*"))) == 2  # a Train run each
    stopped = table[table["epoch"] < 4]
    assert len(stopped) == 1  # ASHA cut one trial short
    for _, row in stopped.iterrows():  # and its Train run stopped too
        run = tmp_path / "tune" / "asha-train" / f"trial-{row['trial_id']}"
        assert len([p for p in run.glob("checkpoint_*") if p.is_dir()]) < 4, sorted(run.iterdir())
    assert len(synth.load_synthesizer("asha", store=str(tmp_path / "store")).sample(5)) == 5
