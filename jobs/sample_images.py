"""The image side of the streaming sample job: part i of an image model's output is its PNG
files under `_images/` (named by global image id, so ids are unique and a rerun overwrites the
same names) plus `part-NNNNNN.parquet`, the part's manifest (image_id, file, attributes),
written after its images: a part whose manifest holds the expected rows is complete. The
leading underscore keeps Parquet dataset readers (pyarrow, pandas, Spark) from listing the PNGs
when they read the prefix: `pd.read_parquet(prefix)` is the manifest of every image."""

from __future__ import annotations

from typing import Any

import pandas as pd

from synth.errors import ConfigError

IMAGES_DIR = "_images"


def is_image(model: Any) -> bool:
    return getattr(model, "kind", "table") == "image"


def columns(model: Any) -> list[str]:
    return model.labels.attributes if is_image(model) else list(model.transformer.codecs)


def schema(model: Any) -> Any:
    """The Arrow schema of an image model's part manifests."""
    import pyarrow as pa

    fields = [pa.field("image_id", pa.int64()), pa.field("file", pa.string())]
    for attribute, values in model.labels.values.items():
        kind = pa.array([v for v in values if v is not None]).type
        fields.append(pa.field(attribute, kind))
    return pa.schema(fields)


def check(model: Any, plan: Any, seed: int, fmt: str) -> None:
    if fmt != "parquet":
        raise ConfigError("an image model writes PNG files with Parquet manifests: drop "
                          "--format csv")
    if plan.table is not None:
        model.sample(len(plan.table.head(64)), conditions=plan.table.head(64), seed=seed)
        model._condition_rows(plan.table, len(plan.table))  # every row's values checked
        return
    for conds in plan.groups[:64]:
        model.sample(1, conditions=conds, seed=seed)


def write_part(model: Any, plan: Any, part: Any, seed: int, output: str) -> None:
    """The part's PNGs, then its manifest."""
    import pyarrow as pa

    from jobs.sample_stream import encode_parquet, part_name, write_file
    from synth.data.io import join

    sample = model.sample(part.rows, conditions=plan.conditions_of(part), seed=seed)
    ids = range(part.first, part.first + part.rows)
    files = [f"{IMAGES_DIR}/{i:012d}.png" for i in ids]
    for j, name in enumerate(files):
        write_file(sample.png(j), join(output, name))
    manifest = pd.DataFrame({"image_id": list(ids), "file": files})
    manifest = pd.concat([manifest, sample.labels.reset_index(drop=True)], axis=1)
    table = pa.Table.from_pandas(manifest, schema=schema(model), preserve_index=False)
    write_file(encode_parquet(table), join(output, part_name(part.index, "parquet")))
