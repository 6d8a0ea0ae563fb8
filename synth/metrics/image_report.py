"""`evaluate_images(real, model)`: every image metric against a real split, the same metrics
between two real splits as the floor, the extractor and classifier named, and PNG grids (real
vs generated, and one row per value of each attribute for conditional models)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synth.data.grid import make_grid
from synth.data.images import ImageData, encode_png, fit_size, to_unit
from synth.errors import DataError
from synth.metrics.extractors import CNNExtractor, InceptionExtractor, inception_path, train_cnn
from synth.metrics.images import IMAGE_METRICS


def pick_extractor(name: str, path: str | None, cnn: CNNExtractor) -> Any:
    if name == "inception" or (name == "auto" and inception_path(path)):
        return InceptionExtractor(path)
    if name in ("cnn", "auto"):
        return cnn
    raise DataError(f"unknown extractor {name!r}: auto, inception or cnn")


def _pair_scores(real: np.ndarray, other: np.ndarray, seed: int) -> dict[str, float]:
    return {"fid": IMAGE_METRICS.get("fid")(real, other),
            "kid": IMAGE_METRICS.get("kid")(real, other, seed=seed),
            **IMAGE_METRICS.get("precision_recall")(real, other)}


def evaluate_images(real: ImageData, model: Any, n: int = 256, extractor: str = "auto",
                    extractor_path: str | None = None, seed: int = 0,
                    classifier_epochs: int = 4) -> dict[str, Any]:
    """Scores of `model` against `real` (n images each; 2n real images are needed for the
    floor), with the real-vs-real floor beside them."""
    images = fit_size(real.images, model.config.image_size)
    if len(images) < 2 * n:
        raise DataError(f"evaluation needs 2 x n = {2 * n} real images for the real-vs-real "
                        f"floor, got {len(images)}; lower n")
    order = np.random.default_rng(seed).permutation(len(images))
    real_a, real_b = images[order[:n]], images[order[n:2 * n]]
    cnn = train_cnn(images, real.labels, epochs=classifier_epochs, seed=seed)
    feats = pick_extractor(extractor, extractor_path, cnn)
    sample = model.sample(n, seed=seed)
    fake = to_unit(sample.images)
    fa, fb, ff = feats.features(real_a), feats.features(real_b), feats.features(fake)
    scores = _pair_scores(fa, ff, seed)
    floor = _pair_scores(fa, fb, seed)
    if cnn.columns:
        scores["inception_score"] = IMAGE_METRICS.get("inception_score")(cnn.probs(fake))
        floor["inception_score"] = IMAGE_METRICS.get("inception_score")(cnn.probs(real_b))
    scores["ppl"] = IMAGE_METRICS.get("ppl")(model, feats, seed=seed)
    accuracy = IMAGE_METRICS.get("attribute_accuracy")(model, cnn, seed=seed)
    scores.update({f"attribute_accuracy_{k}": v for k, v in accuracy.items()})
    floor.update({f"attribute_accuracy_{k}": v for k, v in cnn.accuracy.items()
                  if k in accuracy})
    return {"scores": scores, "floor": floor, "extractor": feats.name,
            "classifier": cnn.name, "classifier_accuracy": cnn.accuracy,
            "settings": {"n": n, "seed": seed, "image_size": model.config.image_size,
                         "model": model.name},
            "grids": grids(real_a, fake, model, seed)}


def grids(real: torch.Tensor, fake: torch.Tensor, model: Any, seed: int, per_row: int = 8
          ) -> dict[str, bytes]:
    """PNG grids: real, generated, and per attribute one row of generated images per value."""
    out = {"real": encode_png(make_grid(real[:64])), "generated": encode_png(make_grid(fake[:64]))}
    for attribute, values in model.labels.values.items():
        rows = [model.sample(per_row, conditions={attribute: v}, seed=seed).images
                for v in values[:16]]
        out[f"by_{attribute}"] = encode_png(make_grid(np.concatenate(rows), columns=per_row))
    return out
