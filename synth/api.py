"""The public entry points: models by registry name, loading by path or model-store name."""

from __future__ import annotations

from typing import Any

from synth.data import io as sio
from synth.errors import ConfigError, ModelLoadError
from synth.models.base import Synthesizer
from synth.models.registry import SYNTHESIZERS
from synth.store import ModelStore, load_json, read_model_dir


def _load_builtin_models() -> None:
    # importing the modules fills the registry
    from synth.models import copula, tvae  # noqa: F401
    from synth.models.argn import model as argn_model  # noqa: F401
    from synth.models.binary_diffusion import model as diffusion_model  # noqa: F401
    from synth.models.ctgan import model  # noqa: F401
    from synth.models.images import gan  # noqa: F401
    from synth.models.potnet import model as potnet_model  # noqa: F401
    from synth.spec import model as spec_model  # noqa: F401


def create_synthesizer(name: str, **params: Any) -> Synthesizer:
    """A new, unfitted model by registry name and parameters: `create_synthesizer("argn")`
    (the family that measures best, benchmarks/BENCHMARKS.md), `create_synthesizer("ctgan",
    epochs=300, batch_size=500)`; `list_synthesizers()` names them all."""
    _load_builtin_models()
    cls = SYNTHESIZERS.get(name)
    if params.get("dp") is not None and "dp" not in getattr(
            getattr(cls, "config_cls", None), "__dataclass_fields__", {}):
        with_dp = [n for n in SYNTHESIZERS.names() if "dp" in getattr(
            getattr(SYNTHESIZERS.get(n), "config_cls", None), "__dataclass_fields__", {})]
        raise ConfigError(f"{name} cannot train with differential privacy (dp=...); families "
                          f"that can: {', '.join(with_dp) or 'none'}")
    return cls(**params)


def synthesizer_class(name: str) -> type:
    """The registered class of `name` (without building a model)."""
    _load_builtin_models()
    return SYNTHESIZERS.get(name)


def list_synthesizers() -> list[str]:
    _load_builtin_models()
    return SYNTHESIZERS.names()


def resolve_model_path(uri: str, version: int | None = None, store: str | None = None) -> str:
    """A model directory as given, else a model-store name (newest complete version)."""
    uri = str(uri)
    if sio.exists(sio.join(uri, "config.json")):
        return uri
    looks_like_name = "/" not in uri and not uri.startswith(".")
    if looks_like_name:
        return ModelStore(store).resolve(uri, version)
    if sio.exists(uri):
        return uri  # a directory without config.json: read_model_dir says what is missing
    raise ModelLoadError(f"model {uri!r} not found: pass a model directory (local or s3://) or "
                         "the name of a model in the store")


def load_synthesizer(uri: str, version: int | None = None, store: str | None = None
                     ) -> Synthesizer:
    """Load a saved model directory (local or s3://) or a model-store name."""
    _load_builtin_models()
    path = resolve_model_path(uri, version, store)
    doc = load_json(read_model_dir(path, ["config.json"])["config.json"], f"{path}/config.json")
    if not isinstance(doc, dict) or "synthesizer" not in doc:
        raise ModelLoadError(f"{path}/config.json does not name a synthesizer; corrupt model")
    return SYNTHESIZERS.get(doc["synthesizer"]).load(path)
