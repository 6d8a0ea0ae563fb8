"""The tracker protocol, and a run opened by backend name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from synth.errors import ConfigError
from synth.tracking.config import TrackingConfig
from synth.tracking.values import flatten


class Tracker(Protocol):
    run_id: str

    def params(self, values: dict[str, Any]) -> None: ...

    def metrics(self, values: dict[str, float], step: int | None = None) -> None: ...

    def tags(self, values: dict[str, str]) -> None: ...

    def artifact(self, path: str, folder: str | None = None) -> None: ...

    def finish(self, failed: bool = False) -> None: ...


@contextlib.contextmanager
def open_tracker(cfg: TrackingConfig, run_name: str, params: dict[str, Any] | None = None,
                 tags: dict[str, str] | None = None) -> Iterator[Tracker | None]:
    """A run for the `with` block (None when tracking is off), finished as failed when the
    block raises."""
    if not cfg.on:
        yield None
        return
    # the parameters go in with the run's creation (W&B writes them in its run record, which
    # a run finishing right after a later config update could otherwise leave without them)
    tracker = _backend(cfg.backend)(cfg, run_name, tags or {},  # type: ignore[arg-type]
                                    flatten(params or {}))
    try:
        yield tracker
    except BaseException:
        tracker.finish(failed=True)
        raise
    tracker.finish()


def _backend(backend: str) -> Any:
    """The backend's tracker class, its module (and package) imported only when asked for."""
    try:
        if backend == "mlflow":
            from synth.tracking.mlflow_tracker import MLflowTracker

            return MLflowTracker
        from synth.tracking.wandb_tracker import WandbTracker

        return WandbTracker
    except ImportError as exc:
        raise ConfigError(f"tracking={backend} needs the {backend} package: pip install "
                          f"'raysynth[{backend}]' ({exc})") from None


def record_link(tracker: Tracker | None, cfg: TrackingConfig) -> dict[str, Any] | None:
    """What a model's training.json says about its run."""
    if tracker is None:
        return None
    return {"backend": cfg.backend, "uri": cfg.uri, "experiment": cfg.experiment,
            "run_id": tracker.run_id}
