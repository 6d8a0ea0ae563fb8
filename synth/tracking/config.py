"""Which tracking backend a job logs to, and where."""

from __future__ import annotations

from dataclasses import dataclass

from synth.config import require

BACKENDS = ("mlflow", "wandb")


@dataclass(frozen=True)
class TrackingConfig:
    backend: str | None = None  # mlflow | wandb | None (off)
    uri: str | None = None  # mlflow: tracking URI (default: MLflow's, sqlite:///mlflow.db)
    experiment: str = "raysynth"  # mlflow experiment / wandb project

    def validate(self) -> None:
        require(self.backend is None or self.backend in BACKENDS,
                f"tracking must be one of {', '.join(BACKENDS)} (or unset), got "
                f"{self.backend!r}")
        require(bool(self.experiment), "experiment must not be empty")

    @property
    def on(self) -> bool:
        return self.backend is not None
