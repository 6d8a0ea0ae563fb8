"""The driver of image training: a Parquet-of-PNG file or prefix, or a folder of images (local
or s3://), streams through Ray Data to the workers, which decode and resize their own shards
(jobs.ray_data.images), so the driver's memory does not grow with the data set; NPZ and CSV
files are loaded on the driver and handed over as a dataset of {"image", "codes"} rows. Either
way the workers train data-parallel in the same loop, with the same checkpoints, resumption and
registration as tables; each checkpoint carries a grid of fixed-noise samples."""

from __future__ import annotations

from typing import Any

from jobs.ray_data.images import image_dataset, streams
from jobs.ray_train.trainer import TrainerSpec, run_trainer
from jobs.ray_train.worker import WorkerConfig
from synth.api import create_synthesizer
from synth.data.images import load_images
from synth.models.loop import LoopConfig
from synth.models.protocol import SynthModel


def fit_images(cfg: Any, spec: TrainerSpec) -> tuple[SynthModel, Any, dict[str, Any]]:
    """Ray Train fit of an image model on `cfg.data`; returns (fitted model, ray Result, what
    the training record says of the data)."""
    model = create_synthesizer(cfg.model, **cfg.params)
    if streams(cfg.data):
        ds, info = image_dataset(cfg.data, model)
    else:
        ds, info = _loaded(cfg, model)
    loop = LoopConfig(epochs=model.config.epochs, checkpoint_every=cfg.checkpoint_every,
                      max_seconds=60.0 * model.config.max_minutes)
    worker = WorkerConfig(cfg.model, cfg.params, model.worker_state(), loop)
    fitted, result = run_trainer(worker, ds, spec)
    return fitted, result, info


def _loaded(cfg: Any, model: SynthModel) -> tuple[Any, dict[str, Any]]:
    import ray.data

    data = load_images(cfg.data)
    images, codes = model.prepare(data)
    x, c = images.numpy(), codes.numpy()
    rows = [{"image": x[i], "codes": c[i]} for i in range(len(x))] if c.shape[1] else [
        {"image": x[i]} for i in range(len(x))]
    ds = ray.data.from_items(rows, override_num_blocks=max(cfg.num_workers * 2, 1))
    return ds, {"uri": cfg.data, "images": len(x), "streamed": False}
