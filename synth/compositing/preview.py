"""`preview.png`: the first images of a run, their annotations drawn on top, in one grid; what
a person opens to see that the boxes sit on the objects."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from synth.data.io import filesystem, join, read_bytes, write_bytes

TILE = 426  # width of one image in the grid
COLUMNS = 3
OUTLINE = (0, 230, 0)


def write_preview(output: str, part: str, count: int = 6) -> None:
    """Draw the first `count` images of annotation part `part` (a name under `output`)."""
    from PIL import Image, ImageDraw

    fs, path = filesystem(join(output, part))
    records = pq.read_table(path, filesystem=fs).to_pylist()
    ids = list(dict.fromkeys(r["image_id"] for r in records))[:count]
    tiles = []
    for image_id in ids:
        recs = [r for r in records if r["image_id"] == image_id]
        with Image.open(io.BytesIO(read_bytes(join(output, recs[0]["file_name"])))) as im:
            img = im.convert("RGB")
        draw = ImageDraw.Draw(img)
        for r in recs:
            if r["bbox"] is not None:
                x, y, w, h = r["bbox"]
                draw.rectangle([x - 2, y - 2, x + w + 1, y + h + 1], outline=OUTLINE, width=2)
        scale = TILE / img.width
        tiles.append(img.resize((TILE, max(1, round(img.height * scale))),
                                Image.Resampling.LANCZOS))
    rows = -(-len(tiles) // COLUMNS)
    height = max(t.height for t in tiles)
    grid = Image.new("RGB", (TILE * min(COLUMNS, len(tiles)), height * rows), (255, 255, 255))
    for i, tile in enumerate(tiles):
        grid.paste(tile, ((i % COLUMNS) * TILE, (i // COLUMNS) * height))
    buf = io.BytesIO()
    grid.save(buf, format="PNG", optimize=True)
    write_bytes(join(output, "preview.png"), buf.getvalue())


