"""The train job for image models (dcgan, cgan): the images are loaded and fitted to the model
size on the driver (folders, CSV, NPZ or Parquet; local or s3://), handed to Ray Train as a
dataset of {"image", "codes"} rows, and trained data-parallel by the same worker loop, with the
same checkpoints, resumption and registration as tables (jobs/distributed.py); each checkpoint
carries a grid of fixed-noise samples."""

from __future__ import annotations

import dataclasses
from typing import Any


def is_image_model(name: str) -> bool:
    from synth.api import synthesizer_class

    return getattr(synthesizer_class(name), "kind", "table") == "image"


def _prepared(cfg: Any) -> tuple[Any, Any, Any]:
    import synth
    from synth.data.images import load_images

    model = synth.create_synthesizer(cfg.model, **cfg.params)
    images, codes = model.prepare(load_images(cfg.data))
    return model, images, codes


def train_images_on_ray(cfg: Any) -> tuple[Any, dict[str, Any]]:
    """(fitted model, training record) through Ray Train."""
    import ray.data

    from jobs.distributed import run_trainer

    model, images, codes = _prepared(cfg)
    x, c = images.numpy(), codes.numpy()
    ds = ray.data.from_items([{"image": x[i], "codes": c[i]} for i in range(len(x))],
                             override_num_blocks=max(cfg.num_workers * 2, 1))
    config = {"kind": "image", "model": cfg.model, "params": dict(cfg.params),
              "labels": model.labels.to_json(), "channels": model.channels,
              "epochs": model.config.epochs, "checkpoint_every": cfg.checkpoint_every,
              "early_stop_patience": 0, "validate_every": cfg.validate_every}
    fitted, result = run_trainer(cfg, config, ds)
    final = dict(result.metrics or {})
    history = final.pop("history", [])
    record = {"config": dataclasses.asdict(cfg), "engine": "ray.train", "metrics": final,
              "history": history, "data": {"uri": cfg.data, "images": len(x),
                                           "attributes": model.labels.attributes},
              "checkpoint": str(result.checkpoint.path)}
    fitted.history = history
    return fitted, {**record, "run": str(result.path), "epochs": final.get("stopped_at"),
                    "resumed_from": final.get("resumed_from")}


def train_images_in_process(cfg: Any) -> tuple[Any, dict[str, Any]]:
    import synth
    from synth.data.images import load_images

    data = load_images(cfg.data)
    model = synth.create_synthesizer(cfg.model, **cfg.params).fit(data)
    return model, {"config": dataclasses.asdict(cfg), "engine": "process",
                   "history": model.history, "data": {"uri": cfg.data,
                                                      "images": len(data.images)}}
