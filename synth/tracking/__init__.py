"""Experiment tracking (optional extras; nothing is imported unless asked for): a `Tracker`
by name (`mlflow`, `wandb`) that a job opens as one run, logs parameters, per-epoch metrics,
scores and artifacts to, and links to the model version it registered.

    from synth.tracking.base import open_tracker
    from synth.tracking.config import TrackingConfig

    with open_tracker(TrackingConfig("mlflow", uri="sqlite:///mlflow.db"), "train adult",
                      params={...}) as run:
        run.metrics({"loss": 0.3}, step=1)
        run.artifact("runs/report.html")

`synth tune` uses Ray Tune's own MLflow / W&B callbacks instead (one run per trial)."""
