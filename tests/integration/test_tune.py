"""Ray Tune search on real Adult rows with a real local Ray: ASHA stops weak trials, the best
model is registered and loads, the results table is written, an interrupted (here: finished)
search restores with Tuner.restore instead of starting over; bad searches fail before Ray."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import synth
from jobs import tune


def test_a_tiny_search_stops_trials_registers_the_best_and_resumes(ray_local, adult_small,
                                                                   tmp_path, capsys):
    data = tmp_path / "adult.csv"
    adult_small.head(1500).to_csv(data, index=False)
    store = str(tmp_path / "store")
    argv = ["--data", str(data), "--models", "tvae", "--name", "best", "--store", store,
            "trials=6", "max_epochs=4", "report_every=1", "reduction_factor=2",
            f"storage={tmp_path / 'tune'}", "run_name=t1", "fixed.tvae.batch_size=500",
            "validation_rows=300"]
    assert tune.main(argv) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["trials"] == 6 and out["version"] == 1 and 0 < out["best_objective"] <= 1
    table = pd.read_csv(tmp_path / "tune" / "t1" / "results.csv")
    assert len(table) == 6 and table["epoch"].min() < 4 == table["epoch"].max()  # ASHA
    assert {"config/tvae/lr", "objective", "quality"} <= set(table.columns)
    record = json.loads((tmp_path / "store" / "best" / "1" / "training.json").read_text())
    assert record["engine"] == "ray.tune" and record["scores"]["objective"] == pytest.approx(
        out["best_objective"], abs=1e-4)
    assert len(synth.load_synthesizer("best", store=store).sample(10, seed=0)) == 10
    assert tune.main([*argv, "resume=true"]) == 0  # restored: the finished trials stay
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["trials"] == 6 and again["version"] == 2
    assert again["best_objective"] == out["best_objective"]


@pytest.mark.parametrize("extra, message", [
    (["space.tvae.learning_rate={type: choice, values: [1]}"], "unknown tvae parameter"),
    (["models=[gaussian_copula]", "fixed.gaussian_copula.quantiles=101"], "empty"),
    (["max_epochs=2", "report_every=5"], "no trial would report"),
    (["time_budget_s=3"], "too small for one trial"),
    (["space.tvae.lr={type: normal}"], "is not one of"),
    (["weights={tstr_ratio: 1}"], "needs target"),
])
def test_bad_searches_fail_before_any_trial(tmp_path, capsys, extra, message):
    argv = ["--data", "data/adult_train.csv.gz", "--models", "tvae", *extra]
    assert tune.main(argv) == 2
    assert message in capsys.readouterr().err


def test_optuna_tpe_search_runs_and_registers(ray_local, adult_small, tmp_path, capsys):
    data = tmp_path / "adult.csv"
    adult_small.head(800).to_csv(data, index=False)
    argv = ["--data", str(data), "--models", "gaussian_copula,tvae", "--name", "tpe", "--store",
            str(tmp_path / "store"), "search=optuna", "scheduler=fifo", "trials=3",
            "max_epochs=1", "report_every=1", f"storage={tmp_path / 'tune'}", "run_name=tpe",
            "validation_rows=200"]
    assert tune.main(argv) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["trials"] == 3 and out["best_config"]["model"] in ("gaussian_copula", "tvae")
    assert len(synth.load_synthesizer("tpe", store=str(tmp_path / "store")).sample(5)) == 5


def test_trials_of_two_ray_train_workers_report_through_tune(ray_local, adult_small, tmp_path,
                                                             capsys):
    """Each trial is a TorchTrainer of 2 DDP workers inside the Tune function (Train V2 +
    TuneReportCallback); the objective reaches Tune and the best model is registered."""
    data = tmp_path / "adult.csv"
    adult_small.head(1200).to_csv(data, index=False)
    argv = ["--data", str(data), "--models", "tvae", "--name", "ddp", "--store",
            str(tmp_path / "store"), "trials=2", "max_epochs=2", "report_every=1",
            "scheduler=fifo", "workers_per_trial=2", f"storage={tmp_path / 'tune'}",
            "run_name=ddp", "fixed.tvae.batch_size=300", "validation_rows=200"]
    assert tune.main(argv) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["trials"] == 2 and 0 < out["best_objective"] <= 1
    table = pd.read_csv(tmp_path / "tune" / "ddp" / "results.csv")
    assert table["epoch"].tolist() == [2, 2]
    assert len(list((tmp_path / "tune").glob("ddp-train/trial-*"))) == 2
    assert len(synth.load_synthesizer("ddp", store=str(tmp_path / "store")).sample(5)) == 5
