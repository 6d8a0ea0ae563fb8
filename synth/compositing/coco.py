"""COCO detection JSON from the annotation parts, written as a stream (images, then
annotations), so a run of millions of images never holds the document in memory. Category
ids are 1 + the index of the category among the objects library's sorted categories;
annotation ids count from 1 in (image, box) order. Masks are COCO's uncompressed RLE
(`{"size": [height, width], "counts": [...]}`), which pycocotools reads as it reads polygons."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow.parquet as pq

from synth.data.io import filesystem, join

COLUMNS = ["image_id", "file_name", "width", "height", "box_index", "category", "bbox",
           "area", "rle"]


def write_coco(output: str, parts: list[str], categories: list[str], info: dict) -> dict:
    """Write `output`/coco.json from the annotation part files (names under `output`);
    returns the counts."""
    ids = {name: i + 1 for i, name in enumerate(categories)}
    counts = {"images": 0, "annotations": 0, "hidden": 0}
    fs, path = filesystem(join(output, "coco.json"))
    if not output.startswith("s3://"):
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path, compression=None) as out:
        head = {"info": info, "licenses": [],
                "categories": [{"id": i, "name": n, "supercategory": "object"}
                               for n, i in ids.items()]}
        out.write(json.dumps(head)[:-1].encode() + b', "images": [')
        _array(out, (_image(r) for r in _rows(output, parts) if r["first"]), counts, "images")
        out.write(b'], "annotations": [')
        anns = (_annotation(r, ids) for r in _rows(output, parts) if r["bbox"] is not None)
        _array(out, anns, counts, "annotations")
        out.write(b"]}")
    counts["hidden"] = sum(1 for r in _rows(output, parts)
                           if r["box_index"] >= 0 and r["bbox"] is None)
    return counts


def _rows(output: str, parts: list[str]) -> Iterator[dict]:
    """Annotation records in order, `first` marking each image's first record."""
    last = None
    for name in parts:
        fs, path = filesystem(join(output, name))
        for rec in pq.read_table(path, filesystem=fs, columns=COLUMNS).to_pylist():
            rec["first"] = rec["image_id"] != last
            last = rec["image_id"]
            yield rec


def _array(out, items: Iterator[dict], counts: dict, key: str) -> None:
    for i, item in enumerate(items):
        if "id" in item and item["id"] is None:  # annotations: numbered in order
            item["id"] = i + 1
        out.write((b", " if i else b"") + json.dumps(item).encode())
        counts[key] += 1


def _image(rec: dict) -> dict:
    return {"id": rec["image_id"], "file_name": rec["file_name"], "width": rec["width"],
            "height": rec["height"]}


def _annotation(rec: dict, ids: dict[str, int]) -> dict:
    ann = {"id": None, "image_id": rec["image_id"], "category_id": ids[rec["category"]],
           "bbox": rec["bbox"], "area": rec["area"], "iscrowd": 0}
    if rec["rle"] is not None:
        ann["segmentation"] = {"size": [rec["height"], rec["width"]], "counts": rec["rle"]}
    return ann
