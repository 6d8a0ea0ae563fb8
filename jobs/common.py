"""Shared glue of the job entrypoints: `--config FILE.yaml` + `key=value` overrides (dotted keys
for nested values) into a typed job config, `--dry-run`, and a Ray to run on (a local one
started for the command unless `--address`/RAY_ADDRESS names a cluster)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from jobs import console
from synth.api import synthesizer_class
from synth.config import build_config
from synth.data.io import read_bytes
from synth.errors import ConfigError, SynthError

C = TypeVar("C")
LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
                 "AWS_EC2_METADATA_DISABLED": "true"}


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """['a=1', 'params.epochs=5'] -> {'a': 1, 'params': {'epochs': 5}} (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        node = out
        *parents, leaf = key.strip().split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(raw) if raw != "" else ""
    return out


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        both = isinstance(v, dict) and isinstance(out.get(k), dict)
        out[k] = deep_merge(out[k], v) if both else v
    return out


def load_config(cls: type[C], config_file: str | None, flags: dict[str, Any],
                overrides: list[str]) -> C:
    """File < flags < key=value overrides; unknown keys rejected by name."""
    doc: dict[str, Any] = {}
    if config_file:
        try:
            with open(config_file) as f:
                doc = yaml.safe_load(f) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file {config_file!r} does not exist") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"config file {config_file!r} must hold a mapping of keys")
    doc = deep_merge(doc, {k: v for k, v in flags.items() if v is not None})
    doc = deep_merge(doc, parse_overrides(overrides))
    return build_config(cls, doc, where="job config")


def read_metadata(path: str | None) -> dict | None:
    """A JSON/YAML file of column kinds (ours or SDV's format), or None."""
    if not path:
        return None
    try:
        return yaml.safe_load(read_bytes(path))
    except FileNotFoundError:
        raise ConfigError(f"metadata file {path!r} does not exist") from None


def resolve_params(cfg: C) -> C:
    """The job config with `params` replaced by the model family's full typed config (every
    parameter, defaults filled in): a typo such as `params.epoch=5` fails here, before data is
    read or Ray is started, with a "did you mean", and --dry-run shows what will run."""
    family = synthesizer_class(cfg.model)  # type: ignore[attr-defined]
    return dataclasses.replace(cfg, params=family.resolve_params(cfg.params))  # type: ignore


class _JobParser(argparse.ArgumentParser):
    """`key=value` overrides may stand anywhere among the flags (`a=1 --deploy b=2`)."""

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:
        return self.parse_intermixed_args(args, namespace)


def job_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser of a job command: its module docstring as help, laid out as written."""
    return _JobParser(prog=prog, description=doc,
                      formatter_class=argparse.RawDescriptionHelpFormatter)


def run_in_task(fn: Callable[[Any], Any], cfg: Any, args: argparse.Namespace,
                num_cpus: float = 1.0, num_gpus: float = 0) -> Any:
    """`fn(cfg)` in this process with --no-ray, else as one task on the job's Ray."""
    if args.no_ray:
        return fn(cfg)
    ray = start_ray(args.address)
    return ray.get(ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(fn).remote(cfg))


def add_common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--config", help="YAML job config; key=value arguments override it")
    ap.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a local "
                    "Ray started for this command)")
    ap.add_argument("--no-ray", action="store_true",
                    help="run in this process without Ray (quick local runs)")
    ap.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    ap.add_argument("--verbose", action="store_true", help="show Ray's own logs and the workers' "
                    "output (default: in <run dir>/_logs/<command>.log)")
    ap.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")


def print_config(cfg: Any) -> None:
    print(json.dumps(dataclasses.asdict(cfg), indent=2, default=str))


def start_ray(address: str | None, *, num_cpus: float | None = None,
              dashboard: bool = False) -> Any:
    """Connect to a cluster, or start a loopback-only local Ray (never leaves 127.0.0.1) with
    `num_cpus` logical CPUs (default: the cores) and, with `dashboard`, Ray's dashboard and
    State API on 127.0.0.1 (Ray Train needs the State API to free the resources of a run
    whose driver was stopped, e.g. a Tune trial stopped early)."""
    import ray

    address = address or os.environ.get("RAY_ADDRESS")
    if ray.is_initialized():
        return ray
    logs = {"log_to_driver": console.log_to_driver(), "configure_logging": console.verbose()}
    console.before_ray_start()
    if address:
        ray.init(address=address, **logs)
    else:
        for k, v in LOCAL_RAY_ENV.items():
            os.environ.setdefault(k, v)
        extra: dict[str, Any] = {}
        if dashboard:  # the State API of *this* Ray, for its processes too (they inherit the
            #            environment); auto-detection fails when other Rays run on the machine
            extra["dashboard_port"] = free_port()
            os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{extra['dashboard_port']}"
        # "local": always a new loopback instance, never one a `ray start` left on this machine
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=dashboard,
                 dashboard_host="127.0.0.1", **logs, **extra)
    console.after_ray_start()
    return ray


def cpus_at_least(needed: float) -> int:
    """Logical CPUs for a local Ray: the cores, raised to `needed` (rounded up) so that what
    a job must run at once can be scheduled even on a 2-core machine."""
    return max(os.cpu_count() or 1, math.ceil(needed))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_main(fn: Callable[[], int | None]) -> int:
    """Run a job body; a user's mistake prints one clear line and exits 2 (no traceback)."""
    try:
        return int(fn() or 0)
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
