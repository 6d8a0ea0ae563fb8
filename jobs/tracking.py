"""Experiment tracking for the jobs (synth/tracking): `tracking=mlflow` (or `wandb`),
`tracking_uri=...`, `experiment=...` on `synth train`, `synth tune` and the pipeline.

- train: one run per registration: the job's config as parameters, every epoch's metrics at
  its step (losses, rows/s, validation, ε under dp), the evaluation scores, training.json as an
  artifact (sample grids too, for image models), tags naming the model version it registered;
  the model's training.json names the run back (`tracking`);
- tune: Ray Tune's own MLflowLoggerCallback / WandbLoggerCallback, one run per trial;
- pipeline: one run with the config, the evaluation and monitoring scores and the reports."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

from synth.data.io import read_bytes
from synth.tracking.base import Tracker, open_tracker, record_link
from synth.tracking.config import TrackingConfig


def tracking_config(cfg: Any) -> TrackingConfig:
    out = TrackingConfig(getattr(cfg, "tracking", None), getattr(cfg, "tracking_uri", None),
                         getattr(cfg, "experiment", "raysynth"))
    out.validate()
    return out


def log_history(run: Tracker, history: list[dict[str, Any]]) -> None:
    for i, metrics in enumerate(history):
        run.metrics(metrics, step=int(metrics.get("epoch", i + 1)))


def log_json(run: Tracker, doc: dict[str, Any], name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            json.dump(doc, f, indent=1, default=str)
        run.artifact(path)


def tracked_registration(cfg: Any, run_name: str, record: dict[str, Any],
                         save: Callable[[dict[str, Any]], dict[str, Any]],
                         files: Callable[[], list[str]] | None = None) -> dict[str, Any]:
    """Register a trained model (`save(record)`) inside a tracked run when tracking is on."""
    tracking = tracking_config(cfg)
    with open_tracker(tracking, run_name, params=record.get("config")) as run:
        if run is None:
            return save(record)
        record = {**record, "tracking": record_link(run, tracking)}
        log_history(run, record.get("history") or [])
        run.metrics({f"eval.{k}": v for k, v in (record.get("evaluation") or {}).items()})
        if record.get("dp"):
            run.metrics({"dp.epsilon": record["dp"]["epsilon"], "dp.delta": record["dp"]["delta"]})
        out = save(record)
        run.tags({k: str(v) for k, v in out.items() if k in ("name", "version", "path",
                                                            "output", "model")})
        log_json(run, record, "training.json")
        for path in (files() if files else []):
            run.artifact(path)
        out["tracking"] = record["tracking"]
        return out


def tune_callbacks(cfg: Any) -> list[Any]:
    """Ray Tune's logger callback for the configured backend ([] when tracking is off)."""
    tracking = tracking_config(cfg)
    if tracking.backend == "mlflow":
        import mlflow
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        return [MLflowLoggerCallback(tracking_uri=tracking.uri or mlflow.get_tracking_uri(),
                                     experiment_name=tracking.experiment)]
    if tracking.backend == "wandb":
        from ray.air.integrations.wandb import WandbLoggerCallback

        offline = {} if os.environ.get("WANDB_API_KEY") else {"mode": "offline"}
        return [WandbLoggerCallback(project=tracking.experiment, **offline)]
    return []


def track_pipeline(cfg: Any, result: dict[str, Any]) -> dict[str, Any]:
    """One run for a pipeline invocation: its config, the scores, the reports (copied from
    local paths or s3://), tags naming the registered model version."""
    tracking = tracking_config(cfg)
    with open_tracker(tracking, f"pipeline {cfg.name}", params=dataclasses.asdict(cfg)) as run:
        if run is None:
            return {}
        run.metrics(result)
        run.tags({k: str(result[k]) for k in ("name", "version", "path", "synthetic")
                  if k in result})
        for key in ("report_html", "monitor_report"):
            if not result.get(key):
                continue
            with tempfile.TemporaryDirectory() as folder:
                local = os.path.join(folder, os.path.basename(str(result[key])))
                with open(local, "wb") as f:
                    f.write(read_bytes(str(result[key])))
                run.artifact(local, "reports" if key == "report_html" else "monitor")
        return {"tracking": record_link(run, tracking)}


def best_trial_run(cfg: Any, best: Any) -> dict[str, Any] | None:
    """The tracked run of a Tune result (MLflowLoggerCallback tags each run with its trial's
    name), for the registered model's training.json."""
    tracking = tracking_config(cfg)
    if tracking.backend is None:
        return None
    link = {"backend": tracking.backend, "uri": tracking.uri,
            "experiment": tracking.experiment, "trial_id": best.metrics.get("trial_id")}
    if tracking.backend == "mlflow":
        import mlflow
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking.uri or mlflow.get_tracking_uri())
        experiment = client.get_experiment_by_name(tracking.experiment)
        trial = str(best.metrics.get("trial_id", ""))
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        found = [r for r in runs if trial and trial in r.data.tags.get("trial_name", "")]
        if found:
            link["run_id"] = found[0].info.run_id
    return link


def tag_run(cfg: Any, run_id: str, tags: dict[str, str]) -> None:
    """Tags on an existing MLflow run (the model version a trial's model became)."""
    tracking = tracking_config(cfg)
    if tracking.backend != "mlflow":
        return
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking.uri or mlflow.get_tracking_uri())
    for k, v in tags.items():
        client.set_tag(run_id, k, v)
