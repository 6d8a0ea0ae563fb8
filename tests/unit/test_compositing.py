"""Image compositing (synth.compositing) in this process: annotations cover exactly the pixels
each pasted object changed, box conventions, determinism across part sizes, resume, and bad
input named before any file is written. The Ray job on S3 is in tests/integration."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

import synth
from synth.errors import ConfigError, DataError

W, H = 120, 90


def _png(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _disc(colour: tuple[int, int, int], side: int = 40, margin: int = 8) -> np.ndarray:
    """A soft-edged disc (drawn at 4x, reduced) on transparent ground with a margin."""
    big = Image.new("RGBA", (side * 4, side * 4), (0, 0, 0, 0))
    ImageDraw.Draw(big).ellipse([margin * 4, margin * 4, (side - margin) * 4,
                                 (side - margin) * 4], fill=(*colour, 255))
    return np.array(big.resize((side, side), Image.Resampling.LANCZOS))


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """Noisy dark backgrounds (values < 100) and lighter objects (>= 166): every object pixel
    with alpha >= 8/255 changes the image (by >= 2), one with alpha 1 or 2 would not."""
    rng = np.random.default_rng(0)
    for k in range(2):
        _png(rng.integers(0, 100, (H, W, 3), dtype=np.uint8), tmp_path / "bg" / f"b{k}.png")
    _png(_disc((170, 175, 180)), tmp_path / "obj" / "disc" / "d0.png")
    _png(_disc((180, 170, 166), side=30, margin=3), tmp_path / "obj" / "disc" / "d1.png")
    square = np.zeros((20, 30, 4), dtype=np.uint8)
    square[4:16, 5:25] = (200, 180, 170, 255)  # opaque, inside a transparent margin
    _png(square, tmp_path / "obj" / "square" / "s.png")
    return tmp_path / "bg", tmp_path / "obj"


def _run(folders, boxes: pd.DataFrame, tmp_path: Path, name: str = "out", **kw) -> Path:
    table = tmp_path / f"{name}.parquet"
    boxes.to_parquet(table)
    out = tmp_path / name
    synth.composite(backgrounds=str(folders[0]), objects=str(folders[1]), boxes=str(table),
                    output=str(out), **kw)
    return out


def _decode_rle(seg: dict) -> np.ndarray:
    h, w = seg["size"]
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for run in seg["counts"]:
        flat[pos:pos + run] = value
        pos, value = pos + run, not value
    return flat.reshape(w, h).T


def _image(out: Path, name: str) -> np.ndarray:
    with Image.open(out / name) as im:
        return np.array(im.convert("RGB")).astype(int)


BOXES = pd.DataFrame({
    "boxes": ["[10, 10, 50, 40]",                              # one box
              "[[5.4, 5.6, 45.2, 35], [30, 20, 80, 70]]",      # two, overlapping
              "[[100, 60, 150, 110]]",                         # reaches past the corner
              "[[60, 10, 70, 80], [0, 0, 119, 89]]",           # the second covers the first
              None],                                           # no objects
    "object": ['disc', '["disc", "square"]', "square", '["disc", "square"]', None],
})


def test_annotations_cover_exactly_the_pasted_pixels(folders, tmp_path):
    out = _run(folders, BOXES, tmp_path)
    coco = json.loads((out / "coco.json").read_text())
    table = pd.concat([pd.read_parquet(p) for p in sorted((out / "annotations").iterdir())])
    assert [c["name"] for c in coco["categories"]] == ["disc", "square"]
    assert [im["id"] for im in coco["images"]] == [0, 1, 2, 3, 4]
    anns: dict[int, list[dict]] = {}
    for a in coco["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    for im in coco["images"]:
        background = table[table.image_id == im["id"]].background.iloc[0]
        changed = (_image(out, im["file_name"]) != _image(folders[0], background)).any(axis=2)
        masks = [_decode_rle(a["segmentation"]) for a in anns.get(im["id"], [])]
        union = np.logical_or.reduce(masks) if masks else np.zeros((H, W), dtype=bool)
        assert (union == changed).all(), im  # not a pixel more or less
        for a, mask in zip(anns.get(im["id"], []), masks, strict=True):
            ys, xs = np.nonzero(mask)
            assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                 ys.max() - ys.min() + 1]
            assert a["area"] == mask.sum()
    by_image = {i: [a["bbox"] for a in anns.get(i, [])] for i in range(5)}
    # the disc's transparent margin is cut off: its pixels fill the box edge to edge
    assert by_image[0] == [[10, 10, 40, 30]]
    x, y, w, h = by_image[2][0]  # clipped to the frame
    assert (x, y, x + w, y + h) == (100, 60, W, H)
    assert 4 not in anns and table[table.image_id == 4].box_index.tolist() == [-1]
    # image 3: the opaque square over the whole frame hides the disc: no annotation for it
    assert len(anns[3]) == 1 and coco["annotations"][-1]["category_id"] == 2
    hidden = table[(table.image_id == 3) & (table.box_index == 0)]
    assert hidden.area.tolist() == [0] and hidden.bbox.isna().all()
    # image 1: the square hides part of the disc, whose mask loses those pixels
    disc, square = anns[1]
    assert disc["area"] < (_decode_rle(disc["segmentation"]) | _decode_rle(
        square["segmentation"])).sum()
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["images"] == 5 and manifest["annotations"] == 5 and manifest["hidden"] == 1
    assert (out / "preview.png").stat().st_size > 0


def test_box_conventions_give_the_same_images(folders, tmp_path):
    xyxy = pd.DataFrame({"boxes": ["[12, 8, 52, 48]", "[30, 30, 90, 60]"],
                         "object": ["disc", "square"], "background": ["b0.png", "b1.png"]})
    base = _run(folders, xyxy, tmp_path, "xyxy")
    variants = {
        "xywh": ({"boxes": ["[12, 8, 40, 40]", "[30, 30, 60, 30]"]}, {"box_format": "xywh"}),
        "cxcywh": ({"boxes": ["[32, 28, 40, 40]", "[60, 45, 60, 30]"]},
                   {"box_format": "cxcywh"}),
        "relative": ({"boxes": [f"[{12 / W}, {8 / H}, {52 / W}, {48 / H}]",
                                f"[{30 / W}, {30 / H}, {90 / W}, {60 / H}]"]},
                     {"relative": True}),
        "columns": ({"x1": [12, 30], "y1": [8, 30], "x2": [52, 90], "y2": [48, 60]}, {}),
    }
    for name, (cols, kw) in variants.items():
        df = pd.DataFrame({**cols, "object": ["disc", "square"],
                           "background": ["b0.png", "b1.png"]})
        out = _run(folders, df, tmp_path, name, **kw)
        for i in range(2):
            assert (out / f"images/0000000{i}.png").read_bytes() == (
                base / f"images/0000000{i}.png").read_bytes(), (name, i)


def test_arrow_list_boxes_and_gray_images(tmp_path):
    rng = np.random.default_rng(1)
    _png(rng.integers(0, 90, (H, W), dtype=np.uint8), tmp_path / "bg" / "g.png")
    obj = np.zeros((10, 10, 2), dtype=np.uint8)
    obj[2:8, 2:8] = (250, 255)
    Image.fromarray(obj, "LA").save(tmp_path / "blob.png")
    (tmp_path / "obj").mkdir()
    (tmp_path / "blob.png").rename(tmp_path / "obj" / "blob.png")
    df = pd.DataFrame({"boxes": [[[10.0, 10.0, 30.0, 30.0], [50.0, 40.0, 70.0, 85.0]]]})
    out = _run((tmp_path / "bg", tmp_path / "obj"), df, tmp_path)
    with Image.open(out / "images/00000000.png") as im:
        assert im.mode == "L"  # gray in, gray out
    coco = json.loads((out / "coco.json").read_text())
    assert [a["bbox"] for a in coco["annotations"]] == [[10, 10, 20, 20], [50, 40, 20, 45]]
    assert coco["categories"][0]["name"] == "blob"  # a flat folder: categories by file stem


def test_same_seed_same_files_whatever_the_parts_and_resume(folders, tmp_path):
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 80, 23), rng.uniform(0, 50, 23)
    df = pd.DataFrame({"boxes": [f"[{a:.1f}, {b:.1f}, {a + 30:.1f}, {b + 30:.1f}]"
                                 for a, b in zip(x, y, strict=True)]})
    a = _run(folders, df, tmp_path, "a", images_per_file=4, seed=3)
    b = _run(folders, df, tmp_path, "b", images_per_file=10, seed=3)
    c = _run(folders, df, tmp_path, "c", images_per_file=10, seed=4)
    names = sorted(p.name for p in (a / "images").iterdir())
    assert len(names) == 23
    assert all((a / "images" / n).read_bytes() == (b / "images" / n).read_bytes()
               for n in names)
    assert any((c / "images" / n).read_bytes() != (b / "images" / n).read_bytes()
               for n in names)  # another seed draws other backgrounds and objects
    strip = json.loads((a / "coco.json").read_text())
    assert strip["annotations"] == json.loads((b / "coco.json").read_text())["annotations"]
    # resume: a lost part is rewritten, the others are kept
    (a / "annotations" / "part-000002.parquet").unlink()
    before = (a / "images" / "00000009.png").read_bytes()
    (a / "images" / "00000009.png").unlink()
    table = tmp_path / "a.parquet"
    result = synth.composite(backgrounds=str(folders[0]), objects=str(folders[1]),
                             boxes=str(table), output=str(a), images_per_file=4, seed=3)
    assert result["written"] == 4 and result["images"] == 23
    assert (a / "images" / "00000009.png").read_bytes() == before
    with pytest.raises(ConfigError, match="another compositing run"):
        synth.composite(backgrounds=str(folders[0]), objects=str(folders[1]),
                        boxes=str(table), output=str(a), images_per_file=4, seed=9)
    result = synth.composite(backgrounds=str(folders[0]), objects=str(folders[1]),
                             boxes=str(table), output=str(a), images_per_file=4, seed=9,
                             overwrite=True)
    assert result["written"] == 23


@pytest.mark.parametrize("boxes, objects, match", [
    (["[10, 10, 50, 40]", "[50, 40, 10, 10]"], None, "row 1, box 0.*no width"),
    (["[10, 10, 50, 40]", "[10, 10, 50"], None, "row 1: boxes .* not a list"),
    (["[10, 10, 50]"], None, "3 numbers per box"),
    (["[10, 10, 50, 40]"], ["gear"], "row 0: object 'gear'.*categories: disc, square"),
    (["[[1, 1, 9, 9], [2, 2, 8, 8]]"], ['["disc"]'], "1 objects for 2 boxes"),
])
def test_bad_rows_are_named_before_any_image_is_written(folders, tmp_path, boxes, objects,
                                                        match):
    df = pd.DataFrame({"boxes": boxes, **({"object": objects} if objects else {})})
    with pytest.raises(DataError, match=match):
        _run(folders, df, tmp_path)
    assert not (tmp_path / "out").exists()  # found while reading the table: nothing written


def test_boxes_outside_the_frame_fail_or_are_skipped(folders, tmp_path):
    df = pd.DataFrame({"boxes": ["[[10, 10, 30, 30], [200, 10, 230, 30]]"],
                       "object": "disc"})
    with pytest.raises(DataError, match=r"row 0, box 1.*outside the 120x90 background"):
        _run(folders, df, tmp_path)
    out = _run(folders, df, tmp_path, "skip", invalid="skip")
    coco = json.loads((out / "coco.json").read_text())
    assert len(coco["annotations"]) == 1 and coco["annotations"][0]["bbox"][0] == 10


def test_missing_inputs_say_what_is_wrong(folders, tmp_path):
    df = pd.DataFrame({"where": ["[1, 2, 3, 4]"]})
    with pytest.raises(DataError, match="no column 'boxes' and no x1, y1, x2, y2"):
        _run(folders, df, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images .* in the objects folder"):
        synth.composite(backgrounds=str(folders[0]), objects=str(empty), boxes="x.csv",
                        output=str(tmp_path / "o"))
    clear = np.zeros((8, 8, 4), dtype=np.uint8)
    _png(clear, tmp_path / "ghost" / "g.png")
    with pytest.raises(DataError, match="fully transparent"):
        _run((folders[0], tmp_path / "ghost"), pd.DataFrame({"boxes": ["[1, 1, 5, 5]"]}),
             tmp_path)
    with pytest.raises(ConfigError, match="box_format must be one of"):
        synth.composite(backgrounds="a", objects="b", boxes="c", output="d", box_format="yxyx")
    with pytest.raises(ConfigError, match="output is a prefix"):
        synth.composite(backgrounds="a", objects="b", boxes="c", output="d.parquet")


def test_png_bytes_are_images(folders, tmp_path):
    out = _run(folders, BOXES.head(1), tmp_path)
    with Image.open(io.BytesIO((out / "images/00000000.png").read_bytes())) as im:
        assert im.size == (W, H) and im.mode == "RGB"
