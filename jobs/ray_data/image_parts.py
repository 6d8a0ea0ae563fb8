"""The image side of the streaming sample job: part i of an image model's output is its PNG
files under `_images/` (named by global image id, so ids are unique and a rerun overwrites the
same names) plus `part-NNNNNN.parquet`, the part's manifest (image_id, file, attributes),
written after its images: a part whose manifest holds the expected rows is complete. The
leading underscore keeps Parquet dataset readers (pyarrow, pandas, Spark) from listing the PNGs
when they read the prefix: `pd.read_parquet(prefix)` is the manifest of every image."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from jobs.ray_data.files import encode_parquet, part_name, write_file
from jobs.ray_data.plan import Part, SamplePlan
from synth.data.io import join
from synth.errors import ConfigError

IMAGES_DIR = "_images"


def schema(model: Any) -> pa.Schema:
    """The Arrow schema of an image model's part manifests."""
    fields = [pa.field("image_id", pa.int64()), pa.field("file", pa.string())]
    for attribute, values in model.labels.values.items():
        kind = pa.array([v for v in values if v is not None]).type
        fields.append(pa.field(attribute, kind))
    return pa.schema(fields)


def check_format(fmt: str) -> None:
    if fmt != "parquet":
        raise ConfigError("an image model writes PNG files with Parquet manifests: drop "
                          f"--format {fmt}")


def write_part(model: Any, plan: SamplePlan, part: Part, seed: int, output: str) -> None:
    """The part's PNGs, then its manifest."""
    sample = model.sample(**plan.sample_args(part, seed))
    ids = range(part.first, part.first + part.rows)
    files = [f"{IMAGES_DIR}/{i:012d}.png" for i in ids]
    for j, name in enumerate(files):
        write_file(sample.png(j), join(output, name))
    manifest = pd.DataFrame({"image_id": list(ids), "file": files})
    manifest = pd.concat([manifest, sample.labels.reset_index(drop=True)], axis=1)
    table = pa.Table.from_pandas(manifest, schema=schema(model), preserve_index=False)
    write_file(encode_parquet(table), join(output, part_name(part.index, "parquet")))
