"""The driver of data-parallel table training: fit the transformer once on a bounded random
sample (Ray Data) and hand its state to every worker, so all ranks encode identically; then one
TorchTrainer over the dataset (Ray Train splits it, the ranks' row sets are disjoint)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from jobs.ray_data.read import read
from jobs.ray_train.trainer import TrainerSpec, run_trainer
from jobs.ray_train.worker import WorkerConfig
from synth.api import create_synthesizer
from synth.errors import ConfigError
from synth.models.loop import LoopConfig
from synth.models.protocol import SynthModel


def transformer_sample(ds: Any, rows: int, seed: int) -> tuple[pd.DataFrame, int]:
    """(about `rows` random rows, total row count) of a Ray Dataset."""
    total = ds.count()
    if total <= rows:
        return ds.to_pandas(), total
    fraction = min(1.0, 1.2 * rows / total)
    return ds.random_sample(fraction, seed=seed).limit(rows).to_pandas(), total


def worker_loop(cfg: Any, own: LoopConfig) -> LoopConfig:
    """The workers' loop: the job's early stopping when it sets one, else the model's own
    (e.g. argn stops when validation stops improving); checkpoints as the job says."""
    patience, every = cfg.early_stop_patience, cfg.validate_every
    if not patience:
        patience, every = own.early_stop_patience, own.validate_every
    return LoopConfig(epochs=own.epochs, checkpoint_every=cfg.checkpoint_every,
                      validate_every=every, early_stop_patience=patience)


def fit_tables(cfg: Any, metadata: dict | None, spec: TrainerSpec
               ) -> tuple[SynthModel, Any, pd.DataFrame]:
    """Ray Train fit of a table model; `cfg` is the train job's config (resolved params).
    Returns (fitted model, ray Result, the transformer sample)."""
    ds = read(cfg.data)
    model = create_synthesizer(cfg.model, **cfg.params)
    if getattr(model.config, "dp", None) is not None and cfg.early_stop_patience:
        raise ConfigError("early stopping validates on real rows, which differential privacy "
                          "does not allow for free: drop early_stop_patience with params.dp")
    sample, _ = transformer_sample(ds, cfg.sample_rows, model.config.seed)
    model.prepare(sample, metadata)
    loop = worker_loop(cfg, model.loop_config())
    validation = sample.head(cfg.validation_rows) if loop.early_stop_patience else None
    worker = WorkerConfig(cfg.model, cfg.params, model.worker_state(), loop,
                          validation=validation)
    fitted, result = run_trainer(worker, ds, spec)
    return fitted, result, sample
