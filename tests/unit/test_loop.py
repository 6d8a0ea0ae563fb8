"""The one epoch loop (synth.models.loop) with a small fake session: when it validates,
scores, checkpoints and stops, and that it ends on the best validation's weights."""

from __future__ import annotations

from typing import Any

import pytest

from synth.models.loop import LoopConfig, LoopHooks, run_loop, should_stop
from synth.models.session import TrainingSession


class Counter(TrainingSession):
    """'Weights' = the epoch at which they were made."""

    def __init__(self) -> None:
        self.epoch, self.weights = 0, 0

    def run_epoch(self) -> dict[str, float]:
        self.epoch += 1
        self.weights = self.epoch
        return {"epoch": self.epoch, "rows": 10}

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights, self.epoch = state["weights"], state["epoch"]

    def rng_state(self) -> dict[str, Any]:
        return {}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        return None

    def snapshot(self) -> Any:
        return self.weights

    def finish(self) -> None:
        return None


class Scripted(LoopHooks):
    def __init__(self, validations: list[float]) -> None:
        self.validations, self.reports = list(validations), []

    def validate(self, session: TrainingSession) -> float:
        return self.validations.pop(0)

    def scores(self, session: TrainingSession) -> dict[str, float]:
        return {"objective": float(session.epoch)}

    def report(self, session, metrics, history, checkpoint, final) -> None:
        self.reports.append((session.epoch, checkpoint, final, "objective" in metrics))


def test_it_stops_on_patience_and_ends_on_the_best_weights():
    session, hooks = Counter(), Scripted([0.1, 0.5, 0.4, 0.3, 0.2, 0.9])
    history = run_loop(session, LoopConfig(epochs=10, validate_every=1, early_stop_patience=3,
                                           checkpoint_every=2, keep_best=True), hooks)
    assert len(history) == 5 and session.epoch == 5  # 0.5 at epoch 2, then 3 without better
    assert session.weights == 2 and history[-1]["kept_best"] == 0.5
    assert [r[:3] for r in hooks.reports] == [(1, False, False), (2, True, False),
                                              (3, False, False), (4, True, False),
                                              (5, True, True)]


def test_by_default_the_last_weights_stay():
    session = Counter()
    run_loop(session, LoopConfig(epochs=10, validate_every=1, early_stop_patience=1),
             Scripted([0.5, 0.4]))  # the default
    assert session.weights == 2


def test_the_last_epoch_is_validated_when_keeping_the_best_and_time_ends_a_run():
    # validations at 2 and 4 (0.5, 0.3), and at the last epoch 5, which is off the schedule
    session, hooks = Counter(), Scripted([0.5, 0.3, 0.4])
    history = run_loop(session, LoopConfig(epochs=5, validate_every=2, early_stop_patience=10,
                                           keep_best=True), hooks)
    assert [h.get("validation") for h in history] == [None, 0.5, None, 0.3, 0.4]
    assert session.epoch == 5 and session.weights == 2 and history[-1]["kept_best"] == 0.5

    class Slow(Counter):
        def run_epoch(self) -> dict[str, float]:
            import time

            time.sleep(0.03)
            return super().run_epoch()

    slow = Slow()
    history = run_loop(slow, LoopConfig(epochs=1000, max_seconds=0.1), LoopHooks())
    assert 2 <= len(history) <= 6 and history[-1]["elapsed_s"] >= 0.1


def test_scores_every_k_epochs_and_at_the_end():
    hooks = Scripted([])
    run_loop(Counter(), LoopConfig(epochs=5, score_every=2), hooks)
    assert [r[3] for r in hooks.reports] == [False, True, False, True, True]


def test_a_finished_run_hands_its_end_over_again():
    session, hooks = Counter(), Scripted([])
    session.epoch = 3
    assert run_loop(session, LoopConfig(epochs=3), hooks) == []
    assert hooks.reports == [(3, True, True, False)]


@pytest.mark.parametrize("scores, patience, stop", [
    ([0.1, 0.2, 0.3], 2, False), ([0.3, 0.2, 0.1], 2, True), ([0.3], 0, False),
    ([0.1, 0.3, 0.3], 1, True)])
def test_should_stop(scores, patience, stop):
    assert should_stop(scores, patience) is stop
