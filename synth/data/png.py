"""PNG encoding without torch (Pillow only), for callers that must stay light (compositing
workers); synth.data.images re-exports it."""

from __future__ import annotations

import io

import numpy as np


def encode_png(image: np.ndarray) -> bytes:
    """uint8 H x W, or H x W x C (C = 1, 3 or 4) -> PNG bytes."""
    from PIL import Image

    arr = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()
