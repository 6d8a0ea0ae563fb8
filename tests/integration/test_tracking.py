"""Experiment tracking to a local MLflow store (SQLite, MLflow's default kind), read back
through MLflow's client as its UI would: a `synth train` run with per-epoch losses, scores and
the model version it registered; a `synth tune` search with one run per trial, the best one
linked to the registered model; the pipeline's run with its reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import pipeline, train, tune

mlflow = pytest.importorskip("mlflow")  # the `mlflow` extra; make test installs it


@pytest.fixture()
def store_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def runs(uri: str, experiment: str) -> list:
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    return client.search_runs([exp.experiment_id])


def test_train_run_has_params_epochs_scores_and_its_model_version(adult_small, tmp_path,
                                                                    store_uri):
    data = tmp_path / "rows.csv"
    adult_small.head(1000).to_csv(data, index=False)
    store = tmp_path / "store"
    assert train.main(["--data", str(data), "--model", "tvae", "--name", "adult", "--store",
                       str(store), "--no-ray", "params.epochs=3", "tracking=mlflow",
                       f"tracking_uri={store_uri}", "experiment=train-test"]) == 0
    (run,) = runs(store_uri, "train-test")
    assert run.info.status == "FINISHED" and run.data.params["params.epochs"] == "3"
    assert run.data.tags["name"] == "adult" and run.data.tags["version"] == "1"
    client = mlflow.tracking.MlflowClient(tracking_uri=store_uri)
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in losses] == [1, 2, 3]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"training.json"}
    record = json.loads((store / "adult" / "1" / "training.json").read_text())
    assert record["tracking"]["run_id"] == run.info.run_id  # and back


def test_tune_logs_one_run_per_trial_and_links_the_best(ray_local, adult_small, tmp_path,
                                                         store_uri):
    data = tmp_path / "adult.csv"
    adult_small.head(1500).to_csv(data, index=False)
    store = str(tmp_path / "store")
    assert tune.main(["--data", str(data), "--models", "tvae", "--name", "best", "--store",
                      store, "trials=2", "max_epochs=2", "report_every=1", "scheduler=fifo",
                      f"storage={tmp_path / 'tune'}", "run_name=tracked",
                      "fixed.tvae.batch_size=500", "validation_rows=300", "tracking=mlflow",
                      f"tracking_uri={store_uri}", "experiment=tune-test"]) == 0
    trials = runs(store_uri, "tune-test")
    assert len(trials) == 2 and all(r.info.status == "FINISHED" for r in trials)
    assert all("objective" in r.data.metrics for r in trials)
    record = json.loads((Path(store) / "best" / "1" / "training.json").read_text())
    best = [r for r in trials if r.info.run_id == record["tracking"]["run_id"]]
    assert len(best) == 1 and best[0].data.tags["raysynth.model"] == "best v1"


def test_pipeline_run_carries_its_reports(adult_small, tmp_path, store_uri):
    data = tmp_path / "adult.csv"
    adult_small.head(1500).to_csv(data, index=False)
    assert pipeline.main(["--data", str(data), "--target", "income", "--model",
                          "gaussian_copula", "--rows", "500", "--output", str(tmp_path / "run"),
                          "--name", "tracked", "--no-ray", "tracking=mlflow",
                          f"tracking_uri={store_uri}", "experiment=pipeline-test"]) == 0
    (run,) = runs(store_uri, "pipeline-test")
    assert run.data.tags["name"] == "tracked" and 0 < run.data.metrics["quality"] <= 1
    client = mlflow.tracking.MlflowClient(tracking_uri=store_uri)
    folders = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert folders == {"reports", "monitor"}
    assert [a.path for a in client.list_artifacts(run.info.run_id, "reports")] == [
        "reports/report.html"]


def test_tracking_is_not_imported_unless_asked_and_bad_values_fail(adult_small, tmp_path):
    import subprocess
    import sys

    code = ("import sys, jobs.train, jobs.tune, jobs.pipeline, synth.tracking; "
            "sys.exit(int('mlflow' in sys.modules or 'wandb' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2]
                          ).returncode == 0
    data = tmp_path / "rows.csv"
    adult_small.head(100).to_csv(data, index=False)
    assert train.main(["--data", str(data), "--model", "tvae", "--output", str(tmp_path / "m"),
                       "--no-ray", "tracking=neptune"]) == 2


def wandb_records(folder: Path) -> list:
    """The records of an offline W&B run file (a LevelDB-style log of protobuf records after a
    7-byte header: 32 KiB blocks, each record a 7-byte header of CRC, length and fragment
    kind), parsed with wandb's own protobuf classes."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = folder.glob("wandb/offline-run-*/run-*.wandb")
    raw, pos, block, chunks, buf = path.read_bytes(), 7, 32768, [], b""
    assert raw[:4] == b":W&B"
    while pos + 7 <= len(raw):
        left = block - pos % block
        _, n, kind = struct.unpack("<IHB", raw[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (n == 0 and kind == 0):
            pos += left
            continue
        if pos + 7 + n > len(raw):  # a record still being written
            break
        data, pos = raw[pos + 7:pos + 7 + n], pos + 7 + n
        buf = data if kind in (1, 2) else buf + data
        if kind in (1, 4):
            chunks.append(buf)
    records = []
    for chunk in chunks:
        rec = pb.Record()
        rec.ParseFromString(chunk)
        records.append(rec)
    return records


def finished_wandb_records(folder: Path, timeout_s: float = 60.0) -> list:
    """The run's records once its exit record is on disk: wandb-core writes the file from its
    own process and may still be flushing it when `finish()` has returned (a loaded CI machine
    once read it before the first block was written)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        records = wandb_records(folder)
        kinds = [r.WhichOneof("record_type") for r in records]
        if "exit" in kinds or time.monotonic() > deadline:
            assert "exit" in kinds, f"no exit record after {timeout_s} s: {kinds}"
            return records
        time.sleep(0.5)


def test_wandb_offline_run_holds_params_and_epochs(adult_small, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)  # offline: nothing leaves the machine
    data = tmp_path / "rows.csv"
    adult_small.head(800).to_csv(data, index=False)
    assert train.main(["--data", str(data), "--model", "tvae", "--output", str(tmp_path / "m"),
                       "--no-ray", "params.epochs=2", "tracking=wandb",
                       f"tracking_uri={tmp_path / 'wb'}", "experiment=wb-test"]) == 0
    records = finished_wandb_records(tmp_path / "wb")
    updates = [r.run.config.update if r.WhichOneof("record_type") == "run" else r.config.update
               for r in records if r.WhichOneof("record_type") in ("run", "config")]
    config = {i.key: i.value_json for update in updates for i in update}
    assert config["params.epochs"] == "2" and config["model"] == '"tvae"'
    history = [{i.key or "/".join(i.nested_key): i.value_json for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert [h["_step"] for h in history if "loss" in h] == ["1", "2"]
    record = json.loads((tmp_path / "m" / "training.json").read_text())
    assert record["tracking"]["backend"] == "wandb" and record["tracking"]["run_id"]
