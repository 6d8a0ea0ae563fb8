"""Tables and bytes on a local path or s3:// (pyarrow filesystems). The S3 endpoint, region and
credentials come from the standard AWS environment variables / instance profile, so a local
S3-compatible server (AWS_ENDPOINT_URL=http://127.0.0.1:PORT) works unchanged."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from synth.errors import DataError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq", ".tsv")


def is_s3(uri: str) -> bool:
    return str(uri).startswith("s3://")


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _s3_client() -> Any:
    """A boto3 S3 client for what pyarrow's filesystem cannot do (conditional puts, ETags),
    on the same endpoint, region and credential chain."""
    import boto3

    return boto3.client("s3", endpoint_url=_endpoint(), region_name=_region())


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or an s3://bucket/key URI."""
    uri = str(uri)
    if not is_s3(uri):
        return pafs.LocalFileSystem(), str(Path(uri).expanduser().absolute())
    parsed = urlparse(uri)
    endpoint = _endpoint()
    kwargs: dict = {"region": _region()}
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
    """A digest of a file's or a folder's/prefix's (recursive) contents: local files are
    hashed (streamed), S3 objects contribute their ETag (a content hash S3 keeps) and size,
    so an edit that keeps the size and the modification time is still seen."""
    import hashlib

    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{uri}: no such file or prefix")
    h = hashlib.sha256()
    if is_s3(uri):
        for key, etag, size in _s3_objects(uri):
            h.update(f"{key}|{etag}|{size}\n".encode())
        return h.hexdigest()[:16]
    infos = [info] if info.type == pafs.FileType.File else sorted(
        (i for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
         if i.type == pafs.FileType.File), key=lambda i: i.path)
    for i in infos:
        h.update(f"{i.path[len(path):]}|{i.size}\n".encode())
        with open(i.path, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()[:16]


def _s3_objects(uri: str) -> list[tuple[str, str, int]]:
    """(key relative to uri, ETag, size) of the object or every object under the prefix."""
    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    client = _s3_client()
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for obj in page.get("Contents", []):
            name = obj["Key"]
            if name == key or name.startswith(key.rstrip("/") + "/"):
                out.append((name[len(key):], obj["ETag"], obj["Size"]))
    return sorted(out)


def read_bytes(uri: str) -> bytes:
    """The file's bytes. FileNotFoundError only when it does not exist: any other OSError
    (throttling, AccessDenied, a network fault) propagates as itself, so a caller never takes
    a transient failure for a missing file."""
    fs, path = filesystem(uri)
    try:
        with fs.open_input_stream(path, compression=None) as f:
            return f.read()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{uri}: no such file ({exc})") from None
    except IsADirectoryError:
        raise FileNotFoundError(f"{uri}: a directory, not a file") from None


def write_bytes(uri: str, data: bytes) -> None:
    fs, path = filesystem(uri)
    parent = path.rsplit("/", 1)[0]
    if parent and not is_s3(uri):
        fs.create_dir(parent, recursive=True)
    with fs.open_output_stream(path, compression=None) as f:
        f.write(data)


def delete(uri: str) -> None:
    """Remove one file; nothing when it does not exist."""
    fs, path = filesystem(uri)
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)


def create_exclusive(uri: str, data: bytes = b"") -> bool:
    """Create a file only if it does not exist yet, atomically (local: O_EXCL; S3: a
    conditional PUT with If-None-Match: *). False when it already existed."""
    if not is_s3(uri):
        fs, path = filesystem(uri)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "xb") as f:
                f.write(data)
        except FileExistsError:
            return False
        return True
    from botocore.exceptions import ClientError

    parsed = urlparse(uri)
    try:
        _s3_client().put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=data,
                          IfNoneMatch="*")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed",
                                                          "ConditionalRequestConflict"):
            return False
        raise
    return True


def list_dir(uri: str) -> list[str]:
    """Names (not paths) directly under a directory/prefix; [] when it does not exist."""
    fs, path = filesystem(uri)
    selector = pafs.FileSelector(path, allow_not_found=True)
    return sorted(info.base_name for info in fs.get_file_info(selector))


def list_tree(uri: str) -> list[str]:
    """Paths of the files under a directory/prefix, relative to it ([] when it does not
    exist); on S3 one paginated listing."""
    fs, path = filesystem(uri)
    selector = pafs.FileSelector(path, allow_not_found=True, recursive=True)
    base = path.rstrip("/") + "/"
    return sorted(i.path[len(base):] for i in fs.get_file_info(selector)
                  if i.type == pafs.FileType.File and i.path.startswith(base))


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
            raw, sep = read_bytes(uri), "\t" if uri.endswith(".tsv") else ","
            gz = "gzip" if uri.endswith(".gz") else None
            _check_header(pd.read_csv(io.BytesIO(raw), compression=gz, sep=sep, header=None,
                                      nrows=1, dtype=str), uri)
            return pd.read_csv(io.BytesIO(raw), compression=gz, sep=sep)
    except (pa.ArrowInvalid, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read {uri!r}: {exc}") from None
    raise DataError(f"unsupported data file {uri!r}: use one of {', '.join(TABLE_SUFFIXES)}")


def _check_header(first: pd.DataFrame, uri: str) -> None:
    """pandas renames a repeated header silently (a, a.1): refuse it, naming the column."""
    names = [str(v) for v in first.iloc[0].tolist()] if len(first) else []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{uri!r}: column {name!r} appears more than once in the header; "
                            "rename the repeats (pandas would silently call them "
                            f"{name!r}.1, ...)")
        seen.add(name)


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
