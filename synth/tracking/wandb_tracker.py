"""Weights & Biases runs: offline (files under `dir`, synced later with `wandb sync`) unless
WANDB_API_KEY is set; the project is the config's experiment."""

from __future__ import annotations

import os
from typing import Any

import wandb

from synth.tracking.config import TrackingConfig
from synth.tracking.values import numeric


class WandbTracker:
    def __init__(self, cfg: TrackingConfig, run_name: str, tags: dict[str, str],
                 params: dict[str, Any] | None = None) -> None:
        mode = "online" if os.environ.get("WANDB_API_KEY") else "offline"
        self.run = wandb.init(project=cfg.experiment, name=run_name, mode=mode,
                              dir=cfg.uri or None, tags=[f"{k}={v}" for k, v in tags.items()],
                              config=dict(params or {}), reinit="create_new")
        self.run_id = self.run.id

    def params(self, values: dict[str, Any]) -> None:
        self.run.config.update({k: v for k, v in values.items()}, allow_val_change=True)

    def metrics(self, values: dict[str, float], step: int | None = None) -> None:
        found = numeric(values)
        if found:
            self.run.log(found, step=step)

    def tags(self, values: dict[str, str]) -> None:
        self.run.summary.update({f"tag.{k}": str(v) for k, v in values.items()})

    def artifact(self, path: str, folder: str | None = None) -> None:
        self.run.save(path, base_path=os.path.dirname(path), policy="now")

    def finish(self, failed: bool = False) -> None:
        self.run.finish(exit_code=1 if failed else 0)
