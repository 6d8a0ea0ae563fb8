"""`synth composite` on the session's real Ray (Ray Data tasks) writing to a real S3 protocol
endpoint (moto): the bundled example's images and boxes, annotations that match the pasted
pixels, and a resume that rewrites only a lost part."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from PIL import Image

from jobs import composite as job

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compositing"


def _get(key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket="raysynth", Key=key)["Body"].read()


def _rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.array(im.convert("RGB")).astype(int)


def test_composite_job_to_s3_matches_pixels_and_resumes(ray_local, s3_bucket, tmp_path,
                                                         capsys):
    boxes = tmp_path / "boxes.parquet"
    pd.read_csv(EXAMPLE / "boxes.csv").head(60).to_parquet(boxes)
    out = f"{s3_bucket}/composite"
    argv = ["--backgrounds", str(EXAMPLE / "backgrounds"), "--objects",
            str(EXAMPLE / "objects"), "--boxes", str(boxes), "--output", out,
            "images_per_file=16", "--concurrency", "2"]
    assert job.main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["written"] == 60
    manifest = json.loads(_get("composite/_manifest.json"))
    coco = json.loads(_get("composite/coco.json"))
    assert manifest["images"] == len(coco["images"]) == 60
    assert manifest["annotations"] == len(coco["annotations"]) > 60
    assert {c["name"] for c in coco["categories"]} == {"bolt", "crack", "nut", "washer"}
    table = pq.read_table(io.BytesIO(_get("composite/annotations/part-000000.parquet")))
    records = table.to_pandas()
    for image_id in range(3):  # the object's pixels are exactly the annotated ones
        recs = records[records.image_id == image_id]
        image = _rgb(_get(f"composite/{recs.file_name.iloc[0]}"))
        background = _rgb((EXAMPLE / "backgrounds" / recs.background.iloc[0]).read_bytes())
        ys, xs = np.nonzero((image != background).any(axis=2))
        changed = {(int(x), int(y)) for x, y in zip(xs, ys, strict=True)}
        inside = set()
        for bbox in recs.bbox:
            x, y, w, h = (int(v) for v in bbox)
            inside |= {(i, j) for i in range(x, x + w) for j in range(y, y + h)}
        assert changed and changed <= inside
        for bbox in recs.bbox:  # and each box is tight: its edges hold changed pixels
            x, y, w, h = (int(v) for v in bbox)
            assert any((x, j) in changed for j in range(y, y + h))
            assert any((x + w - 1, j) in changed for j in range(y, y + h))
    assert len(_get("composite/preview.png")) > 1000
    first = _get("composite/images/00000020.png")
    s3 = boto3.client("s3")
    s3.delete_object(Bucket="raysynth", Key="composite/annotations/part-000001.parquet")
    s3.delete_object(Bucket="raysynth", Key="composite/images/00000020.png")
    assert job.main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["written"] == 16
    assert _get("composite/images/00000020.png") == first  # the same bytes, rewritten
    assert json.loads(_get("composite/_manifest.json"))["annotations"] == \
        manifest["annotations"]
