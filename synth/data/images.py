"""Image data sets: loaded from a folder of PNG/JPEG files (optionally one subfolder per class),
a CSV of flattened arrays (`image_id, image_data, <attributes...>`), an NPZ (`images` +
label arrays) or a Parquet table (file or prefix) with a binary PNG column; local or s3://.
(The train job on Ray streams Parquet and folders to its workers instead:
jobs.ray_data.images.) Every image is
resized/cropped to the model size and scaled to [-1, 1] as float32 N x C x S x S."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import torch
import torch.nn.functional as F

from synth.data import io as sio
from synth.data.io import join, list_dir, read_bytes
from synth.data.png import encode_png  # noqa: F401 - its home for torch-free callers
from synth.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
NOT_LABELS = ("image_id", "file")  # columns of an image table (or manifest) that are no labels


@dataclass
class ImageData:
    images: torch.Tensor  # float32, N x C x S x S, in [-1, 1]
    labels: pd.DataFrame  # one row per image (may have no columns)

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} label rows")
        if len(self.images) == 0:
            raise DataError("the image data set is empty")

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])


def to_unit(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 N x H x W (x C) -> float32 N x C x H x W in [-1, 1]."""
    x = torch.as_tensor(np.asarray(images))
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"images must be N x H x W or N x H x W x C with C in (1, 3), got "
                        f"shape {tuple(np.shape(images))}")
    return x.float().div(127.5).sub(1.0).contiguous()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float N x C x H x W in [-1, 1] -> uint8 N x H x W x C."""
    x = images.detach().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def fit_size(images: torch.Tensor, size: int) -> torch.Tensor:
    """Center-crop to a square, then resize (area when shrinking, bilinear when growing)."""
    h, w = images.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = images[..., top:top + side, left:left + side]
    if side == size:
        return x.contiguous()
    mode = "area" if side > size else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=(size, size), mode=mode, **kwargs).clamp(-1, 1)


def crops(image: np.ndarray, size: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` random size x size crops of one large H x W image (e.g. a texture photo)."""
    h, w = image.shape[:2]
    if h < size or w < size:
        raise DataError(f"cannot cut {size}x{size} crops from a {h}x{w} image")
    rng = np.random.default_rng(seed)
    tops, lefts = rng.integers(0, h - size + 1, count), rng.integers(0, w - size + 1, count)
    return np.stack([image[t:t + size, left:left + size] for t, left in zip(tops, lefts,
                                                                          strict=True)])


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.array(im.convert("L") if im.mode in ("L", "I", "I;16", "1", "P")
                            else im.convert("RGB"))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file
        raise DataError(f"not a readable image: {exc}") from None


def stack(images: list[np.ndarray], size: int | None, where: str) -> torch.Tensor:
    """Images of possibly different sizes -> one tensor at `size` (default: the common size)."""
    if not images:
        raise DataError(f"no images in {where}")
    channels = {3 if im.ndim == 3 else 1 for im in images}
    tensors = [to_unit(im[None]) for im in images]
    if len(channels) > 1:  # mixed gray and colour: make all colour
        tensors = [t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t for t in tensors]
    shapes = {tuple(t.shape[-2:]) for t in tensors}
    if size is None:
        if len(shapes) > 1:
            raise DataError(f"images in {where} have different sizes {sorted(shapes)[:4]}; set "
                            "the model's image_size so they can be resized to one")
        return torch.cat(tensors)
    return torch.cat([fit_size(t, size) for t in tensors])


def load_images(uri: str, size: int | None = None, label_columns: list[str] | None = None
                ) -> ImageData:
    """Load an image data set by its form: a folder, .csv, .npz or .parquet."""
    uri = str(uri)
    fs, path = sio.filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"image data {uri!r} does not exist; check the path (local or s3://)")
    if info.type == pafs.FileType.Directory:
        return _from_folder(uri, size)
    raw = sio.read_bytes(uri)
    if uri.endswith(".npz"):
        return _from_npz(raw, size, uri, label_columns)
    if uri.endswith((".csv", ".csv.gz")):
        return _from_csv(raw, size, uri, compressed=uri.endswith(".gz"))
    if uri.endswith((".parquet", ".pq")):
        return _from_parquet(raw, size, uri)
    raise DataError(f"unsupported image data {uri!r}: a folder, .npz, .csv or .parquet")


