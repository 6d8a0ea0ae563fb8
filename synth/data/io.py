"""Tables and bytes on a local path or s3:// (pyarrow filesystems). The S3 endpoint, region and
credentials come from the standard AWS environment variables / instance profile, so a local
S3-compatible server (AWS_ENDPOINT_URL=http://127.0.0.1:PORT) works unchanged."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from synth.errors import DataError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq", ".tsv")


def is_s3(uri: str) -> bool:
    return str(uri).startswith("s3://")


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or an s3://bucket/key URI."""
    uri = str(uri)
    if not is_s3(uri):
        return pafs.LocalFileSystem(), str(Path(uri).expanduser().absolute())
    parsed = urlparse(uri)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    kwargs: dict = {"region": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
                    or "us-east-1"}
    if endpoint:
        ep = urlparse(endpoint)
        kwargs.update(endpoint_override=ep.netloc or ep.path, scheme=ep.scheme or "https")
    return pafs.S3FileSystem(**kwargs), f"{parsed.netloc}{parsed.path}".rstrip("/")


def join(base: str, *parts: str) -> str:
    return "/".join([str(base).rstrip("/"), *[p.strip("/") for p in parts]])


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def fingerprint(uri: str) -> str:
    """A digest of a file's or a folder's/prefix's (recursive) names, sizes and modification
    times: it changes when the data changes, without reading the data."""
    import hashlib

    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{uri}: no such file or prefix")
    infos = [info] if info.type == pafs.FileType.File else sorted(
        fs.get_file_info(pafs.FileSelector(path, recursive=True)), key=lambda i: i.path)
    h = hashlib.sha256()
    for i in infos:
        stamp = i.mtime.timestamp() if i.mtime is not None else ""
        h.update(f"{i.path[len(path):]}|{i.size}|{stamp}\n".encode())
    return h.hexdigest()[:16]


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    try:
        with fs.open_input_stream(path, compression=None) as f:
            return f.read()
    except (FileNotFoundError, OSError) as exc:
        raise FileNotFoundError(f"{uri}: no such file ({exc})") from None


def write_bytes(uri: str, data: bytes) -> None:
    fs, path = filesystem(uri)
    parent = path.rsplit("/", 1)[0]
    if parent and not is_s3(uri):
        fs.create_dir(parent, recursive=True)
    with fs.open_output_stream(path, compression=None) as f:
        f.write(data)


def list_dir(uri: str) -> list[str]:
    """Names (not paths) directly under a directory/prefix; [] when it does not exist."""
    fs, path = filesystem(uri)
    selector = pafs.FileSelector(path, allow_not_found=True)
    return sorted(info.base_name for info in fs.get_file_info(selector))


def read_table(uri: str) -> pd.DataFrame:
    """CSV (optionally gzip) or Parquet, one file or a directory/prefix of Parquet files."""
    uri = str(uri)
    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"data file {uri!r} does not exist; check the path (local or s3://)")
    try:
        if info.type == pafs.FileType.Directory or uri.endswith((".parquet", ".pq")):
            return pq.read_table(path, filesystem=fs).to_pandas()
        if uri.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
            return pd.read_csv(io.BytesIO(read_bytes(uri)),
                               compression="gzip" if uri.endswith(".gz") else None,
                               sep="\t" if uri.endswith(".tsv") else ",")
    except (pa.ArrowInvalid, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read {uri!r}: {exc}") from None
    raise DataError(f"unsupported data file {uri!r}: use one of {', '.join(TABLE_SUFFIXES)}")


def write_table(df: pd.DataFrame, uri: str) -> None:
    """Write CSV or Parquet by the suffix of `uri` (local or s3://)."""
    uri = str(uri)
    buf = io.BytesIO()
    if uri.endswith((".parquet", ".pq")):
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    elif uri.endswith(".csv"):
        df.to_csv(buf, index=False)
    else:
        raise DataError(f"unsupported output {uri!r}: end it in .csv or .parquet")
    write_bytes(uri, buf.getvalue())


def write_arrow(table: pa.Table, uri: str) -> None:
    """Write an Arrow table as CSV or Parquet by the suffix of `uri` (local or s3://)."""
    from pyarrow import csv

    uri = str(uri)
    buf = io.BytesIO()
    if uri.endswith((".parquet", ".pq")):
        pq.write_table(table, buf)
    elif uri.endswith(".csv"):
        csv.write_csv(table, buf)
    else:
        raise DataError(f"unsupported output {uri!r}: end it in .csv or .parquet")
    write_bytes(uri, buf.getvalue())
