"""A baseline of an image set (the training images of an image model, or a stream of real ones):

    b = synth.monitor.image_baseline("data/mnist5k.npz", output="runs/monitor/digits")

statistics.json: the images' count, size and channels, pixel intensity statistics (mean, std
and a 32-bin histogram over [-1, 1]), the attribute frequencies of every label column and the
same as the classifier judges the images (what checks compare a batch's judged shares with, so
that the classifier's errors cancel), the feature extractor's name, and the real-vs-real FID
floor (two seeded halves of the set, in the extractor's features); constraints.json: the size,
the channels and each attribute's values.
The extractor is the evaluation's small CNN trained here on the labels (at its random init
when there are none): its weights go to classifier.pt (a state dict, read back with
weights_only=True) with classifier.json (columns, levels, held-out accuracy, feature scale),
and the mean and covariance of the real images' features to features.npz, so every later
check (synth/monitor/image_check.py) measures in the same frozen feature space."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import torch

from synth.data.images import IMAGE_SUFFIXES, ImageData, load_images
from synth.data.io import filesystem, join, list_dir, read_bytes, write_bytes
from synth.errors import DataError
from synth.metrics.extractors import CNNExtractor, SmallCNN, train_cnn
from synth.metrics.images import fid_from_stats
from synth.store import load_npz, load_torch, npz_bytes, torch_bytes

VERSION = 1
PIXEL_BINS = 32  # intensity histogram over [-1, 1]
MIN_IMAGES = 20  # fewer cannot give a floor (two halves of 10)


@dataclass
class ImageBaseline:
    statistics: dict[str, Any]
    constraints: list[dict[str, Any]]
    mean: np.ndarray  # the real images' feature mean
    cov: np.ndarray  # and covariance
    extractor: CNNExtractor

    def save(self, path: str) -> None:
        write_bytes(join(path, "statistics.json"),
                    json.dumps(self.statistics, indent=1).encode())
        write_bytes(join(path, "constraints.json"),
                    json.dumps({"constraints": self.constraints}, indent=1).encode())
        write_bytes(join(path, "features.npz"), npz_bytes({"mean": self.mean, "cov": self.cov}))
        ex = self.extractor
        write_bytes(join(path, "classifier.pt"), torch_bytes(ex.net.state_dict()))
        write_bytes(join(path, "classifier.json"), json.dumps({
            "columns": ex.columns, "levels": {c: [str(v) for v in ex.levels[c]]
                                              for c in ex.columns},
            "accuracy": ex.accuracy, "scale": ex.scale,
            "channels": self.statistics["channels"]}, indent=1).encode())

    @classmethod
    def load(cls, path: str, statistics: dict[str, Any] | None = None) -> ImageBaseline:
        stats = statistics or _json(path, "statistics.json")
        constraints = _json(path, "constraints.json").get("constraints")
        if not isinstance(constraints, list):
            raise DataError(f"{join(path, 'constraints.json')}: no constraints list")
        feats = load_npz(_read(path, "features.npz"), join(path, "features.npz"))
        info = _json(path, "classifier.json")
        net = SmallCNN(int(info["channels"]), [len(info["levels"][c]) for c in info["columns"]])
        net.load_state_dict(load_torch(_read(path, "classifier.pt"),
                                       join(path, "classifier.pt")))
        extractor = CNNExtractor(net, list(info["columns"]), dict(info["levels"]),
                                 dict(info["accuracy"]), scale=float(info["scale"]))
        return cls(stats, constraints, feats["mean"], feats["cov"], extractor)


def _read(path: str, name: str) -> bytes:
    try:
        return read_bytes(join(path, name))
    except FileNotFoundError:
        raise DataError(f"{path!r} is not an image baseline: no {name} (make one with "
                        "`synth monitor baseline --data IMAGES --output DIR kind=images`)"
                        ) from None


def _json(path: str, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(_read(path, name))
    except ValueError as exc:
        raise DataError(f"{join(path, name)}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{join(path, name)}: not a JSON object")
    return doc


def image_baseline(data: str | ImageData, output: str | None = None,
                   label_columns: list[str] | None = None, seed: int = 0,
                   classifier_epochs: int = 4) -> ImageBaseline:
    """The baseline of an image set (a folder, .npz, .csv or .parquet, local or s3://)."""
    images = load_images(data, label_columns=label_columns) if isinstance(data, str) else data
    if len(images.images) < MIN_IMAGES:
        raise DataError(f"an image baseline needs at least {MIN_IMAGES} images, got "
                        f"{len(images.images)}")
    extractor = train_cnn(images.images, images.labels, classifier_epochs, seed)
    feats = extractor.features(images.images)
    half = np.random.default_rng(seed).permutation(len(feats))
    a, b = feats[half[: len(feats) // 2]], feats[half[len(feats) // 2:]]
    floor = fid_from_stats(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                           np.cov(b, rowvar=False))
    stats = {"version": VERSION, "kind": "images",
             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "source": data if isinstance(data, str) else "ImageData",
             "rows": len(feats), "seed": seed, "size": list(images.images.shape[-2:]),
             "channels": images.channels, "pixels": pixel_stats(images.images),
             "attributes": {c: _frequencies(images.labels[c]) for c in extractor.columns},
             "judged": {c: _frequencies(pd.Series(extractor.predict(images.images, c)))
                        for c in extractor.columns},
             "extractor": {"name": extractor.name, "dim": int(feats.shape[1]),
                           "fid_floor": floor, "floor_rows": [len(a), len(b)],
                           "accuracy": extractor.accuracy}}
    result = ImageBaseline(stats, suggest(stats), feats.mean(0), np.cov(feats, rowvar=False),
                           extractor)
    if output:
        result.save(output)
    return result


def pixel_stats(images: torch.Tensor) -> dict[str, Any]:
    x = images.float().flatten()
    hist = torch.histc(x.clamp(-1, 1), PIXEL_BINS, -1.0, 1.0).double()
    return {"mean": float(x.mean()), "std": float(x.std()),
            "histogram": (hist / hist.sum()).tolist()}


def _frequencies(values: Any) -> dict[str, int]:
    counts = values.astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def suggest(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Rules new images should keep: the baseline's size and channels, each attribute's
    values (checked where a batch carries that label column)."""
    rules: list[dict[str, Any]] = [{"column": "image", "type": "size", "size": stats["size"]},
                                   {"column": "image", "type": "channels",
                                    "channels": stats["channels"]}]
    rules += [{"column": c, "type": "categories", "allowed": sorted(freq)}
              for c, freq in stats["attributes"].items()]
    return rules


def looks_like_images(uri: str) -> bool:
    """An .npz file, or a folder of image files (or of class folders of them); a Parquet of
    PNGs needs kind=images."""
    if uri.endswith(".npz"):
        return True
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return False
    names = list_dir(uri)
    if any(n.endswith((".parquet", ".pq", ".csv", ".gz")) for n in names):
        return False
    return any(n.lower().endswith(IMAGE_SUFFIXES) for n in names) or any(
        "." not in n and any(m.lower().endswith(IMAGE_SUFFIXES) for m in list_dir(join(uri, n)))
        for n in names[:20])


def is_image_baseline(path: str) -> bool:
    """Whether the baseline in `path` is an image set's (its statistics say kind images)."""
    try:
        return _json(path, "statistics.json").get("kind") == "images"
    except DataError:
        return False
