"""A compositing run, start to end, in this process (`synth.composite`); the Ray job
(jobs/composite.py) shares every step but hands the parts to Ray Data.

Layout of the output prefix:
- `_run.json` first: the config that fixes the files (and a digest of the boxes table); a
  rerun with other settings is refused unless `overwrite`;
- `images/00000000.png` ...: one image per row of the boxes table;
- `annotations/part-000000.parquet` ...: the records of `images_per_file` images (one per
  box: category, object file, the requested box, the visible bbox, area and RLE mask), each
  written after its images, so a rerun skips complete parts and redoes the rest;
- `coco.json`: COCO detection annotations of all images;
- `preview.png`: the first images with their boxes drawn (synth/compositing/preview.py);
- `_manifest.json` last: counts, parts and categories, so a reader knows the set is whole."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synth.compositing.boxes import RowBoxes, read_rows, to_pixels
from synth.compositing.coco import write_coco
from synth.compositing.config import CompositeConfig
from synth.compositing.parts import ANNOTATIONS_DIR, IMAGES_DIR, Libraries, part_name, write_part
from synth.compositing.preview import write_preview
from synth.config import build_config
from synth.data.io import (
    exists,
    filesystem,
    fingerprint,
    join,
    list_dir,
    read_bytes,
    read_table,
    write_bytes,
)
from synth.errors import ConfigError, DataError

RUN_FILE, MANIFEST_FILE = "_run.json", "_manifest.json"


CHECK_ROWS = 50_000  # rows parsed at a time when the plan checks the table


@dataclass(frozen=True)
class Plan:
    """The boxes table and its parts; a part's rows are parsed where they are composited, so
    the driver holds the table, not an object per box."""

    table: pd.DataFrame
    cfg: CompositeConfig
    parts: list[tuple[int, int, int]]  # (index, first row, rows)
    categories: list[str]

    @property
    def images(self) -> int:
        return len(self.table)

    def rows_of(self, index: int) -> tuple[int, list[RowBoxes]]:
        _, first, count = self.parts[index]
        return first, self._parse(first, count)

    def _parse(self, first: int, count: int) -> list[RowBoxes]:
        c = self.cfg
        return read_rows(self.table.iloc[first:first + count], c.box_column, c.box_format,
                         c.object_column, c.background_column, offset=first)


def make_plan(cfg: CompositeConfig, libs: Libraries) -> Plan:
    """Read the boxes table and check every row before any file is written."""
    df = read_table(cfg.boxes)
    if not len(df):
        raise DataError(f"the boxes table {cfg.boxes!r} has no rows")
    step = cfg.images_per_file
    parts = [(i, first, min(step, len(df) - first))
             for i, first in enumerate(range(0, len(df), step))]
    plan = Plan(df, cfg, parts, libs.objects.names)
    seen: set[tuple[str, str]] = set()
    for first in range(0, len(df), CHECK_ROWS):
        rows = plan._parse(first, min(CHECK_ROWS, len(df) - first))
        if cfg.invalid == "error":
            _check_extents(rows, cfg.box_format, first)
        _check_keys(rows, libs, first, seen)
    return plan


def _check_keys(rows: list[RowBoxes], libs: Libraries, offset: int,
                seen: set[tuple[str, str]]) -> None:
    """Every object and background the table names exists (each distinct value once)."""
    for r, spec in enumerate(rows):
        for what, lib, keys in (("background", libs.backgrounds, [spec.background]),
                                ("object", libs.objects, spec.objects)):
            for key in keys:
                if (what, repr(key)) not in seen:
                    lib.check(key, what, offset + r)
                    seen.add((what, repr(key)))


def _check_extents(rows: list[RowBoxes], box_format: str, offset: int) -> None:
    """Boxes with no width or height (swapped corners, xywh read as xyxy) fail here, before
    any file is written; boxes outside a background fail when its size is known."""
    for r, spec in enumerate(rows):
        if not len(spec.boxes):
            continue
        b = to_pixels(spec.boxes, box_format, False, 1, 1)
        bad = (b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])
        if bad.any():
            j = int(bad.argmax())
            raise DataError(f"row {offset + r}, box {j}: {spec.boxes[j].tolist()} has no width "
                            f"or height as {box_format} (x2 must exceed x1 and y2 y1); fix it, "
                            "or set invalid=skip")


def prepare_output(cfg: CompositeConfig) -> None:
    """Write _run.json, or check that the one there describes this same run."""
    run = {**cfg.run_record(), "boxes_digest": fingerprint(cfg.boxes)}
    uri = join(cfg.output, RUN_FILE)
    try:
        if exists(uri):
            before = json.loads(read_bytes(uri))
            if before == run:
                return
            if not cfg.overwrite:
                changed = sorted(k for k in run if before.get(k) != run[k])
                raise ConfigError(f"{cfg.output} holds another compositing run (different "
                                  f"{', '.join(changed)}); choose another --output, or pass "
                                  "--overwrite to replace it")
            _clear(cfg.output)
        write_bytes(uri, json.dumps(run, indent=2, sort_keys=True).encode())
    except OSError as exc:
        raise DataError(f"cannot write to {cfg.output}: {exc}") from None


def _clear(output: str) -> None:
    for name in list_dir(output):
        fs, path = filesystem(join(output, name))
        if name in (IMAGES_DIR, ANNOTATIONS_DIR):
            fs.delete_dir(path)
        elif name in (RUN_FILE, MANIFEST_FILE, "coco.json"):
            fs.delete_file(path)


def missing_parts(cfg: CompositeConfig, plan: Plan) -> list[int]:
    done = set(list_dir(join(cfg.output, ANNOTATIONS_DIR)))
    return [i for i, _, _ in plan.parts if part_name(i).split("/")[-1] not in done]


def finish(cfg: CompositeConfig, plan: Plan, written: int, start: float) -> dict[str, Any]:
    """coco.json and preview.png, then _manifest.json (last)."""
    names = [part_name(i) for i, _, _ in plan.parts]
    counts = write_coco(cfg.output, names, plan.categories,
                        {"description": f"raysynth composite of {cfg.boxes}",
                         "date_created": time.strftime("%Y-%m-%d")})
    doc = {"images": plan.images, "annotations": counts["annotations"],
           "hidden": counts["hidden"], "categories": plan.categories, "parts": names,
           "images_dir": IMAGES_DIR, "coco": "coco.json"}
    if names:
        write_preview(cfg.output, names[0])
    write_bytes(join(cfg.output, MANIFEST_FILE), json.dumps(doc, indent=2).encode())
    return {"images": doc["images"], "annotations": doc["annotations"],
            "hidden": doc["hidden"], "parts": len(names), "written": written,
            "output": cfg.output, "seconds": round(time.perf_counter() - start, 2)}


def composite(cfg: CompositeConfig | None = None, **kwargs: Any) -> dict[str, Any]:
    """Paste objects into backgrounds at every row's boxes, in this process: images, Parquet
    and COCO annotations under cfg.output (see the module docstring). Takes a config or its
    fields as keywords; returns counts."""
    cfg = cfg or build_config(CompositeConfig, kwargs)
    cfg.validate()
    start = time.perf_counter()
    libs = Libraries.open(cfg)
    plan = make_plan(cfg, libs)
    prepare_output(cfg)
    todo = missing_parts(cfg, plan)
    for index in todo:
        first, rows = plan.rows_of(index)
        write_part(cfg, libs, index, first, rows)
    return finish(cfg, plan, sum(plan.parts[i][2] for i in todo), start)
