"""Quiet runs: Ray's log records and warnings from installed packages go to the run's log file,
the project's own warnings still reach the terminal, `--verbose` keeps everything on it; the
progress displays draw what they are sent."""

from __future__ import annotations

import logging
import warnings

import pytest

from jobs import console


@pytest.fixture
def quiet(tmp_path):
    path = console.configure(False, str(tmp_path / "run"), "demo")
    yield path
    console.configure(True, None, "demo")  # back to the test session's default


def test_ray_logs_and_package_warnings_go_to_the_run_log(quiet, tmp_path, capsys):
    assert quiet == tmp_path / "run" / "_logs" / "demo.log" and not console.log_to_driver()
    logging.getLogger("ray.train").warning("Failed to query Ray Train Controller actor state")
    logging.getLogger("ray").info("Started a local Ray instance.")
    warnings.showwarning("concurrency is deprecated", DeprecationWarning,
                         "/x/site-packages/ray/data/dataset.py", 1)
    warnings.showwarning("declare them kind 'text'", UserWarning, "/repo/synth/data/md.py", 9)
    err = capsys.readouterr().err
    assert "Controller" not in err and "deprecated" not in err and "kind 'text'" in err
    text = quiet.read_text()
    assert "Controller actor state" in text and "Started a local Ray" in text
    assert "concurrency is deprecated" in text and "kind 'text'" not in text


def test_verbose_keeps_ray_on_the_terminal(tmp_path, monkeypatch):
    assert console.configure(True, str(tmp_path), "demo") is None and console.log_to_driver()
    monkeypatch.setenv(console.VERBOSE_ENV, "1")
    assert console.configure(False, str(tmp_path), "demo") is None  # the variable wins
    assert not (tmp_path / "_logs").exists()


def test_a_command_that_logs_nothing_leaves_no_log_folder(tmp_path):
    path = console.configure(False, str(tmp_path / "never"), "sample")
    console.configure(True, None, "sample")
    assert path is not None and not (tmp_path / "never").exists()


def test_a_run_on_s3_logs_locally():
    assert console.log_path("s3://b/runs/x", "pipeline").as_posix() == "runs/_logs/pipeline.log"
    assert console.parent_dir("out/rows.parquet") == "out" and console.parent_dir("s3://b/x") \
        is None


def test_the_epoch_bar_draws_posted_epochs(capsys):
    from jobs.ray_train.progress import EpochBar, event

    bar = EpochBar("train")
    bar.update([event({"loss": 2.5, "rows": 100, "epoch": 1}, 1, 10),
                event({"loss": 2.0, "validation": 0.97}, 3, 10)])
    bar.close()
    err = capsys.readouterr().err
    assert "3/10" in err and "loss=2" in err and "validation=0.97" in err


def test_the_trial_bar_counts_running_stopped_and_failed(capsys):
    from types import SimpleNamespace

    from jobs.ray_tune.progress import TrialProgress

    bar = TrialProgress(trials=3, max_epochs=4)
    a, b, c = (SimpleNamespace(trial_id=x) for x in "abc")
    for t in (a, b, c):
        bar.on_trial_start(0, [], t)
    bar.on_trial_result(0, [], a, {"epoch": 4, "objective": 0.8})
    bar.on_trial_result(0, [], b, {"epoch": 1, "objective": 0.6})
    bar.on_trial_complete(0, [], a)
    bar.on_trial_complete(0, [], b)  # ASHA stopped it at epoch 1
    bar.on_trial_error(0, [], c)
    bar.on_experiment_end([])
    assert (bar.stopped, bar.failed, bar.running, bar.best) == (1, 1, set(), 0.8)
    assert "3/3" in capsys.readouterr().err
