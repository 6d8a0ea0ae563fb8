"""Job configs resolve model parameters at the edge: a typo in `params.*` fails before any
data is read or Ray starts, with a "did you mean", and --dry-run shows every parameter."""

from __future__ import annotations

import json

import pytest

from jobs import pipeline, train, tune

DATA = "data/adult_train.csv.gz"


@pytest.fixture
def no_ray(monkeypatch):
    """Fail the test if a job starts (or connects to) Ray."""
    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started before the config was checked")

    for job in (pipeline, train, tune):
        monkeypatch.setattr(job, "start_ray", refuse)


@pytest.mark.parametrize("job, argv", [
    (train, ["--data", "no/such/file.csv", "--model", "ctgan", "--name", "x"]),
    (pipeline, ["--data", "no/such/file.csv", "--model", "ctgan"]),
])
def test_a_typo_in_params_fails_before_anything_runs(job, argv, capsys, no_ray):
    assert job.main([*argv, "params.epoch=5"]) == 2  # the data does not even exist
    err = capsys.readouterr().err
    assert "'epoch'" in err and "did you mean 'epochs'" in err


def test_the_guard_sees_a_job_that_starts_ray(no_ray):
    """Without the typo the same command goes on to start Ray: the guard above is not empty."""
    with pytest.raises(AssertionError, match="Ray was started"):
        train.main(["--data", "no/such/file.csv", "--model", "ctgan", "--name", "x",
                    "params.epochs=5"])


def test_dry_run_prints_the_fully_resolved_model_config(capsys):
    assert train.main(["--data", DATA, "--model", "tvae", "--name", "x", "params.epochs=5",
                       "--dry-run"]) == 0
    doc = json.loads(capsys.readouterr().out)
    params = doc["params"]
    assert params["epochs"] == 5 and params["batch_size"] == 500  # default filled in
    assert {"compress_dims", "loss_factor", "seed", "device"} <= set(params)


def test_an_unknown_family_lists_the_valid_ones(capsys):
    assert train.main(["--data", DATA, "--model", "ctgam", "--name", "x", "--dry-run"]) == 2
    assert "ctgan" in capsys.readouterr().err


def test_tune_rejects_a_typo_in_fixed_params_before_ray(capsys, no_ray):
    assert tune.main(["--data", DATA, "--models", "tvae", "fixed.tvae.epoch=3"]) == 2
    assert "'epoch'" in capsys.readouterr().err
