"""Rows to monitor, block by block, in this process: a DataFrame, or a CSV/Parquet file or a
Parquet prefix (local or s3://). Parquet streams in record batches, so memory stays flat; a
CSV file is read whole (the Ray job, jobs/monitor.py, streams both)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from synth.data.io import filesystem, read_table
from synth.errors import DataError

BATCH_ROWS = 262_144


def blocks(data: pd.DataFrame | str, batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """DataFrame slices or Arrow record batches as tables."""
    if isinstance(data, pd.DataFrame):
        for start in range(0, max(len(data), 1), batch_rows):
            yield data.iloc[start:start + batch_rows]
        return
    uri = str(data)
    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"data {uri!r} does not exist; check the path (local or s3://)")
    if info.type == pafs.FileType.Directory or uri.endswith((".parquet", ".pq")):
        dataset = pads.dataset(path, filesystem=fs, format="parquet")
        for batch in dataset.to_batches(batch_size=batch_rows):
            yield pa.Table.from_batches([batch])
        return
    yield from blocks(read_table(uri), batch_rows)


def first_block(data: pd.DataFrame | str, rows: int = 10_000) -> pd.DataFrame:
    """The first rows as a DataFrame (what column kinds are detected from)."""
    for block in blocks(data, rows):
        return block if isinstance(block, pd.DataFrame) else block.to_pandas()
    raise DataError(f"data {data!r} has no rows")
