"""The boxes table: one output image per row, holding zero or more boxes. A box column holds a
box as a list of four numbers or several as a list of such lists: Arrow lists, or their string
form (`"[12.0, 40.5, 88.0, 120.0]"`, as the telemetry spec writes it); an empty cell is an
image without objects. Without a box column, four number columns (x1, y1, x2, y2; or x, y, w,
h) give one box per row. An optional object column picks each box's object (a category, a file,
or a list with one per box); an optional background column picks the row's background."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import DataError

FORMATS = {"xyxy": ("x1", "y1", "x2", "y2"), "xywh": ("x", "y", "w", "h"),
           "cxcywh": ("cx", "cy", "w", "h")}


@dataclass(frozen=True)
class RowBoxes:
    boxes: np.ndarray  # k x 4, as given (format and units not converted yet)
    objects: list[Any]  # k object keys (None: a seeded draw)
    background: Any  # background key (None: a seeded draw)


def read_rows(df: pd.DataFrame, box_column: str, box_format: str, object_column: str,
              background_column: str, offset: int = 0) -> list[RowBoxes]:
    """Every row's boxes, object keys and background key; a clear error for a malformed cell
    (rows numbered from `offset`, the first row's number in the whole table)."""
    if box_column in df.columns:
        boxes = [_cell_boxes(v, offset + i, box_column) for i, v in enumerate(df[box_column])]
    else:
        names = list(FORMATS[box_format])
        missing = [n for n in names if n not in df.columns]
        if missing:
            raise DataError(f"the boxes table has no column {box_column!r} and no "
                            f"{', '.join(names)} columns (missing {', '.join(missing)}); its "
                            f"columns: {', '.join(map(str, df.columns[:20]))}")
        values = df[names].to_numpy(dtype=np.float64)
        boxes = [values[i:i + 1] for i in range(len(df))]
    objects = (df[object_column].tolist() if object_column in df.columns
               else [None] * len(df))
    backgrounds = (df[background_column].tolist() if background_column in df.columns
                   else [None] * len(df))
    return [RowBoxes(b, _cell_objects(o, len(b), offset + i, object_column), bg)
            for i, (b, o, bg) in enumerate(zip(boxes, objects, backgrounds, strict=True))]


def _cell_boxes(value: Any, row: int, column: str) -> np.ndarray:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.zeros((0, 4))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return np.zeros((0, 4))
        try:
            value = json.loads(text)
        except ValueError:
            raise DataError(f"row {row}: {column} {value!r} is not a list of four numbers "
                            "(e.g. \"[12, 40.5, 88, 120]\")") from None
    try:
        arr = np.array([np.asarray(v, dtype=np.float64) for v in value]
                       if len(value) and not np.isscalar(value[0]) else value,
                       dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"row {row}: {column} {value!r} is not numeric") from None
    if arr.size == 0:
        return np.zeros((0, 4))
    arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise DataError(f"row {row}: {column} holds {arr.shape[-1]} numbers per box, not 4")
    if not np.isfinite(arr).all():
        raise DataError(f"row {row}: {column} has a missing or infinite coordinate")
    return arr


def _cell_objects(value: Any, count: int, row: int, column: str) -> list[Any]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise DataError(f"row {row}: {column} {value!r} is not a JSON list") from None
    if isinstance(value, list | tuple | np.ndarray):
        items = list(value)
        if len(items) != count:
            raise DataError(f"row {row}: {column} names {len(items)} objects for {count} "
                            "boxes; give one per box, or one value for all")
        return items
    return [value] * count


def to_pixels(boxes: np.ndarray, box_format: str, relative: bool, width: int, height: int
              ) -> np.ndarray:
    """k x 4 boxes in the given format -> x1, y1, x2, y2 in the background's pixels."""
    b = boxes.astype(np.float64, copy=True)
    if box_format == "xywh":
        b[:, 2:] += b[:, :2]
    elif box_format == "cxcywh":
        half = b[:, 2:] / 2
        b[:, :2], b[:, 2:] = b[:, :2] - half, b[:, :2] + half
    if relative:
        b *= np.array([width, height, width, height], dtype=np.float64)
    return b
