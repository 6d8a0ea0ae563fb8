"""Part files of a streaming sample: names, row counts read back, encodings, and writes that
land whole (a local temporary dot-file renamed into place; one PUT on S3, which is atomic)."""

from __future__ import annotations

import io as pyio
import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import csv

from synth.data.io import filesystem, is_s3, write_bytes

FORMATS = ("parquet", "csv", "jsonl")


def part_name(index: int, fmt: str = "parquet") -> str:
    return f"part-{index:06d}.{fmt}"


def file_rows(uri: str, schema: Any) -> int | None:
    """Rows in a part file (Parquet: its footer; CSV: a streaming count with every column read
    as text; JSON lines: its lines); None when it is missing or unreadable."""
    fs, path = filesystem(uri)
    try:
        if uri.endswith(".jsonl"):  # one object per line
            with fs.open_input_stream(path) as f:
                return f.read().count(b"\n")
        if not uri.endswith(".csv"):
            with fs.open_input_file(path) as f:
                return pq.ParquetFile(f).metadata.num_rows
        text = csv.ConvertOptions(column_types={name: pa.string() for name in schema.names})
        with fs.open_input_stream(path) as f:
            return sum(batch.num_rows for batch in csv.open_csv(f, convert_options=text))
    except (OSError, ValueError):
        return None


def encode_file(df: Any, model: Any, fmt: str) -> bytes:
    """Parquet: the model's typed Arrow table; CSV: the training formats (dates as they were
    written); JSON lines: one object per row (nested values as JSON, times in ISO 8601)."""
    if fmt == "csv":
        return df.to_csv(index=False).encode()
    if fmt == "jsonl":
        text = df.to_json(orient="records", lines=True, date_format="iso", double_precision=15)
        return (text.rstrip("\n") + "\n").encode() if len(df) else b""
    return encode_parquet(model.to_arrow(df))


def encode_parquet(table: Any) -> bytes:
    buf = pyio.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_file(data: bytes, uri: str) -> None:
    """The whole file or nothing: a local temp file renamed into place, one PUT on S3."""
    if is_s3(uri):
        write_bytes(uri, data)
        return
    head, name = os.path.split(uri)
    tmp = os.path.join(head, f".{name}.tmp-{os.getpid()}")  # readers skip dot files
    write_bytes(tmp, data)
    os.replace(tmp, uri)
