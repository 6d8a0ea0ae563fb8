"""The driver of image training: the images are loaded and fitted to the model size on the
driver (folders, CSV, NPZ or Parquet; local or s3://), handed to Ray Train as a dataset of
{"image", "codes"} rows, and trained data-parallel by the same worker loop, with the same
checkpoints, resumption and registration as tables; each checkpoint carries a grid of
fixed-noise samples."""

from __future__ import annotations

from typing import Any

from jobs.ray_train.trainer import TrainerSpec, run_trainer
from jobs.ray_train.worker import WorkerConfig
from synth.api import create_synthesizer
from synth.data.images import ImageData
from synth.models.loop import LoopConfig
from synth.models.protocol import SynthModel


def fit_images(cfg: Any, data: ImageData, spec: TrainerSpec) -> tuple[SynthModel, Any]:
    """Ray Train fit of an image model; returns (fitted model, ray Result)."""
    import ray.data

    model = create_synthesizer(cfg.model, **cfg.params)
    images, codes = model.prepare(data)
    x, c = images.numpy(), codes.numpy()
    ds = ray.data.from_items([{"image": x[i], "codes": c[i]} for i in range(len(x))],
                             override_num_blocks=max(cfg.num_workers * 2, 1))
    loop = LoopConfig(epochs=model.config.epochs, checkpoint_every=cfg.checkpoint_every)
    worker = WorkerConfig(cfg.model, cfg.params, model.worker_state(), loop)
    return run_trainer(worker, ds, spec)
