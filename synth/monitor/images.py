"""Attribute balance of an image model's output, judged by a classifier trained on the real
images' labels (the evaluation's small CNN): per attribute and value, the value's share among
the real images, among the labels the model was asked for (a conditional model draws them from
the training frequencies when not told), and among what the classifier sees in the generated
images; and how often it sees the value the model was asked for. The figures use the bias
report's layout (synth/monitor/bias.py), so `render_bias` draws them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.images import ImageData, fit_size, to_unit
from synth.errors import DataError
from synth.metrics.extractors import train_cnn


def image_balance(real: ImageData, model: Any, n: int = 1000, seed: int = 0,
                  classifier_epochs: int = 4) -> dict[str, Any]:
    """The balance figures of `n` generated images against the real set."""
    images = fit_size(real.images, model.config.image_size)
    cnn = train_cnn(images, real.labels, epochs=classifier_epochs, seed=seed)
    if not cnn.columns:
        raise DataError("the real images carry no attribute with 2-200 values to judge by")
    sample = model.sample(n, seed=seed)
    fake = to_unit(sample.images)
    out: dict[str, Any] = {"kind": "images", "target": None, "positive": None,
                           "rows": {"real": len(images), "synthetic": n},
                           "classifier_accuracy": cnn.accuracy, "attributes": {}}
    for attr in cnn.columns:
        judged = pd.Series(cnn.predict(fake, attr)).astype(str)
        asked = (sample.labels[attr].astype(str) if attr in sample.labels.columns
                 else None)
        real_share = real.labels[attr].astype(str).value_counts(normalize=True)
        groups = [_value(str(v), real_share, judged, asked) for v in cnn.levels[attr]]
        judged_shares = np.array([g["synthetic_share"] for g in groups])
        out["attributes"][attr] = {"groups": groups, "balance": {
            "total_variation": float(np.abs(judged_shares - np.array(
                [g["real_share"] for g in groups])).sum() / 2),
            "min_over_max": float(judged_shares.min() / judged_shares.max())
            if judged_shares.max() > 0 else None,
            "agreement": float((judged == asked).mean()) if asked is not None else None}}
    return out


def _value(value: str, real_share: pd.Series, judged: pd.Series, asked: pd.Series | None
           ) -> dict[str, Any]:
    row = {"group": value, "real_share": float(real_share.get(value, 0.0)),
           "synthetic_share": float((judged == value).mean()),
           "real_rate": None, "synthetic_rate": None, "shapes": None}
    if asked is not None:
        mine = asked == value
        row["asked_share"] = float(mine.mean())
        row["agreement"] = float((judged[mine] == value).mean()) if mine.any() else None
    return row
