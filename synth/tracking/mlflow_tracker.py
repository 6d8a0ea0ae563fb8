"""MLflow runs through its client (no global active run): any tracking URI, MLflow's own default
(a local SQLite store, `sqlite:///mlflow.db`) when none is given; `mlflow ui` shows them."""

from __future__ import annotations

import time
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from synth.tracking.config import TrackingConfig
from synth.tracking.values import numeric

MAX_PARAM = 500  # MLflow's limit on a parameter value's length


class MLflowTracker:
    def __init__(self, cfg: TrackingConfig, run_name: str, tags: dict[str, str],
                 params: dict[str, Any] | None = None) -> None:
        self.client = MlflowClient(tracking_uri=cfg.uri or mlflow.get_tracking_uri())
        found = self.client.get_experiment_by_name(cfg.experiment)
        experiment = (found.experiment_id if found is not None
                      else self.client.create_experiment(cfg.experiment))
        self.run_id = self.client.create_run(experiment, run_name=run_name,
                                             tags=dict(tags)).info.run_id
        if params:
            self.params(params)

    def params(self, values: dict[str, Any]) -> None:
        params = [Param(k, str(v)[:MAX_PARAM]) for k, v in values.items()]
        for start in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def metrics(self, values: dict[str, float], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step or 0) for k, v in numeric(values).items()]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def tags(self, values: dict[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in values.items()])

    def artifact(self, path: str, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, path, folder)

    def finish(self, failed: bool = False) -> None:
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")
