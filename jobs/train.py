"""Fit a synthesizer and save it to a directory and/or register it in the model store.

    synth train --data data/adult_train.csv.gz --model ctgan --epochs 300 --output runs/m
    synth train --config configs/adult_ctgan.yaml params.epochs=10 --progress
    python -m jobs.train ...          (the same; what `ray job submit -- ...` runs)

Hyperparameters go in `params.<name>=value` (see the model's config: e.g. params.batch_size,
params.pac). With Ray (the default) the fit runs as a Ray task, on a GPU node when
`use_gpu=true`; `--no-ray` fits in this process. Multi-worker (DDP) training
(num_workers > 1) is not available yet."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from jobs.common import add_common_args, load_config, print_config, run_main, start_ray
from synth.config import require
from synth.errors import ConfigError


@dataclass(frozen=True)
class TrainConfig:
    data: str = ""
    model: str = "ctgan"
    params: dict[str, Any] = field(default_factory=dict)
    metadata: str | None = None  # JSON/YAML file of column kinds (ours or SDV's format)
    output: str | None = None  # model directory (local or s3://)
    store: str | None = None  # model store root (default RAYSYNTH_STORE, else ./models)
    name: str | None = None  # register under this name in the store
    num_workers: int = 1
    use_gpu: bool = False
    num_cpus: float = 1.0

    def validate(self) -> None:
        require(bool(self.data), "data is required: --data FILE (CSV/Parquet, local or s3://)")
        require(bool(self.output or self.name),
                "say where the model goes: --output DIR and/or --name NAME (model store)")
        require(self.num_workers == 1, "num_workers > 1 (Ray Train DDP) is not available yet; "
                "use num_workers=1")


def fit_and_save(cfg: TrainConfig) -> dict[str, Any]:
    """The whole job body, plain synth code: read, fit, save/register. Returns where it went."""
    import synth
    from synth.data.io import read_table
    from synth.store import ModelStore

    df = read_table(cfg.data)
    model = synth.create_synthesizer(cfg.model, **cfg.params)
    model.fit(df, metadata=_read_metadata(cfg.metadata))
    out: dict[str, Any] = {"rows": len(df), "model": cfg.model}
    if cfg.output:
        out["output"] = model.save(cfg.output)
    if cfg.name:
        version, path = ModelStore(cfg.store).next_version_path(cfg.name)
        model.save(path)
        out.update(name=cfg.name, version=version, path=path)
    return out


def _read_metadata(path: str | None) -> dict | None:
    if not path:
        return None
    import yaml

    from synth.data.io import read_bytes

    try:
        doc = yaml.safe_load(read_bytes(path))
    except FileNotFoundError:
        raise ConfigError(f"metadata file {path!r} does not exist") from None
    return doc


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="synth train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="training table: CSV/Parquet file or Parquet prefix")
    ap.add_argument("--model", help="synthesizer name (see `synth models`)")
    ap.add_argument("--output", help="model directory to write (local or s3://)")
    ap.add_argument("--store", help="model store root (local or s3://)")
    ap.add_argument("--name", help="register the model under this name in the store")
    ap.add_argument("--metadata", help="JSON/YAML file of column kinds")
    ap.add_argument("--epochs", type=int, help="shortcut for params.epochs")
    ap.add_argument("--batch-size", type=int, help="shortcut for params.batch_size")
    ap.add_argument("--seed", type=int, help="shortcut for params.seed")
    ap.add_argument("--progress", action="store_true", help="show a progress bar of epochs")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        params = {k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size,
                                     "seed": args.seed,
                                     "progress": True if args.progress else None}.items()
                  if v is not None}
        flags = {"data": args.data, "model": args.model, "output": args.output,
                 "store": args.store, "name": args.name, "metadata": args.metadata,
                 "params": params or None}
        cfg = load_config(TrainConfig, args.config, flags, args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        if args.no_ray:
            result = fit_and_save(cfg)
        else:
            ray = start_ray(args.address)
            task = ray.remote(num_cpus=cfg.num_cpus, num_gpus=1 if cfg.use_gpu else 0)(
                fit_and_save)
            result = ray.get(task.remote(cfg))
        print(json.dumps(result))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
