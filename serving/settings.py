"""Typed settings of the Serve app: from the `serve run serving.app:build_app key=value` args,
the `args:` of serving/config.yaml, or a deployment's `user_config` (reconfigure); unknown keys
are rejected by name."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Any

from synth.config import build_config, require
from synth.errors import ConfigError


@dataclass(frozen=True)
class ServeSettings:
    store: str = ""  # model store root (local or s3://); default RAYSYNTH_STORE, else ./models
    max_num_samples: int = 100_000  # largest num_samples one request may ask
    chunk_rows: int = 10_000  # rows per streamed chunk (csv, jsonl, large json)
    max_num_images: int = 256  # largest num_samples one request may ask of an image model
    # name -> version served when a request names none (default: the newest complete one)
    pins: dict[str, int] = field(default_factory=dict)
    refresh_s: float = 2.0  # how long the store listing is cached
    api_key_env: str = "RAYSYNTH_API_KEY"  # env var holding the API key (unset: no auth)
    api_key_file: str = ""  # or a file holding it (a mounted secret); default: the file named
    #                         by RAYSYNTH_API_KEY_FILE. The key itself never goes in settings.

    def validate(self) -> None:
        require(self.max_num_samples >= 1, "max_num_samples must be >= 1")
        require(self.chunk_rows >= 1, "chunk_rows must be >= 1")
        require(self.max_num_images >= 1, "max_num_images must be >= 1")
        require(self.refresh_s >= 0, "refresh_s must be >= 0")
        for name, version in self.pins.items():
            require(isinstance(version, int) and version >= 1,
                    f"pins.{name} must be a version >= 1, got {version!r}")

    @property
    def store_root(self) -> str:
        return self.store or os.environ.get("RAYSYNTH_STORE") or "models"


def load_settings(args: dict[str, Any] | None) -> ServeSettings:
    return build_config(ServeSettings, dict(args or {}), where="serve settings")


def read_api_key(settings: ServeSettings) -> str | None:
    """The API key from the environment or a secret file; None disables auth."""
    key = os.environ.get(settings.api_key_env)
    path = settings.api_key_file or os.environ.get("RAYSYNTH_API_KEY_FILE")
    if not key and path:
        try:
            with open(path) as f:
                key = f.read().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the API key file {path!r}: {exc.strerror}") from None
        if not key:
            raise ConfigError(f"the API key file {path!r} is empty")
    return key or None


def keys_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison of an API key header with the key, on bytes: a header with
    non-ASCII characters (which compare_digest refuses as str) is a wrong key, not a 500."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))
