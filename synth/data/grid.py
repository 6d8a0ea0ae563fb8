"""Image grids (PNG) for training snapshots and reports."""

from __future__ import annotations

import math

import numpy as np
import torch

from synth.data.images import to_uint8


def make_grid(images: torch.Tensor | np.ndarray, columns: int | None = None, pad: int = 2
              ) -> np.ndarray:
    """N images (float N x C x H x W in [-1, 1], or uint8 N x H x W x C) -> one uint8
    H' x W' x C grid."""
    arr = to_uint8(images) if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    n, h, w, c = arr.shape
    cols = columns or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        out[pad + r * (h + pad):pad + r * (h + pad) + h,
            pad + k * (w + pad):pad + k * (w + pad) + w] = arr[i]
    return out
