"""One part of a compositing run: its rows' images written as PNG files and its annotations
returned as a table. Row r's picks use a generator keyed by (seed, r), so a part holds the same
bytes whichever worker writes it and however the rows are split into parts."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synth.compositing.boxes import RowBoxes, to_pixels
from synth.compositing.config import CompositeConfig
from synth.compositing.library import Library
from synth.compositing.paste import Paste, compose, mask_box, pixel_box, rle, visible
from synth.data.io import join, write_bytes
from synth.data.png import encode_png
from synth.errors import DataError

IMAGES_DIR, ANNOTATIONS_DIR = "images", "annotations"
SCHEMA = pa.schema([
    ("image_id", pa.int64()), ("file_name", pa.string()), ("width", pa.int32()),
    ("height", pa.int32()), ("background", pa.string()), ("box_index", pa.int32()),
    ("category", pa.string()), ("object", pa.string()),
    ("x1", pa.float64()), ("y1", pa.float64()), ("x2", pa.float64()), ("y2", pa.float64()),
    # bbox: x, y, w, h, a variable list (pyarrow 25 cannot read back a fixed-size list column
    # holding nulls that it wrote itself)
    ("bbox", pa.list_(pa.int32())), ("area", pa.int64()), ("rle", pa.list_(pa.int64())),
])
EMPTY = {"box_index": -1, "category": None, "object": None, "x1": None, "y1": None,
         "x2": None, "y2": None, "bbox": None, "area": 0, "rle": None}


@dataclass
class Libraries:
    backgrounds: Library
    objects: Library

    @classmethod
    def open(cls, cfg: CompositeConfig) -> Libraries:
        return cls(Library.open(cfg.backgrounds, "backgrounds", alpha=False),
                   Library.open(cfg.objects, "objects"))


def image_name(row: int) -> str:
    return f"{IMAGES_DIR}/{row:08d}.png"


def part_name(index: int) -> str:
    return f"{ANNOTATIONS_DIR}/part-{index:06d}.parquet"


def composite_row(cfg: CompositeConfig, libs: Libraries, row: int, spec: RowBoxes
                  ) -> tuple[np.ndarray, list[dict]]:
    """Row `row`'s image and its annotation records (one per pasted box; one record with
    box_index -1 for an image without objects)."""
    rng = np.random.default_rng([cfg.seed, row])
    bg = libs.backgrounds.pick(spec.background, rng, "background", row)
    background = libs.backgrounds.image(bg)
    height, width = background.shape[:2]
    boxes = to_pixels(spec.boxes, cfg.box_format, cfg.relative, width, height)
    placed, meta = [], []
    gray = libs.backgrounds.is_gray(bg)
    for j, (box, key) in enumerate(zip(boxes, spec.objects, strict=True)):
        obj = libs.objects.pick(key, rng, "object", row)
        pixels = pixel_box(box, width, height)
        if pixels is None:
            if cfg.invalid == "error":
                raise DataError(f"row {row}, box {j}: {box.round(2).tolist()} (x1, y1, x2, y2 "
                                f"in pixels) is empty or outside the {width}x{height} "
                                "background; fix the box, or set invalid=skip")
            continue
        name = libs.objects.files[obj]
        placed.append((visible(libs.objects.image(obj), name), pixels))
        meta.append((j, box, libs.objects.categories[obj], name))
        gray = gray and libs.objects.is_gray(obj)
    canvas, pastes = compose(background, placed)
    image = canvas[..., 0] if gray else canvas
    base = {"image_id": row, "file_name": image_name(row), "width": width, "height": height,
            "background": libs.backgrounds.files[bg]}
    records = [{**base, **_record(j, box, cat, name, p, cfg.masks, (height, width))}
               for (j, box, cat, name), p in zip(meta, pastes, strict=True)]
    return image, records or [{**base, **EMPTY}]


def _record(j: int, box: np.ndarray, category: str, name: str, paste: Paste, masks: bool,
            frame: tuple[int, int]) -> dict:
    bbox = mask_box(paste)
    return {"box_index": j, "category": category, "object": name,
            "x1": float(box[0]), "y1": float(box[1]), "x2": float(box[2]), "y2": float(box[3]),
            "bbox": list(bbox) if bbox else None, "area": int(paste.mask.sum()),
            "rle": rle(paste, *frame) if masks and bbox else None}


def write_part(cfg: CompositeConfig, libs: Libraries, index: int, first: int,
               rows: list[RowBoxes]) -> int:
    """Write rows first.. of part `index`: every image, then the part's annotation file (last,
    so its presence says the part is complete). Returns the number of images."""
    records: list[dict] = []
    for k, spec in enumerate(rows):
        image, recs = composite_row(cfg, libs, first + k, spec)
        write_bytes(join(cfg.output, image_name(first + k)), encode_png(image))
        records.extend(recs)
    table = pa.Table.from_pylist(records, schema=SCHEMA)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    write_bytes(join(cfg.output, part_name(index)), buf.getvalue())
    return len(rows)
