"""The one place that builds a TorchTrainer: for the train job (tables and images) and for
Tune trials made of Train workers, which differ only in their scaling, storage and callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jobs.ray_train.progress import epoch_progress
from jobs.ray_train.worker import MODEL_DIR, WorkerConfig, train_loop_per_worker
from synth.api import load_synthesizer
from synth.data.io import filesystem, is_s3
from synth.models.protocol import SynthModel


@dataclass(frozen=True)
class TrainerSpec:
    """Scaling, storage and failure handling of one Ray Train run."""

    run_name: str
    storage: str  # checkpoints and results (local or s3://)
    num_workers: int = 1
    use_gpu: bool = False
    resources_per_worker: dict[str, Any] = field(default_factory=lambda: {"CPU": 1.0})
    max_failures: int = 0
    keep_checkpoints: int | None = 2


def storage(uri: str) -> tuple[str, Any]:
    """(storage_path, storage_filesystem) for RunConfig: local paths made absolute; s3:// with
    the endpoint/credentials of the environment (synth.data.io)."""
    if is_s3(uri):
        fs, path = filesystem(uri)
        return path, fs
    return str(Path(uri).expanduser().absolute()), None


def build_trainer(worker: WorkerConfig, dataset: Any, spec: TrainerSpec,
                  callbacks: Sequence[Any] = ()) -> Any:
    import ray.train
    from ray.train.torch import TorchTrainer

    path, fs = storage(spec.storage)
    return TorchTrainer(
        train_loop_per_worker, train_loop_config={"worker": worker},
        scaling_config=ray.train.ScalingConfig(
            num_workers=spec.num_workers, use_gpu=spec.use_gpu,
            resources_per_worker=dict(spec.resources_per_worker)),
        run_config=ray.train.RunConfig(
            name=spec.run_name, storage_path=path, storage_filesystem=fs,
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=spec.keep_checkpoints),
            failure_config=ray.train.FailureConfig(max_failures=spec.max_failures),
            callbacks=list(callbacks)),
        datasets={"train": dataset})


def run_trainer(worker: WorkerConfig, dataset: Any, spec: TrainerSpec
                ) -> tuple[SynthModel, Any]:
    """Train to the end, with a bar of epochs on the driver; returns (the finished model from
    the last checkpoint, the Result)."""
    with epoch_progress("train") as board:
        result = build_trainer(replace(worker, progress=board), dataset, spec).fit()
    with result.checkpoint.as_directory() as folder:
        fitted = load_synthesizer(str(Path(folder) / MODEL_DIR))
    return fitted, result
