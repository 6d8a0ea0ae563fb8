"""Model artifacts: a model is a directory of plain files (config JSON, torch state_dict
weights, transformer JSON + NPZ), local or s3://. A `_COMPLETE` marker is written last, so a
half-written directory is never loaded.

The model store: `<root>/<name>/<version>/` with integer versions; `name` alone resolves to the
newest complete version."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synth.data import io as sio
from synth.errors import ModelLoadError

COMPLETE = "_COMPLETE"
CLAIM = "_CLAIM"  # S3: the object whose conditional create claims a version number
MAX_CLAIMS = 1000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, indent=2, sort_keys=False, default=str).encode()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def torch_bytes(state: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def load_json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{what} is not valid JSON ({exc}); the model directory is corrupt"
                             ) from None


def load_npz(raw: bytes, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelLoadError(f"{what} is not a valid NPZ file ({exc}); the model directory is "
                             "corrupt") from None


def load_torch(raw: bytes, what: str) -> dict[str, Any]:
    """Weights only: `weights_only=True` refuses anything but tensors and plain containers."""
    try:
        return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise ModelLoadError(f"{what} is not a valid weights file ({type(exc).__name__}); the "
                             "model directory is corrupt") from None


def write_model_dir(path: str, files: dict[str, bytes]) -> None:
    """Write every file, then the completion marker. An old marker goes first: a directory
    being rewritten in place is never complete with a mix of old and new files."""
    sio.delete(sio.join(path, COMPLETE))
    for name, data in files.items():
        sio.write_bytes(sio.join(path, name), data)
    sio.write_bytes(sio.join(path, COMPLETE), b"")


def read_model_dir(path: str, names: list[str]) -> dict[str, bytes]:
    """Read named files of a complete model directory, with errors a user can act on."""
    if not sio.exists(sio.join(path, "config.json")):
        raise ModelLoadError(f"{path!r} is not a model directory (no config.json); pass the "
                             "directory written by model.save() or a model-store name")
    if not sio.exists(sio.join(path, COMPLETE)):
        raise ModelLoadError(f"{path!r} is incomplete (no {COMPLETE} marker): it was not fully "
                             "written; save or train the model again")
    out = {}
    for name in names:
        try:
            out[name] = sio.read_bytes(sio.join(path, name))
        except FileNotFoundError:
            raise ModelLoadError(f"{path!r} lacks {name}; the model directory is corrupt"
                                 ) from None
    return out


def read_optional(path: str, name: str) -> bytes | None:
    """A file of a model directory that older versions did not write (None when absent)."""
    try:
        return sio.read_bytes(sio.join(path, name))
    except FileNotFoundError:
        return None


class ModelStore:
    """Versioned models under one root (local or s3://)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = str(root or os.environ.get("RAYSYNTH_STORE") or "models")

    def versions(self, name: str) -> list[int]:
        check_name(name)
        base = sio.join(self.root, name)
        found = [int(v) for v in sio.list_dir(base) if v.isdigit()]
        return sorted(v for v in found if sio.exists(sio.join(base, str(v), COMPLETE)))

    def names(self) -> list[str]:
        return sorted(self.complete_versions())

    def complete_versions(self) -> dict[str, list[int]]:
        """{name: complete versions} for the whole store from one recursive listing (on S3:
        one paginated LIST, not a HEAD per version)."""
        found: dict[str, list[int]] = {}
        for rel in sio.list_tree(self.root):
            parts = rel.split("/")
            if len(parts) == 3 and parts[2] == COMPLETE and parts[1].isdigit() \
                    and _NAME.match(parts[0]) and ".." not in parts[0]:
                found.setdefault(parts[0], []).append(int(parts[1]))
        return {n: sorted(v) for n, v in sorted(found.items())}

    def add_version(self, name: str, write: Callable[[str], Any]) -> tuple[int, str]:
        """Register a new version atomically: `write(path)` fills a model directory (e.g.
        `model.save`) and the version number is claimed with a create-if-absent, so concurrent
        registrations never share a number or interleave files. Local: the directory is
        written under a staging name, the number claimed with mkdir and the directory moved
        in with one rename. S3: the number is claimed with a conditional PUT (If-None-Match: *)
        of `<version>/_CLAIM`, then written; it is listed once its _COMPLETE exists (a failed
        write leaves an incomplete number that nothing lists or reuses)."""
        base = sio.join(self.root, check_name(name))
        if sio.is_s3(base):
            for _ in range(MAX_CLAIMS):
                version = self._next_number(base)
                path = sio.join(base, str(version))
                if sio.create_exclusive(sio.join(path, CLAIM)):
                    write(path)
                    return version, path
            raise ModelLoadError(f"could not claim a version of {name!r} in {MAX_CLAIMS} tries")
        local = Path(sio.filesystem(base)[1])
        local.mkdir(parents=True, exist_ok=True)
        staging = local / f".staging-{uuid.uuid4().hex}"
        try:
            write(str(staging))
            for _ in range(MAX_CLAIMS):
                version = self._next_number(base)
                try:
                    (local / str(version)).mkdir()
                except FileExistsError:
                    continue  # taken by a concurrent registration: the next one
                os.replace(staging, local / str(version))  # onto our own empty claim
                return version, sio.join(base, str(version))
            raise ModelLoadError(f"could not claim a version of {name!r} in {MAX_CLAIMS} tries")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def _next_number(base: str) -> int:
        """One past every number in use, complete or not (a claim is never reused)."""
        return max((int(v) for v in sio.list_dir(base) if v.isdigit()), default=0) + 1

    def resolve(self, name: str, version: int | None = None) -> str:
        versions = self.versions(name)
        if not versions:
            raise ModelLoadError(f"no model named {name!r} in store {self.root!r}; stored: "
                                 f"{', '.join(self.names()) or '(none)'}")
        if version is None:
            version = versions[-1]
        if version not in versions:
            raise ModelLoadError(f"model {name!r} has no complete version {version}; versions: "
                                 f"{versions}")
        return sio.join(self.root, name, str(version))


def check_name(name: str) -> str:
    """Model names are plain identifiers: no path separators, no traversal."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ModelLoadError(f"invalid model name {name!r}: use letters, digits, '_', '-', '.'")
    return name
