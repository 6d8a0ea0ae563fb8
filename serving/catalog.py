"""What the app serves: the models of one store, looked up by name (never by a path from a
request), with a short-lived cache of the listing (one store listing per `refresh_s`, so a newly
registered version is picked up within that), and descriptions (columns, types, condition
values) read from a version's metadata files only (config, transformer or labels: no weights,
no model loaded), cached per immutable (name, version). Every method here blocks on the store:
the app calls them off its event loop."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from serving.images import attribute_type
from synth.api import load_synthesizer
from synth.data.arrow import column_type
from synth.data.codecs import CategoricalCodec, NumericCodec
from synth.data.constraints import ConstraintSet
from synth.data.io import join
from synth.data.transformer import DataTransformer
from synth.errors import ConfigError, ModelLoadError
from synth.models.images.labels import LabelCodec
from synth.spec.model import SpecModel
from synth.store import (
    ModelStore,
    check_name,
    load_json,
    load_npz,
    read_model_dir,
    read_optional,
)

Loader = Callable[[str, int], Any]  # (name, version) -> fitted model
MAX_VALUES = 200


class NotFound(LookupError):
    """An unknown model or version (HTTP 404)."""


def store_loader(root: str) -> Loader:
    """The default loader: a model-store name and version -> a loaded synthesizer."""

    def load(name: str, version: int) -> Any:
        return load_synthesizer(ModelStore(root).resolve(name, version))

    return load


class Catalog:
    def __init__(self, root: str, loader: Loader | None = None, refresh_s: float = 2.0,
                 pins: dict[str, int] | None = None, cache: int = 32) -> None:
        self.store, self.loader = ModelStore(root), loader or store_loader(root)
        self.refresh_s, self.pins = refresh_s, dict(pins or {})
        self._listing: tuple[float, dict[str, list[int]]] | None = None
        self._described: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self._kinds: dict[tuple[str, int], str] = {}
        self._cache = cache

    def listing(self) -> dict[str, list[int]]:
        """{name: complete versions}, re-read at most every `refresh_s` seconds."""
        now = time.monotonic()
        if self._listing is None or now - self._listing[0] > self.refresh_s:
            self._listing = (now, self.store.complete_versions())
        return self._listing[1]

    def resolve(self, name: str, version: int | None) -> int:
        """The version to serve: the one asked, else the pinned one, else the newest."""
        try:
            check_name(name)
        except ModelLoadError as exc:
            raise NotFound(str(exc)) from None
        versions = self.listing().get(name) or []
        if not versions:
            raise NotFound(f"no model named {name!r}; served: "
                           f"{', '.join(sorted(self.listing())) or '(none)'}")
        want = version if version is not None else self.pins.get(name, versions[-1])
        if want not in versions:
            raise NotFound(f"model {name!r} has no version {want}; versions: {versions}")
        return want

    def kind(self, name: str, version: int) -> str:
        """"image" or "table", read from the version's config.json (no model is loaded)."""
        key = (name, version)
        if key not in self._kinds:
            path = self._path(name, version)
            doc = load_json(read_model_dir(path, ["config.json"])["config.json"], path)
            self._kinds[key] = doc.get("kind", "table")
        return self._kinds[key]

    def _path(self, name: str, version: int) -> str:
        """A version that `resolve` returned (from the cached listing): its directory, without
        listing the store again (read_model_dir still checks _COMPLETE)."""
        return join(self.store.root, check_name(name), str(int(version)))

    def describe(self, name: str, version: int) -> dict[str, Any]:
        """The version's description from its metadata files (ModelLoadError when broken)."""
        key = (name, version)
        if key not in self._described:
            self._described[key] = describe_files(self._path(name, version), name,
                                                  version)
            while len(self._described) > self._cache:
                self._described.popitem(last=False)
        self._described.move_to_end(key)
        return {**self._described[key], "versions": self.listing().get(name, [version])}

    def describe_all(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(descriptions of the served version of every model, broken entries): a bad pin or
        a corrupt version is reported for its model only."""
        infos, broken = [], []
        for name in sorted(self.listing()):
            version = self.pins.get(name)
            try:
                version = self.resolve(name, None)
                infos.append(self.describe(name, version))
            except (NotFound, ModelLoadError) as exc:
                broken.append({"name": name, "version": version, "detail": str(exc)})
        return infos, broken


def describe_files(path: str, name: str, version: int) -> dict[str, Any]:
    """describe_model from a model directory's metadata files (no weights read)."""
    doc = load_json(read_model_dir(path, ["config.json"])["config.json"], f"{path}/config.json")
    family = doc.get("synthesizer", "?")
    if family == "spec":  # the spec is the whole model: its config holds it
        try:
            return _describe_spec(SpecModel(**doc.get("params", {})), name, version)
        except ConfigError as exc:
            raise ModelLoadError(f"{path!r}: its spec no longer parses ({exc})") from None
    try:
        if doc.get("kind") == "image":
            labels = load_json(read_model_dir(path, ["labels.json"])["labels.json"],
                               f"{path}/labels.json")
            return _describe_images(LabelCodec.from_json(labels).values, family, name, version,
                                    int(doc["params"]["image_size"]), int(labels["channels"]))
        files = read_model_dir(path, ["transformer.json", "transformer.npz"])
        tr = DataTransformer.from_state(
            load_json(files["transformer.json"], f"{path}/transformer.json"),
            load_npz(files["transformer.npz"], f"{path}/transformer.npz"))
    except ModelLoadError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelLoadError(f"{path!r}: inconsistent metadata ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None
    saved = read_optional(path, "constraints.json")
    cs = (ConstraintSet.from_state(load_json(saved, f"{path}/constraints.json")) if saved
          else ConstraintSet(tr.metadata))
    privacy = read_optional(path, "privacy.json")
    return _describe_table(cs.schema(tr), family, name, version,
                           load_json(privacy, f"{path}/privacy.json") if privacy else None)


def describe_model(model: Any, name: str, version: int) -> dict[str, Any]:
    """A loaded model's description (the same as describe_files gives for its directory)."""
    if model.kind == "image":
        return _describe_images(model.labels.values, model.name, name, version,
                                model.config.image_size, model.channels)
    if isinstance(model, SpecModel):
        return _describe_spec(model, name, version)
    return _describe_table(model.schema, model.name, name, version,
                           getattr(model, "privacy", None))


def _describe_spec(model: SpecModel, name: str, version: int) -> dict[str, Any]:
    return {"name": name, "version": version, "kind": "spec",
            "columns": model.describe_columns()}


def _describe_table(tr: Any, family: str, name: str, version: int,
                    privacy: dict[str, Any] | None = None) -> dict[str, Any]:
    columns = []
    for col, codec in tr.codecs.items():
        info: dict[str, Any] = {"name": col, "type": str(column_type(codec)),
                                "kind": tr.metadata.kind(col),
                                "conditionable": isinstance(codec, CategoricalCodec | NumericCodec)}
        if isinstance(codec, CategoricalCodec):
            info["values"] = [_plain(v) for v in codec.known_values()[:MAX_VALUES]]
        elif isinstance(codec, NumericCodec) and codec.meta.kind == "numerical":
            info["min"], info["max"] = codec.state["min"], codec.state["max"]
        columns.append(info)
    out = {"name": name, "version": version, "kind": family, "columns": columns}
    if privacy:
        out["privacy"] = {k: privacy[k] for k in ("epsilon", "delta", "accountant")}
    return out


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _describe_images(values: dict[str, list[Any]], family: str, name: str, version: int,
                     size: int, channels: int) -> dict[str, Any]:
    columns = [{"name": a, "type": attribute_type(vals), "kind": "categorical",
                "conditionable": True, "values": [_plain(v) for v in vals[:MAX_VALUES]]}
               for a, vals in values.items()]
    return {"name": name, "version": version, "kind": family, "columns": columns,
            "image": {"size": size, "channels": channels}}
