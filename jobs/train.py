"""Fit a synthesizer and save it to a directory and/or register it in the model store.

    synth train --data data/adult_train.csv.gz --model ctgan --epochs 300 --output runs/m
    synth train --config configs/adult_ctgan.yaml params.epochs=10 --progress
    python -m jobs.train ...          (the same; what `ray job submit -- ...` runs)

    ray job submit --working-dir . -- python -m jobs.train --config configs/adult_ctgan.yaml \
        num_workers=4 use_gpu=true storage=s3://bucket/raysynth/runs --name adult

Hyperparameters go in `params.<name>=value` (see the model's config: e.g. params.batch_size,
params.pac); they are resolved into the family's typed config before anything runs, so a typo
fails at once with a "did you mean", and `--dry-run` prints every parameter with its value.
With Ray (the default), models that train in epochs (ctgan, tvae, dcgan, cgan) run on Ray
Train: `num_workers` data-parallel workers (DDP; gloo on CPU, NCCL with `use_gpu=true`), each
reading only its shard of the data (a CSV/Parquet file or a Parquet prefix, local or s3://),
checkpoints every `checkpoint_every` epochs under `storage`, and resumption from the last one
when a worker or node is lost (`max_failures`). `params.batch_size` is per worker: the global
batch is batch_size x num_workers, an epoch is rows // global batch steps, and learning rates
are not rescaled (Adam). Other models fit in one Ray task; `--no-ray` fits in this process.
The model is saved to `--output` and/or registered in the store with training.json (config,
per-epoch metrics, data fingerprint, evaluation summary)."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from jobs import console
from jobs.common import (
    add_common_args,
    cpus_at_least,
    job_parser,
    load_config,
    print_config,
    read_metadata,
    resolve_params,
    run_in_task,
    run_main,
    start_ray,
)
from jobs.ray_train.images import fit_images
from jobs.ray_train.tables import fit_tables
from jobs.ray_train.trainer import TrainerSpec
from jobs.tracking import tracked_registration, tracking_config
from synth.api import create_synthesizer, synthesizer_class
from synth.config import require
from synth.data.grid import make_grid
from synth.data.images import load_images
from synth.data.io import exists, fingerprint, join, read_table
from synth.data.png import encode_png
from synth.errors import ConfigError
from synth.metrics.evaluate import evaluate
from synth.models.protocol import SynthModel
from synth.store import ModelStore, json_bytes


@dataclass(frozen=True)
class TrainConfig:
    data: str = ""
    model: str = "ctgan"
    params: dict[str, Any] = field(default_factory=dict)
    metadata: str | None = None  # JSON/YAML file of column kinds (ours or SDV's format)
    output: str | None = None  # model directory (local or s3://)
    store: str | None = None  # model store root (default RAYSYNTH_STORE, else ./models)
    name: str | None = None  # register under this name in the store
    num_workers: int = 1  # Ray Train workers (data parallel)
    use_gpu: bool = False
    num_cpus: float = 1.0  # per worker
    resources_per_worker: dict[str, Any] = field(default_factory=dict)  # overrides num_cpus
    storage: str = "runs/train"  # Ray Train storage: checkpoints and results (local or s3://)
    run_name: str | None = None
    checkpoint_every: int = 5  # epochs
    max_failures: int = 2  # worker-group restarts from the last checkpoint
    sample_rows: int = 100_000  # random rows the transformer is fitted on
    early_stop_patience: int = 0  # validations without improvement before stopping (0: the
    #                               model's own rule: off, or argn's patience every epoch)
    validate_every: int = 5  # epochs between validations (column shapes on held rows)
    validation_rows: int = 5_000
    tracking: str | None = None  # mlflow | wandb: log the run (jobs/tracking.py)
    tracking_uri: str | None = None  # mlflow: default MLflow's own (sqlite:///mlflow.db)
    experiment: str = "raysynth"  # mlflow experiment / wandb project

    def validate(self) -> None:
        require(bool(self.data), "data is required: --data FILE (CSV/Parquet, local or s3://)")
        require(bool(self.output or self.name),
                "say where the model goes: --output DIR and/or --name NAME (model store)")
        require(self.num_workers >= 1, f"num_workers must be >= 1, got {self.num_workers}")
        require(self.checkpoint_every >= 1, "checkpoint_every must be >= 1 (epochs)")
        require(self.max_failures >= -1, "max_failures must be >= 0 (or -1: no limit)")
        require(self.sample_rows >= 100, "sample_rows must be >= 100")
        require(self.early_stop_patience >= 0, "early_stop_patience must be >= 0")
        require(self.validate_every >= 1, "validate_every must be >= 1")
        require(self.validation_rows >= 100, "validation_rows must be >= 100")
        tracking_config(self)


NOT_TRAINING = ("output", "store", "name", "run_name", "max_failures")  # where, not what


def run_name(cfg: TrainConfig) -> str:
    """`run_name`, else the model name and a hash of everything that shapes the training
    (the config but where the model goes, and the data's content fingerprint): a resubmitted
    job with the same config finds its run and resumes from the last checkpoint."""
    if cfg.run_name:
        return cfg.run_name
    doc = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in NOT_TRAINING}
    doc["data_fingerprint"] = fingerprint(cfg.data)
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode())
    return f"{cfg.model}-{digest.hexdigest()[:12]}"


def announce_run(spec: TrainerSpec) -> None:
    """Say whether this run starts fresh or resumes one found in the storage."""
    where = join(spec.storage, spec.run_name)
    if exists(where):
        print(f"[raysynth] resuming run {spec.run_name} from its last checkpoint in {where} "
              "(the same config ran before; set run_name=... for a fresh run)", flush=True)
    else:
        print(f"[raysynth] run {spec.run_name} (checkpoints in {where})", flush=True)


def local_cpus(cfg: TrainConfig) -> int:
    """Logical CPUs for a local Ray: the cores, raised so that Ray Data's reads (and image
    decoding) have a CPU beside the Train workers (with every CPU taken by workers, the
    dataset never produces a row and the run waits forever)."""
    per_worker = float(dict(cfg.resources_per_worker).get("CPU", cfg.num_cpus)
                       if cfg.resources_per_worker else cfg.num_cpus)
    return cpus_at_least(cfg.num_workers * per_worker + 1)


def trainer_spec(cfg: TrainConfig) -> TrainerSpec:
    spec = TrainerSpec(run_name=run_name(cfg),
                       storage=cfg.storage, num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                       resources_per_worker=dict(cfg.resources_per_worker)
                       or {"CPU": cfg.num_cpus}, max_failures=cfg.max_failures)
    announce_run(spec)
    return spec


def register(cfg: TrainConfig, model: SynthModel, record: dict[str, Any]) -> dict[str, Any]:
    """Save to --output and/or the next version of --name in the store, with training.json;
    with `tracking`, inside a tracked run that the record and the run name each other in."""
    def save(record: dict[str, Any]) -> dict[str, Any]:
        extra = {"training.json": json_bytes(record)}
        out: dict[str, Any] = {"model": cfg.model}
        if cfg.output:
            out["output"] = model.save(cfg.output, extra=extra)
        if cfg.name:
            version, path = ModelStore(cfg.store).add_version(
                cfg.name, lambda p: model.save(p, extra=extra))
            out.update(name=cfg.name, version=version, path=path)
        return out

    return tracked_registration(cfg, f"train {cfg.name or cfg.model}", record, save,
                                lambda: _grid_files(model))


def _grid_files(model: SynthModel) -> list[str]:
    """Image models: a grid of samples (a PNG in a temporary folder) for the tracked run."""
    if model.kind != "image":
        return []
    folder = tempfile.mkdtemp(prefix="raysynth-grid-")
    path = os.path.join(folder, "samples.png")
    with open(path, "wb") as f:
        f.write(encode_png(make_grid(model.sample(64, seed=0).images)))
    return [path]


def _ray_record(cfg: TrainConfig, result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training record, the final report's metrics without the history) of a Ray Train run."""
    final = dict(result.metrics or {})
    history = final.pop("history", [])
    record = {"config": dataclasses.asdict(cfg), "engine": "ray.train", "metrics": final,
              "history": history, "checkpoint": str(result.checkpoint.path)}
    return record, final


