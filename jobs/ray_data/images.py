"""Image data sets as Ray Datasets that the training workers decode themselves, so the driver
never holds the images: a Parquet-of-PNG file or prefix (one binary column of encoded images,
the other columns labels; `image_id` and `file` are not labels) or a folder of image files
(one subfolder per class, as `synth.data.images` reads it), local or s3://.

The driver reads only what the model's set-up needs: the first image (its channel count, read
straight from the first file, with no Ray Data pass) and, for a conditional model, the counts
of the attribute combinations (counted per block by the Ray Data workers, summed here: one row
per combination and block). Everything else happens in
`decode_batch` on the workers: PNG -> the model's channels -> center crop and resize to the
model size -> [-1, 1] float32, plus the attribute codes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.data.images import IMAGE_SUFFIXES, NOT_LABELS, decode_png, fit_size, to_unit
from synth.data.io import filesystem, is_s3
from synth.errors import DataError
from synth.models.images.labels import COUNT, LabelCodec

CLASS = "class"  # the label of a folder's class subfolders
DECODE_BATCH = 256


@dataclass(frozen=True)
class ImageSource:
    """An undecoded image data set: rows of `column` (encoded bytes) and `labels`; `first`
    reads the encoded bytes of its first image (None when it has none)."""

    dataset: Any  # ray.data.Dataset
    column: str
    labels: list[str]
    first: Callable[[], bytes | None]


def streams(uri: str) -> bool:
    """Whether the train job streams this image data to its workers: a Parquet file or
    prefix, or a folder (NPZ and CSV are single files the driver loads)."""
    import pyarrow.fs as pafs

    if uri.endswith((".parquet", ".pq")):
        return True
    fs, path = filesystem(uri)
    return fs.get_file_info(path).type == pafs.FileType.Directory


def open_source(uri: str) -> ImageSource:
    import pyarrow.fs as pafs

    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"image data {uri!r} does not exist; check the path (local or s3://)")
    if info.type == pafs.FileType.File:  # one Parquet file
        return _parquet_source(fs, path, uri, [path])
    root = path.rstrip("/") + "/"
    files = [i.path[len(root):] for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
             if i.type == pafs.FileType.File]  # relative to the folder; one listing for both
    parquet = sorted(root + f for f in files if f.endswith((".parquet", ".pq"))
                     and not f.startswith("_") and "/_" not in f)
    if parquet:
        return _parquet_source(fs, path, uri, parquet)
    images = sorted(f for f in files if f.lower().endswith(IMAGE_SUFFIXES))
    if not images:
        raise DataError(f"image data {uri!r} is empty: no Parquet or image "
                        f"({', '.join(IMAGE_SUFFIXES)}) files in the folder")
    nested = any("/" in f for f in images)
    return _folder_source(fs, root, nested, images[0])


def _parquet_source(fs: Any, path: str, uri: str, files: list[str]) -> ImageSource:
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq
    import ray.data

    schema = pads.dataset(path, filesystem=fs, format="parquet").schema
    binary = [f.name for f in schema if pa.types.is_binary(f.type)
              or pa.types.is_large_binary(f.type)]
    if not binary:
        raise DataError(f"{uri}: no binary (PNG) column; columns: {', '.join(schema.names)}")
    labels = [n for n in schema.names if n != binary[0] and n not in NOT_LABELS]
    ds = ray.data.read_parquet(path, filesystem=fs, columns=[binary[0], *labels],
                               override_num_blocks=len(files))

    def first() -> bytes | None:  # one row of one file (a dataset's head reads ahead)
        for name in files:
            with fs.open_input_file(name) as f:
                for batch in pq.ParquetFile(f).iter_batches(batch_size=1, columns=[binary[0]]):
                    if batch.num_rows:
                        return bytes(batch.column(0)[0].as_py())
        return None

    return ImageSource(ds, binary[0], labels, first)


def _folder_source(fs: Any, root: str, nested: bool, first: str) -> ImageSource:
    """Image files under `root` (ending in "/"), `first` the name of one of them; with
    `nested` (images in subfolders) those in a subfolder are labelled `class` with its name
    (files at the top then have no class, which a conditional model refuses as a missing
    value)."""
    import ray.data

    ds = ray.data.read_binary_files(root, filesystem=fs, include_paths=True,
                                    file_extensions=[s.lstrip(".") for s in IMAGE_SUFFIXES])

    def label(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rel = [str(p)[len(root):] if str(p).startswith(root) else str(p) for p in batch["path"]]
        out = {"bytes": batch["bytes"]}
        if nested:
            out[CLASS] = np.array([r.split("/")[0] if "/" in r else None for r in rel],
                                  dtype=object)
        return out

    def read_first() -> bytes | None:
        with fs.open_input_stream(root + first) as f:
            return f.read()

    return ImageSource(ds.map_batches(label, batch_format="numpy"), "bytes",
                       [CLASS] if nested else [], read_first)


def count_labels(source: ImageSource, attributes: list[str]) -> LabelCodec:
    """The attributes' codec from their combinations, counted per block on the workers."""
    if not attributes:
        return LabelCodec(counts=np.array([float(source.dataset.count())]))

    def counts(batch: pd.DataFrame) -> pd.DataFrame:
        return batch.value_counts(dropna=False, sort=False).reset_index(name=COUNT)

    table = source.dataset.select_columns(attributes).map_batches(
        counts, batch_format="pandas", batch_size=None).to_pandas()
    return LabelCodec.fit_counts(table, attributes)


def first_channels(source: ImageSource) -> int:
    data = source.first()
    if data is None:
        raise DataError("the image data set is empty")
    image = decode_png(data)
    return 3 if image.ndim == 3 else 1


def decode_batch(batch: dict[str, np.ndarray], column: str, size: int, channels: int,
                 labels: dict[str, Any]) -> dict[str, np.ndarray]:
    """Encoded images (and their labels) -> {"image": float32 N x C x S x S in [-1, 1]} and,
    for a conditional model, {"codes": int64 N x attributes}."""
    import torch

    images = [_channels(decode_png(bytes(b)), channels) for b in batch[column]]
    x = torch.cat([fit_size(to_unit(im[None]), size) for im in images])
    out = {"image": x.numpy().astype(np.float32, copy=False)}
    codec = LabelCodec.from_json(labels)
    if codec.attributes:
        frame = pd.DataFrame({a: batch[a] for a in codec.attributes})
        out["codes"] = codec.encode(frame)
    return out


def _channels(image: np.ndarray, channels: int) -> np.ndarray:
    """An image with the model's channel count (grey to colour by repeating, colour to grey
    by the luma weights PIL uses)."""
    if channels == 3 and image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if channels == 1 and image.ndim == 3:
        luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    return image


def image_dataset(uri: str, model: Any) -> tuple[Any, dict[str, Any]]:
    """(a dataset of decoded rows for Ray Train, what the training record says of the data);
    prepares `model` (channels, attribute codec) without loading the images here."""
    source = open_source(uri)
    channels = first_channels(source)
    model.prepare_from(channels, count_labels(source, model.attributes_of(source.labels)))
    kwargs = {"column": source.column, "size": model.config.image_size, "channels": channels,
              "labels": model.labels.to_json()}
    ds = source.dataset.map_batches(decode_batch, fn_kwargs=kwargs, batch_format="numpy",
                                    batch_size=DECODE_BATCH)
    info = {"uri": uri, "images": int(model.labels.counts.sum()), "streamed": True,
            "s3": is_s3(uri)}
    return ds, info
