"""The search's progress on the driver's terminal: one tqdm bar of trials (finished of
planned) with how many run now, how many the scheduler stopped early, how many failed, and the
best objective so far. A Tune callback: Tune's own trial tables stay off in quiet runs."""

from __future__ import annotations

from typing import Any

from ray.tune import Callback
from tqdm.auto import tqdm


class TrialProgress(Callback):
    def __init__(self, trials: int, max_epochs: int) -> None:
        self.trials, self.max_epochs = trials, max_epochs
        self.bar: Any = None
        self.running: set[str] = set()
        self.epochs: dict[str, int] = {}
        self.stopped = self.failed = 0
        self.best: float | None = None

    def _draw(self, done: int = 0) -> None:
        if self.bar is None:
            self.bar = tqdm(total=self.trials, unit="trial", desc="tune", dynamic_ncols=True)
        self.bar.update(done)
        post = {"running": len(self.running), "stopped": self.stopped, "failed": self.failed}
        if self.best is not None:
            post["best"] = f"{self.best:.4f}"
        self.bar.set_postfix(post, refresh=True)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running.add(trial.trial_id)
        self._draw()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        self.epochs[trial.trial_id] = int(result.get("epoch") or 0)
        objective = result.get("objective")
        if isinstance(objective, int | float) and (self.best is None or objective > self.best):
            self.best = float(objective)
        self._draw()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        if 0 < self.epochs.get(trial.trial_id, self.max_epochs) < self.max_epochs:
            self.stopped += 1  # the scheduler (ASHA) cut it short
        self._draw(1)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        self.failed += 1
        self._draw(1)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self.bar is not None:
            self.bar.close()