def train_on_ray_train(cfg: TrainConfig) -> dict[str, Any]:
    """Ray Train (DDP) fit, then evaluation summary and registration on the driver."""
    model, result, sample = fit_tables(cfg, read_metadata(cfg.metadata), trainer_spec(cfg))
    record, final = _ray_record(cfg, result)
    report = evaluate(sample, model.sample(len(sample), seed=1), metadata=model.metadata,
                      metrics=("fidelity", "detection"))
    record.update(
        data={"uri": cfg.data, "rows": int(sum(final.get("shard_rows", []))),
              "digest": str(sum(int(d) for d in final.get("shard_digest", [])) % 2**64),
              "columns": list(model.metadata.columns)},
        evaluation={"rows": len(sample), **report.scores})
    if getattr(model, "privacy", None):
        record["dp"] = model.privacy
    out = register(cfg, model, record)
    out.update(epochs=final.get("stopped_at"), resumed_from=final.get("resumed_from"),
               quality=round(report.scores["quality"], 4), run=str(result.path))
    return out


def fit_and_save(cfg: TrainConfig) -> dict[str, Any]:
    """One-process fit (--no-ray, or one Ray task): read, fit, save/register."""
    df = read_table(cfg.data)
    model = create_synthesizer(cfg.model, **cfg.params)
    model.fit(df, metadata=read_metadata(cfg.metadata))
    record = {"config": dataclasses.asdict(cfg), "engine": "process", "history": model.history,
              "data": {"uri": cfg.data, "rows": len(df), "columns": list(df.columns)}}
    if getattr(model, "privacy", None):
        record["dp"] = model.privacy
    return {"rows": len(df), **register(cfg, model, record)}


