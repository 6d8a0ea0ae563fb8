"""Typed settings of the Serve app: from the `serve run serving.app:build_app key=value` args,
the `args:` of serving/config.yaml, or a deployment's `user_config` (reconfigure); unknown keys
are rejected by name."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from synth.config import build_config, require
from synth.errors import ConfigError

AUTH_MODES = ("api_key", "none")
FIXED_AT_DEPLOY = ("auth", "api_key_env", "api_key_file")  # not changeable by user_config


@dataclass(frozen=True)
class ServeSettings:
    store: str = ""  # model store root (local or s3://); default RAYSYNTH_STORE, else ./models
    max_num_samples: int = 100_000  # largest num_samples one request may ask
    chunk_rows: int = 10_000  # rows per streamed chunk (csv, jsonl, large json)
    max_num_images: int = 256  # largest num_samples one request may ask of an image model
    # name -> version served when a request names none (default: the newest complete one)
    pins: dict[str, int] = field(default_factory=dict)
    refresh_s: float = 2.0  # how long the store listing is cached
    # Auth (serving/auth.py): "api_key" (default) refuses to start without a key; "none" is an
    # explicitly open endpoint. These three cannot change through user_config (reconfigure).
    auth: str = "api_key"
    api_key_env: str = "RAYSYNTH_API_KEY"  # env var holding the API key
    api_key_file: str = ""  # or a secret file holding it (one key per line; re-read when it
    #                         changes); default: the file named by RAYSYNTH_API_KEY_FILE. The key
    #                         itself never goes in settings.
    request_timeout_s: float = 30.0  # time budget of one request's work (then 408)
    max_body_bytes: int = 1_000_000  # larger request bodies are refused (413)
    body_timeout_s: float = 10.0  # a body not received within this is refused (408)
    max_condition_groups: int = 1000  # distinct per-row condition groups per request (422)
    max_heavy_requests: int = 2  # per replica: conditioned or streamed requests working at
    #                               once (light ones have their own lane); more wait, then 503

    def validate(self) -> None:
        require(self.max_num_samples >= 1, "max_num_samples must be >= 1")
        require(self.chunk_rows >= 1, "chunk_rows must be >= 1")
        require(self.max_num_images >= 1, "max_num_images must be >= 1")
        require(self.refresh_s >= 0, "refresh_s must be >= 0")
        require(self.auth in AUTH_MODES, f"auth must be one of {AUTH_MODES}, got {self.auth!r}")
        require(self.request_timeout_s > 0, "request_timeout_s must be > 0")
        require(self.max_body_bytes >= 1024, "max_body_bytes must be >= 1024")
        require(self.body_timeout_s > 0, "body_timeout_s must be > 0")
        require(self.max_condition_groups >= 1, "max_condition_groups must be >= 1")
        require(self.max_heavy_requests >= 1, "max_heavy_requests must be >= 1")
        for name, version in self.pins.items():
            require(isinstance(version, int) and version >= 1,
                    f"pins.{name} must be a version >= 1, got {version!r}")

    @property
    def store_root(self) -> str:
        return self.store or os.environ.get("RAYSYNTH_STORE") or "models"


def load_settings(args: dict[str, Any] | None) -> ServeSettings:
    return build_config(ServeSettings, dict(args or {}), where="serve settings")


def reconfigured(settings: ServeSettings, user_config: dict[str, Any] | None) -> ServeSettings:
    """The settings after a deployment's `user_config`: auth cannot be changed that way (the
    user_config shows in `serve status`; switching auth off needs a redeploy with new args)."""
    import dataclasses

    user_config = dict(user_config or {})
    fixed = sorted(k for k in user_config if k in FIXED_AT_DEPLOY)
    if fixed:
        raise ConfigError(f"{', '.join(fixed)} cannot change through user_config; redeploy the "
                          "app with new args")
    return load_settings({**dataclasses.asdict(settings), **user_config})
