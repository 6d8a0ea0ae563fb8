"""The tuning objective: the weighted mean of evaluation scores of a model's sample against
held-out real rows (never a GAN loss). Ray Tune trials, in one process or as Ray Train
workers, score with it; jobs/ray_tune holds no metric knowledge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from synth.errors import ConfigError
from synth.metrics.evaluate import evaluate

METRIC_GROUPS = {"quality": "fidelity", "column_shapes": "fidelity",
                 "column_pair_trends": "fidelity", "tstr_ratio": "utility",
                 "dcr_ratio": "privacy", "detection_auc": "detection"}


def check_weights(weights: dict[str, float], target: str | None) -> None:
    unknown = sorted(set(weights) - set(METRIC_GROUPS))
    if unknown:
        raise ConfigError(f"unknown objective score {unknown[:1]}; scores: "
                          f"{', '.join(METRIC_GROUPS)}")
    if "tstr_ratio" in weights and not target:
        raise ConfigError("weights.tstr_ratio needs target=COLUMN")


def objective(fake: pd.DataFrame, train: pd.DataFrame, valid: pd.DataFrame, metadata: Any,
              weights: dict[str, float], target: str | None) -> dict[str, float]:
    """Scores of `fake` against the validation rows, and their weighted mean `objective`.
    Fidelity compares with `valid`; utility, privacy and detection use `train` as the real
    rows and `valid` as the holdout."""
    groups = {METRIC_GROUPS[k] for k in weights}
    scores: dict[str, Any] = {}
    if "fidelity" in groups:
        scores.update(evaluate(valid, fake, metadata=metadata, metrics=("fidelity",)).scores)
    rest = tuple(sorted(groups - {"fidelity"}))
    if rest:
        scores.update(evaluate(train.head(len(valid)), fake, metadata=metadata, target=target,
                               holdout=valid, metrics=rest).scores)
    scores["objective"] = sum(weights[k] * scores[k] for k in weights) / sum(weights.values())
    return {k: float(v) for k, v in scores.items() if isinstance(v, int | float)}


@dataclass(frozen=True)
class TuningTarget:
    """What a trial scores against: training rows (as many as the validation rows), the
    validation rows, the score weights and the utility target column."""

    train: pd.DataFrame
    valid: pd.DataFrame
    weights: dict[str, float]
    target: str | None = None

    def score(self, model: Any) -> dict[str, float]:
        """The objective of a fitted model (anything with `sample` and `metadata`)."""
        fake = model.sample(len(self.valid), seed=0)
        return objective(fake, self.train, self.valid, model.metadata, self.weights,
                         self.target)
