"""Folders (local or s3://) of background and object images. Files are listed once and read on
first use (a small cache per process), so a worker that composites a few thousand images reads
only the files its rows pick. An object's category is its subfolder (`objects/bolt/a.png` is a
`bolt`), or its file stem when the folder is flat (`objects/bolt.png`)."""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from synth.data.io import join, list_tree, read_bytes
from synth.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
CACHE = 256  # decoded images kept per library


@dataclass
class Library:
    """The images of one folder/prefix, by relative path, with their categories."""

    root: str
    files: list[str]  # relative paths, sorted
    categories: list[str]  # one per file
    alpha: bool = True  # decode as RGBA (objects), else RGB (backgrounds)
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _index: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _gray: dict[int, bool] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        """Lookups by relative path, then category, then file name (in that precedence)."""
        for kind, keys in (("name", [f.rsplit("/", 1)[-1] for f in self.files]),
                           ("category", self.categories), ("path", self.files)):
            for i, key in enumerate(keys):
                self._index.setdefault(f"{kind}:{key}", []).append(i)

    @classmethod
    def open(cls, root: str, what: str, alpha: bool = True) -> Library:
        try:
            files = [f for f in list_tree(root) if f.lower().endswith(IMAGE_SUFFIXES)]
        except OSError as exc:
            raise DataError(f"cannot list the {what} folder {root!r}: {exc}") from None
        if not files:
            raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the {what} folder "
                            f"{root!r}")
        nested = any("/" in f for f in files)
        cats = [f.split("/", 1)[0] if nested and "/" in f else _stem(f) for f in files]
        return cls(root, files, cats, alpha)

    @property
    def names(self) -> list[str]:
        """The categories, sorted (COCO category ids are 1 + the index here)."""
        return sorted(set(self.categories))

    def check(self, key: object, what: str, row: int) -> None:
        """The error `pick` would raise for this table value, raised now."""
        self.pick(key, np.random.default_rng(0), what, row)

    def pick(self, key: object, rng: np.random.Generator, what: str, row: int) -> int:
        """The file for a table value: a relative path, a file name, a category (a seeded draw
        among its files), or None/empty (a seeded draw among all files)."""
        if key is None or (isinstance(key, float) and np.isnan(key)) or str(key) == "":
            return int(rng.integers(len(self.files)))
        text = str(key)
        hits = next((self._index[k] for k in (f"path:{text}", f"category:{text}",
                                               f"name:{text}") if k in self._index), [])
        if not hits:
            raise DataError(f"row {row}: {what} {text!r} is neither a file nor a category of "
                            f"{self.root!r}; categories: {', '.join(self.names[:20])}")
        return hits[int(rng.integers(len(hits)))]

    def image(self, index: int) -> np.ndarray:
        """H x W x 4 uint8 RGBA, or H x W x 3 RGB without `alpha` (gray files as gray RGB; a
        file without an alpha channel is opaque)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        rgba = _decode(read_bytes(join(self.root, self.files[index])), self.files[index],
                       "RGBA" if self.alpha else "RGB")
        self._cache[index] = rgba
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return rgba

    def is_gray(self, index: int) -> bool:
        """Whether the file's colour channels are all equal (remembered per file)."""
        if index not in self._gray:
            im = self.image(index)
            self._gray[index] = bool((im[..., 0] == im[..., 1]).all()
                                     and (im[..., 1] == im[..., 2]).all())
        return self._gray[index]


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0]


def _decode(data: bytes, name: str, mode: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.array(im.convert(mode))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file
        raise DataError(f"{name}: not a readable image ({exc})") from None