def train_images(cfg: TrainConfig, args: argparse.Namespace) -> dict[str, Any]:
    """Image models: Ray Train (any num_workers), or this process with --no-ray."""
    if cfg.early_stop_patience:
        raise ConfigError("early_stop_patience is for tables (it validates column shapes); "
                          "image models train for params.epochs")
    if args.no_ray and cfg.num_workers > 1:
        raise ConfigError(f"num_workers={cfg.num_workers} needs Ray Train; drop --no-ray")
    if not args.no_ray and cfg.params.get("select_every"):
        raise ConfigError("params.select_every (held-out FID selection) runs in-process for "
                          "now: add --no-ray, or drop it to train on Ray Train")
    if args.no_ray:
        data = load_images(cfg.data)
        model = create_synthesizer(cfg.model, **cfg.params).fit(data)
        record = {"config": dataclasses.asdict(cfg), "engine": "process",
                  "history": model.history, "data": {"uri": cfg.data,
                                                     "images": len(data.images)}}
        return register(cfg, model, record)
    start_ray(args.address, num_cpus=local_cpus(cfg))
    model, result, info = fit_images(cfg, trainer_spec(cfg))
    record, final = _ray_record(cfg, result)
    record["data"] = {**info, "attributes": model.labels.attributes}
    model.history = record["history"]
    return {**register(cfg, model, record), "run": str(result.path),
            "epochs": final.get("stopped_at"), "resumed_from": final.get("resumed_from")}


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth train", __doc__)
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
        cfg = resolve_params(load_config(TrainConfig, args.config, flags, args.overrides))
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, cfg.storage, "train")
        family = synthesizer_class(cfg.model)
        if family.kind == "image":
            print(json.dumps(train_images(cfg, args), default=str))
            return
        epochs = family.trains_in_epochs()
        if cfg.num_workers > 1 and (args.no_ray or not epochs):
            raise ConfigError(f"num_workers={cfg.num_workers} needs Ray Train and a model that "
                              f"trains in epochs (ctgan, tvae); {cfg.model!r}"
                              + (" with --no-ray" if args.no_ray else " fits in one process"))
        if epochs and not args.no_ray:
            start_ray(args.address, num_cpus=local_cpus(cfg))
            result = train_on_ray_train(cfg)
        else:
            result = run_in_task(fit_and_save, cfg, args, num_cpus=cfg.num_cpus,
                                 num_gpus=1 if cfg.use_gpu else 0)
        print(json.dumps(result, default=str))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
