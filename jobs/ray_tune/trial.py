"""One Ray Tune trial: a model family with sampled hyperparameters trained for at most
`max_epochs`, scored (synth.metrics.objective) every `report_every` epochs and at the end.

A trial runs synth.models.loop.run_loop in its own process with `TuneHooks` (restore from
`tune.get_checkpoint()`, report with a checkpoint of the training state and the model), or,
with `workers > 1`, is a Ray Train run of that many DDP workers (the one TorchTrainer of
jobs/ray_train, inside this Tune function; its reports reach Tune through
TuneReportCallback). Families that do not train in epochs fit once and report once."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from jobs.ray_train.trainer import TrainerSpec, build_trainer
from jobs.ray_train.worker import MODEL_DIR, STATE_FILE, WorkerConfig
from synth.api import create_synthesizer, synthesizer_class
from synth.metrics.objective import TuningTarget
from synth.models.loop import LoopConfig, LoopHooks, Metrics, run_loop
from synth.models.protocol import SynthModel
from synth.models.session import Shard, TrainingSession


@dataclass(frozen=True)
class TrialSpec:
    """What every trial of a search shares (resolved once by the tune job)."""

    target: TuningTarget
    max_epochs: int
    report_every: int
    seed: int = 0
    fixed: dict[str, dict] = field(default_factory=dict)  # model -> param -> value
    workers: int = 1  # > 1: the trial is a Ray Train run of that many workers
    use_gpu: bool = False
    cpus: float = 1.0  # per worker
    storage: str = "runs/tune/tune-train"  # the Ray Train runs of multi-worker trials

    @property
    def loop(self) -> LoopConfig:
        return LoopConfig(epochs=self.max_epochs, checkpoint_every=self.report_every,
                          score_every=self.report_every)


def trial_params(family: str, sampled: dict[str, Any], spec: TrialSpec) -> dict[str, Any]:
    """The family's resolved config: fixed values, then the sampled ones, then the budget."""
    fields = synthesizer_class(family).config_cls.__dataclass_fields__
    budget = {k: v for k, v in (("epochs", spec.max_epochs), ("seed", spec.seed)) if k in fields}
    params = {**spec.fixed.get(family, {}), **sampled, **budget}
    return synthesizer_class(family).resolve_params(params)


def trial(config: dict[str, Any], train: pd.DataFrame, spec: TrialSpec) -> None:
    """The Tune function (`config`: {"model": family, family: {param: value}})."""
    family = config["model"]
    params = trial_params(family, config.get(family, {}), spec)
    model = create_synthesizer(family, **params)
    if not model.trains_in_epochs():
        model.fit(train)
        report_model(model, spec, spec.max_epochs, None)
        return
    model.prepare(train)
    if spec.workers > 1:
        _train_workers_trial(model, params, train, spec)
        return
    session = model.training_session(Shard(model.encode(train), len(train)))
    run_loop(session, spec.loop, TuneHooks(spec))


def report_model(model: SynthModel, spec: TrialSpec, epoch: int,
                 session: TrainingSession | None, metrics: Metrics | None = None) -> None:
    """tune.report of the model's scores, with a checkpoint of the model (and the training
    state, which Tuner.restore resumes from)."""
    from ray import tune

    scores = metrics if metrics is not None else spec.target.score(model)
    with tempfile.TemporaryDirectory() as folder:
        model.save(str(Path(folder) / MODEL_DIR))
        if session is not None:
            torch.save({"session": session.state_dict(), "rng": session.rng_state()},
                       Path(folder) / STATE_FILE)
        numbers = {k: v for k, v in scores.items() if isinstance(v, int | float)}
        tune.report({**numbers, "epoch": epoch},
                    checkpoint=tune.Checkpoint.from_directory(folder))


class TuneHooks(LoopHooks):
    def __init__(self, spec: TrialSpec) -> None:
        self.spec = spec

    def restore(self, session: TrainingSession) -> list[Metrics]:
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                state = torch.load(Path(folder) / STATE_FILE, weights_only=True)
            session.load_state_dict(state["session"])
            session.set_rng_state(state["rng"])
        return []

    def scores(self, session: TrainingSession) -> Metrics:
        return self.spec.target.score(session.snapshot())

    def report(self, session: TrainingSession, metrics: Metrics, history: list[Metrics],
               checkpoint: bool, final: bool) -> None:
        if checkpoint:  # the scored epochs (score_every == checkpoint_every) and the end
            scored = metrics if "objective" in metrics else None  # not when resumed at the end
            report_model(session.snapshot(), self.spec, session.epoch, session, scored)


def _train_workers_trial(model: SynthModel, params: dict[str, Any], train: pd.DataFrame,
                         spec: TrialSpec) -> None:
    import ray.data
    from ray import tune
    from ray.tune.integration.ray_train import TuneReportCallback

    worker = WorkerConfig(model.name, params, model.worker_state(), spec.loop,
                          tuning=spec.target, with_model=True)
    trainer = TrainerSpec(run_name=f"trial-{tune.get_context().get_trial_id()}",
                          storage=spec.storage, num_workers=spec.workers, use_gpu=spec.use_gpu,
                          resources_per_worker={"CPU": spec.cpus}, keep_checkpoints=None)
    build_trainer(worker, ray.data.from_pandas(train), trainer,
                  callbacks=[TuneReportCallback()]).fit()
