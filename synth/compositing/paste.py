"""Pasting objects into a background, and the masks of what each paste left visible.

An object is cut to its visible extent (alpha >= ALPHA_MIN), scaled to its box (Pillow
resamples RGBA with premultiplied alpha, so transparent pixels do not bleed colour into the
edge), and alpha-blended in; pixels of the scaled object with alpha below ALPHA_MIN are dropped
(at under 3% opacity they would not change a pixel of the image, and an annotation must cover
exactly the pixels an object changed). A box reaching past the frame is clipped to it: the
annotation is the part inside. A later object hides an earlier one where it is opaque, and the
earlier object's mask loses those pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.errors import DataError

ALPHA_MIN = 8


@dataclass(frozen=True)
class Paste:
    """One object placed: what is visible of it in the end, as a mask over the part of the
    frame its box covers (x0, y0 its top-left corner in the frame)."""

    mask: np.ndarray  # h x w bool
    x0: int
    y0: int
    box: tuple[int, int, int, int]  # the integer box it was scaled to (x1, y1, x2, y2)

    def hide(self, opaque: np.ndarray, x0: int, y0: int) -> Paste:
        """This paste less the pixels an opaque later one (its mask at x0, y0) covers."""
        h, w = self.mask.shape
        ax, ay = max(self.x0, x0), max(self.y0, y0)
        bx = min(self.x0 + w, x0 + opaque.shape[1])
        by = min(self.y0 + h, y0 + opaque.shape[0])
        if bx <= ax or by <= ay:
            return self
        mask = self.mask.copy()
        mask[ay - self.y0:by - self.y0, ax - self.x0:bx - self.x0] &= \
            ~opaque[ay - y0:by - y0, ax - x0:bx - x0]
        return Paste(mask, self.x0, self.y0, self.box)


def visible(rgba: np.ndarray, name: str) -> np.ndarray:
    """The object cut to the rows and columns that hold a pixel with alpha >= ALPHA_MIN."""
    alpha = rgba[..., 3] >= ALPHA_MIN
    if not alpha.any():
        raise DataError(f"object {name!r} is fully transparent: nothing to paste")
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    return rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def pixel_box(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """A float box -> integer pixel edges [x1, x2) x [y1, y2); None when it is empty after
    rounding or has no pixel inside the frame."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    if x2 <= x1 or y2 <= y1:
        return None
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        return None
    return x1, y1, x2, y2


def scale(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    if rgba.shape[1] == width and rgba.shape[0] == height:
        out = rgba.copy()
    else:
        out = np.array(Image.fromarray(rgba, "RGBA").resize((width, height),
                                                            Image.Resampling.BILINEAR))
    out[..., 3][out[..., 3] < ALPHA_MIN] = 0
    return out


def compose(background: np.ndarray, objects: list[tuple[np.ndarray, tuple[int, int, int, int]]]
            ) -> tuple[np.ndarray, list[Paste]]:
    """Blend each (visible RGBA object, integer box) into a copy of the RGB background, in
    order (only the box's pixels are touched); the uint8 RGB image and every paste's visible
    mask."""
    height, width = background.shape[:2]
    canvas = background.copy()
    pastes: list[Paste] = []
    for rgba, box in objects:
        x1, y1, x2, y2 = box
        obj = scale(rgba, x2 - x1, y2 - y1)
        cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        part = obj[cy1 - y1:cy2 - y1, cx1 - x1:cx2 - x1]
        alpha = part[..., 3:4].astype(np.float32) / 255.0
        region = canvas[cy1:cy2, cx1:cx2].astype(np.float32)
        blended = region * (1.0 - alpha) + part[..., :3] * alpha
        canvas[cy1:cy2, cx1:cx2] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        opaque = part[..., 3] == 255
        pastes = [p.hide(opaque, cx1, cy1) for p in pastes]
        pastes.append(Paste(part[..., 3] > 0, cx1, cy1, box))
    return canvas, pastes


def mask_box(paste: Paste) -> tuple[int, int, int, int] | None:
    """COCO's [x, y, width, height] of a paste's visible pixels in the frame; None when none
    is left."""
    mask = paste.mask
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return (paste.x0 + int(cols[0]), paste.y0 + int(rows[0]), int(cols[-1] - cols[0] + 1),
            int(rows[-1] - rows[0] + 1))


def rle(paste: Paste, height: int, width: int) -> list[int]:
    """COCO's uncompressed run-length encoding of the paste's mask over the whole frame: run
    lengths over the pixels read column by column, starting with a run of zeros (possibly
    empty). Computed from the set pixels' positions, not a frame-sized array."""
    cols, rows = np.nonzero(paste.mask.T)  # column-major order
    pos = (paste.x0 + cols.astype(np.int64)) * height + (paste.y0 + rows)
    if not len(pos):
        return [height * width]
    breaks = np.flatnonzero(np.diff(pos) != 1)
    starts = np.concatenate([[pos[0]], pos[breaks + 1]])
    ends = np.concatenate([pos[breaks] + 1, [pos[-1] + 1]])
    gaps = starts - np.concatenate([[0], ends[:-1]])
    runs = np.empty(2 * len(starts) + 1, dtype=np.int64)
    runs[0:-1:2], runs[1::2] = gaps, ends - starts
    runs[-1] = height * width - ends[-1]
    out = runs.tolist()
    return out[:-1] if out[-1] == 0 else out
