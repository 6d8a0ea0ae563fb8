"""Paste object images into backgrounds at the boxes of a table: labelled images for detection
models (PNG images, Parquet annotations, COCO JSON), local or on s3://.

    synth composite --backgrounds examples/compositing/backgrounds \\
        --objects examples/compositing/objects --boxes examples/compositing/boxes.csv \\
        --output runs/composite
    python -m jobs.composite ...        (the same; what `ray job submit -- ...` runs)

One output image per row of `--boxes` (CSV or Parquet). Its box column (`box_column=boxes`)
holds a box `[x1, y1, x2, y2]` or a list of them, as Arrow lists or their string form; without
it, x1/y1/x2/y2 columns give one box per row. `box_format=xywh|cxcywh` and `relative=true`
(fractions of the background) read other conventions. An `object` column picks each box's
object by category (the objects folder's subfolders), file, or a list with one per box; a
`background` column picks the background; otherwise row r draws them from a generator keyed by
(seed, r). Each object is cut to its visible pixels, scaled to its box, alpha-blended in and
annotated by the pixels it changed (bbox, area and an RLE mask; a later object hides what it
covers). A box with no width, or outside its background, is an error naming the row
(`invalid=skip` drops it instead); one reaching past the edge is clipped.

Ray Data runs `images_per_file` rows per task, `concurrency` at once; a rerun writes only the
parts that are missing, `_run.json` refuses a different run in the same output (unless
`--overwrite`), and `coco.json`, `preview.png` (the first images with their boxes drawn) and
`_manifest.json` come last (layout: synth/compositing/run.py)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from jobs import console
from jobs.common import (
    add_common_args,
    job_parser,
    load_config,
    print_config,
    run_main,
    start_ray,
)
from synth.compositing.config import CompositeConfig
from synth.compositing.parts import Libraries, write_part
from synth.compositing.run import Plan, composite, finish, make_plan, missing_parts, prepare_output


class PartWriter:
    """Ray Data actor: opens the image folders once, then composites whole parts."""

    def __init__(self, cfg: CompositeConfig, plan_ref: list[Any]) -> None:
        import ray

        self.cfg = cfg
        self.plan: Plan = ray.get(plan_ref[0])
        self.libs = Libraries.open(cfg)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        done = []
        for index in batch["index"]:
            first, rows = self.plan.rows_of(int(index))
            done.append(write_part(self.cfg, self.libs, int(index), first, rows))
        return {"index": batch["index"], "images": np.asarray(done)}


def composite_on_ray(cfg: CompositeConfig) -> dict[str, Any]:
    """The driver: plan and check every row, then the missing parts on Ray Data, then the
    COCO file and the manifest."""
    import ray
    import ray.data

    start = time.perf_counter()
    libs = Libraries.open(cfg)
    plan = make_plan(cfg, libs)
    prepare_output(cfg)
    todo = missing_parts(cfg, plan)
    if todo:
        ds = ray.data.from_items([{"index": i} for i in todo], override_num_blocks=len(todo))
        done = ds.map_batches(PartWriter, batch_size=1,
                              compute=ray.data.ActorPoolStrategy(
                                  size=min(cfg.concurrency, len(todo))),
                              fn_constructor_kwargs={"cfg": cfg, "plan_ref": [ray.put(plan)]},
                              num_cpus=cfg.num_cpus)
        with tqdm(total=sum(plan.parts[i][2] for i in todo), unit="images",
                  desc="composite") as bar:
            for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
                bar.update(int(batch["images"].sum()))
    return finish(cfg, plan, sum(plan.parts[i][2] for i in todo), start)


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth composite", __doc__)
    ap.add_argument("--backgrounds", help="folder or s3:// prefix of background images")
    ap.add_argument("--objects", help="folder or s3:// prefix of object images "
                    "(subfolders name their categories)")
    ap.add_argument("--boxes", help="CSV or Parquet table: one image per row")
    ap.add_argument("--output", help="output prefix (a folder or s3://bucket/prefix)")
    ap.add_argument("--seed", type=int, help="seed of the background and object draws")
    ap.add_argument("--concurrency", type=int, help="Ray Data tasks at once")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace another run's files under the output prefix")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        flags = {"backgrounds": args.backgrounds, "objects": args.objects,
                 "boxes": args.boxes, "output": args.output, "seed": args.seed,
                 "concurrency": args.concurrency,
                 "overwrite": True if args.overwrite else None}
        cfg = load_config(CompositeConfig, args.config, flags, args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, console.parent_dir(cfg.output), "composite")
        if args.no_ray:
            result = composite(cfg)
        else:
            start_ray(args.address)
            result = composite_on_ray(cfg)
        print(json.dumps(result))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
