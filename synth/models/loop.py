"""The one epoch loop. In-process `fit`, every Ray Train worker and every Ray Tune trial run
`run_loop`; they differ only in the `LoopHooks` they inject (jobs/ supplies the Ray ones):

- `restore(session)`: load a checkpoint into the session, return the history so far;
- `validate(session)`: the early-stopping score (every rank must get the same value);
- `scores(session)`: evaluation scores merged into the epoch's metrics (Tune's objective);
- `report(session, metrics, history, checkpoint, final)`: hand the epoch over (a progress bar,
  `ray.train.report`, `tune.report`), writing a checkpoint when `checkpoint` is set.

The loop decides when: validation every `validate_every` epochs when `early_stop_patience`
is set (stop when the best of the last `patience` validations is no better than the best
before them; with `keep_best` the weights of the best validation are put back before the end
is reported, so the final checkpoint and model are the best ones seen since the run started
or resumed), scores every `score_every` epochs and at the end, checkpoints every
`checkpoint_every` epochs and at the end; with `max_seconds`, the epoch that ends past it is the
last. With `keep_best` the last epoch is always validated, so the best weights still win."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from synth.config import require
from synth.errors import SynthError
from synth.models.session import TrainingSession

Metrics = dict[str, Any]
VALIDATION_KEY = "validation"  # the early-stopping score (higher is better)


@dataclass(frozen=True)
class LoopConfig:
    epochs: int
    checkpoint_every: int = 0  # epochs between checkpoints (0: only at the end)
    validate_every: int = 5  # epochs between early-stopping validations
    early_stop_patience: int = 0  # validations without improvement before stopping (0: off)
    score_every: int = 0  # epochs between evaluation scores (0: never)
    # with early stopping: end on the best validation's weights. Off by default: a validation
    # that is not held out (the train job's column shapes on training rows) can prefer an
    # undertrained epoch (argn's first); on where the validation is held out (argn in-process)
    keep_best: bool = False
    max_seconds: float = 0.0  # wall clock since the loop (re)started; 0: no limit. The epoch
    #                           that ends past it is the last (validated when early stopping)

    def validate(self) -> None:
        require(self.epochs >= 0, f"epochs must be >= 0, got {self.epochs}")
        require(self.checkpoint_every >= 0, "checkpoint_every must be >= 0")
        require(self.validate_every >= 1, "validate_every must be >= 1")
        require(self.early_stop_patience >= 0, "early_stop_patience must be >= 0")
        require(self.score_every >= 0, "score_every must be >= 0")
        require(self.max_seconds >= 0, "max_seconds must be >= 0")


class LoopHooks:
    """No checkpoints, no validation, no scores, no reports: override what a runner needs."""

    def restore(self, session: TrainingSession) -> list[Metrics]:
        return []

    def validate(self, session: TrainingSession) -> float:
        raise SynthError("early stopping needs a validation: this runner has none")

    def scores(self, session: TrainingSession) -> Metrics:
        return {}

    def report(self, session: TrainingSession, metrics: Metrics, history: list[Metrics],
               checkpoint: bool, final: bool) -> None:
        return None


def should_stop(scores: list[float], patience: int) -> bool:
    """The best of the last `patience` validations is no better than the best before them."""
    if patience <= 0 or len(scores) <= patience:
        return False
    return max(scores[-patience:]) <= max(scores[:-patience])


def _due(epoch: int, every: int) -> bool:
    return every > 0 and epoch % every == 0


def run_loop(session: TrainingSession, cfg: LoopConfig, hooks: LoopHooks | None = None
             ) -> list[Metrics]:
    """Train `session` up to cfg.epochs (or an early stop); returns every epoch's metrics."""
    hooks = hooks or LoopHooks()
    history = hooks.restore(session)
    resumed_from = session.epoch
    validations = [float(h[VALIDATION_KEY]) for h in history if VALIDATION_KEY in h]
    if session.epoch >= cfg.epochs:  # finished before a restart: hand the end over again
        hooks.report(session, {"epoch": session.epoch, "resumed_from": resumed_from}, history,
                     checkpoint=True, final=True)
        return history
    start, best = time.perf_counter(), session.loop_state.get("best")  # kept across restarts
    while True:
        tick = time.perf_counter()
        metrics: Metrics = dict(session.run_epoch())
        seconds = time.perf_counter() - tick
        metrics.update(rows_per_s=metrics.get("rows", 0) / max(seconds, 1e-9), epoch_s=seconds,
                       elapsed_s=time.perf_counter() - start, resumed_from=resumed_from)
        epoch, last = session.epoch, session.epoch >= cfg.epochs
        last = last or (bool(cfg.max_seconds) and metrics["elapsed_s"] >= cfg.max_seconds)
        if cfg.early_stop_patience and (_due(epoch, cfg.validate_every)
                                        or (last and cfg.keep_best)):
            validations.append(float(hooks.validate(session)))
            metrics[VALIDATION_KEY] = validations[-1]
            if cfg.keep_best and (best is None or validations[-1] > best[0]):
                best = (validations[-1], copy.deepcopy(session.state_dict()))
                session.loop_state["best"] = best
            last = last or should_stop(validations, cfg.early_stop_patience)
            if last and best is not None and best[0] > validations[-1]:
                _put_back(session, best[1])
                metrics["kept_best"] = best[0]
        if cfg.score_every and (last or _due(epoch, cfg.score_every)):
            metrics.update(hooks.scores(session))
        history.append(metrics)
        hooks.report(session, metrics, history, checkpoint=last or _due(
            epoch, cfg.checkpoint_every), final=last)
        if last:
            return history


def _put_back(session: TrainingSession, state: dict[str, Any]) -> None:
    """The weights (and optimizer state) of an earlier epoch; the epoch count stays."""
    epoch = session.epoch
    session.load_state_dict(state)
    session.epoch = epoch


class ProgressHooks(LoopHooks):
    """In-process training: a progress bar of epochs (when asked) and an optional callback
    after each epoch (the image models' fixed-noise snapshots)."""

    def __init__(self, name: str, epochs: int, progress: bool,
                 on_epoch: Callable[[TrainingSession, Metrics], None] | None = None) -> None:
        self.name, self.epochs, self.progress, self.on_epoch = name, epochs, progress, on_epoch
        self.bar: Any = None

    def report(self, session: TrainingSession, metrics: Metrics, history: list[Metrics],
               checkpoint: bool, final: bool) -> None:
        if self.bar is None:
            self.bar = tqdm(total=self.epochs, initial=session.epoch - 1,
                            desc=f"{self.name} epochs", disable=not self.progress)
        self.bar.update(1)
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items()
                              if k.startswith("loss")})
        if self.on_epoch is not None:
            self.on_epoch(session, metrics)
        if final:
            self.bar.close()
