"""Draws the compositing example's images (the project's own, public domain) and its boxes
table, then composites them:

    python examples/compositing/make.py            # writes backgrounds/, objects/, boxes.csv
    synth composite --backgrounds examples/compositing/backgrounds \\
        --objects examples/compositing/objects --boxes examples/compositing/boxes.csv \\
        --output runs/composite

Backgrounds are 640x480 scenes (the telemetry example's camera frame); objects are shapes in
four categories on transparent ground, drawn at 4x and reduced so their edges are soft. The
boxes are the `boxes` column of examples/telemetry/telemetry.csv (its camera detections), with
the object category taken from the reading's status."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = (640, 480)
SCALE = 4  # objects are drawn this much larger, then reduced (anti-aliased edges)
COLOURS = {"bolt": (200, 60, 40), "nut": (40, 90, 200), "washer": (230, 190, 40),
           "crack": (20, 20, 20)}
CATEGORY_OF_STATUS = {"warn": "nut", "fail": "crack"}  # ok: any category (a seeded draw)


def background(kind: int, rng: np.random.Generator) -> Image.Image:
    w, h = SIZE
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    top, bottom = rng.integers(60, 200, 3), rng.integers(60, 200, 3)
    img = top * (1 - y) + bottom * y + 0 * x
    if kind % 2:  # a floor of tiles
        tiles = ((np.arange(w)[None, :] // 40 + np.arange(h)[:, None] // 40) % 2)[..., None]
        img = img * (0.85 + 0.15 * tiles)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for _ in range(4):  # a few shelves / pipes
        x0, y0 = int(rng.integers(0, w - 200)), int(rng.integers(0, h - 40))
        draw.rectangle([x0, y0, x0 + int(rng.integers(80, 200)), y0 + 12],
                       fill=tuple(int(v) for v in rng.integers(90, 160, 3)))
    return out.filter(ImageFilter.GaussianBlur(1))


def shape(category: int, name: str, variant: int) -> Image.Image:
    side = 64 * SCALE
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    colour = tuple(min(255, c + 30 * variant) for c in COLOURS[name]) + (255,)
    pad = 6 * SCALE
    if name == "bolt":  # a hexagon head on a shaft
        draw.rectangle([side * 0.42, side * 0.35, side * 0.58, side - pad], fill=colour)
        cx, cy, r = side / 2, side * 0.3, side * 0.22
        draw.polygon([(cx + r * np.cos(a), cy + r * np.sin(a))
                      for a in np.arange(6) * np.pi / 3], fill=colour)
    elif name == "nut":  # a hexagon with a hole
        cx = cy = side / 2
        r = side / 2 - pad
        draw.polygon([(cx + r * np.cos(a), cy + r * np.sin(a))
                      for a in np.arange(6) * np.pi / 3 + np.pi / 6], fill=colour)
        draw.ellipse([cx - r / 2.5, cy - r / 2.5, cx + r / 2.5, cy + r / 2.5], fill=(0, 0, 0, 0))
    elif name == "washer":  # a ring
        draw.ellipse([pad, pad, side - pad, side - pad], fill=colour)
        draw.ellipse([side * 0.35, side * 0.35, side * 0.65, side * 0.65], fill=(0, 0, 0, 0))
    else:  # a crack: a jagged line
        pts = [(pad + i * (side - 2 * pad) / 6, side / 2 + (-1) ** i * side * 0.12 * (1 + variant))
               for i in range(7)]
        draw.line(pts, fill=colour, width=5 * SCALE, joint="curve")
    return img.resize((side // SCALE, side // SCALE), Image.Resampling.LANCZOS)


def boxes_table(images: int = 200) -> pd.DataFrame:
    """One image per 1-3 consecutive readings: their boxes as a list of lists, and one object
    per box ("" lets the compositor draw any category)."""
    tele = pd.read_csv(HERE.parent / "telemetry" / "telemetry.csv", usecols=["status", "boxes"])
    counts = np.random.default_rng(3).integers(1, 4, images)
    rows, start = [], 0
    for n in counts:
        part = tele.iloc[start:start + n]
        start += n
        objects = [CATEGORY_OF_STATUS.get(s, "") for s in part["status"]]
        rows.append({"boxes": "[" + ", ".join(part["boxes"]) + "]",
                     "object": json.dumps(objects)})
    return pd.DataFrame(rows)


def main() -> None:
    rng = np.random.default_rng(7)
    (HERE / "backgrounds").mkdir(exist_ok=True)
    for k in range(4):
        background(k, rng).save(HERE / "backgrounds" / f"scene-{k}.png", optimize=True)
    for c, name in enumerate(COLOURS):
        folder = HERE / "objects" / name
        folder.mkdir(parents=True, exist_ok=True)
        for v in range(2):
            shape(c, name, v).save(folder / f"{name}-{v}.png", optimize=True)
    boxes_table().to_csv(HERE / "boxes.csv", index=False)
    print(f"wrote {HERE}/backgrounds, objects and boxes.csv")


if __name__ == "__main__":
    main()