def _from_folder(uri: str, size: int | None) -> ImageData:
    images, classes = [], []
    names = list_dir(uri)
    parquet = sorted(n for n in names if n.endswith((".parquet", ".pq")))
    if parquet:  # a Parquet-of-PNG prefix
        parts = [_from_parquet(read_bytes(join(uri, n)), size, join(uri, n)) for n in parquet]
        if size is None and len({p.images.shape[1:] for p in parts}) > 1:
            raise DataError(f"images in {uri} have different sizes; set the model's "
                            "image_size so they can be resized to one")
        return ImageData(torch.cat([p.images for p in parts]),
                         pd.concat([p.labels for p in parts], ignore_index=True))
    files = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
    subfolders = [n for n in names if "." not in n and list_dir(join(uri, n))]
    for name in files:
        images.append(decode_png(read_bytes(join(uri, name))))
        classes.append(None)
    for folder in subfolders:
        for name in list_dir(join(uri, folder)):
            if name.lower().endswith(IMAGE_SUFFIXES):
                images.append(decode_png(read_bytes(join(uri, folder, name))))
                classes.append(folder)
    labels = pd.DataFrame({"class": classes}) if subfolders else pd.DataFrame(index=range(
        len(images)))
    return ImageData(stack(images, size, uri), labels.reset_index(drop=True))


def _from_npz(raw: bytes, size: int | None, uri: str, label_columns: list[str] | None
              ) -> ImageData:
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        keys = list(z.keys())
        key = "images" if "images" in keys else keys[0]
        images = z[key]
        wanted = label_columns if label_columns is not None else [
            k for k in keys if k != key and z[k].ndim == 1 and len(z[k]) == len(images)]
        missing = [k for k in wanted if k not in keys]
        if missing:
            raise DataError(f"{uri}: no label array {missing[0]!r}; arrays: {', '.join(keys)}")
        labels = pd.DataFrame({k: z[k] for k in wanted})
    if images.dtype != np.uint8:
        raise DataError(f"{uri}: images must be uint8 (0..255), got {images.dtype}")
    x = to_unit(images)
    return ImageData(fit_size(x, size) if size else x, labels)


def _from_csv(raw: bytes, size: int | None, uri: str, compressed: bool) -> ImageData:
    df = pd.read_csv(io.BytesIO(raw), compression="gzip" if compressed else None)
    if "image_data" not in df.columns:
        raise DataError(f"{uri}: a CSV of images needs an 'image_data' column (a flattened "
                        "S x S x C array); columns: " + ", ".join(df.columns))
    arrays = [_flat_image(v, i, uri) for i, v in enumerate(df["image_data"])]
    labels = df.drop(columns=[c for c in ("image_id", "image_data") if c in df.columns])
    return ImageData(stack(arrays, size, uri), labels.reset_index(drop=True))


def _flat_image(value: str, row: int, uri: str) -> np.ndarray:
    text = str(value).strip().strip("[]").replace(",", " ")
    try:
        flat = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{uri} row {row}: image_data is not a list of numbers") from None
    for channels in (1, 3):
        side = int(round((len(flat) / channels) ** 0.5))
        if side * side * channels == len(flat):
            if flat.min() < 0 or flat.max() > 255:
                raise DataError(f"{uri} row {row}: pixel values must lie in 0..255")
            shape = (side, side) if channels == 1 else (side, side, 3)
            return flat.reshape(shape).round().astype(np.uint8)
    raise DataError(f"{uri} row {row}: image_data has {len(flat)} values, not S*S or S*S*3 "
                    "for any whole S")


def _from_parquet(raw: bytes, size: int | None, uri: str) -> ImageData:
    df = pd.read_parquet(io.BytesIO(raw))
    binary = [c for c in df.columns if df[c].map(lambda v: isinstance(v, bytes)).all()]
    if not binary:
        raise DataError(f"{uri}: no binary (PNG) column; columns: {', '.join(df.columns)}")
    images = [decode_png(v) for v in df[binary[0]]]
    labels = df.drop(columns=[binary[0], *[c for c in NOT_LABELS if c in df.columns]])
    return ImageData(stack(images, size, uri), labels.reset_index(drop=True))
