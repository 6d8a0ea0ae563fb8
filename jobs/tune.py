"""Hyperparameter search with Ray Tune against the quality of the synthetic data, not a GAN
loss.

    synth tune --config configs/adult_tune.yaml
    synth tune --data data/adult_train.csv.gz --models ctgan,tvae trials=8 max_epochs=30
    python -m jobs.tune ...        (the same; what `ray job submit -- ...` runs)

Each trial trains one model family with sampled hyperparameters (the search space declared
beside each model config, `space.<model>.<param>` to override, `fixed.<model>.<param>` to pin)
for at most `max_epochs` epochs. Every `report_every` epochs it samples as many rows as the
validation split and reports `objective`: the weighted mean of evaluation scores (`weights`,
default {quality: 1}; tstr_ratio needs `target`). Validation rows are a held-out split of the
data (or `holdout`), never training rows. ASHA stops weak trials early; `search=optuna` uses
TPE (optuna, installed by make). The best trial's model is registered (`name`, `store`) with
its config and scores; a results table (every trial: params, scores, epochs, time) is written to
`<storage>/<run_name>/results.csv` and printed. `resume=true` continues an interrupted search
(Tuner.restore). A trial runs in one process (`cpus_per_trial`), or with
`workers_per_trial=N` as a Ray Train run of N DDP workers (a TorchTrainer inside the Tune
function, which itself takes 0.01 CPU; Train V2 with TuneReportCallback). A local Ray gets
`num_cpus` logical CPUs (default: enough for one trial) and, for Train trials, the dashboard:
Ray Train frees the workers of a stopped trial through the State API it serves."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs import console
from jobs.common import (
    add_common_args,
    cpus_at_least,
    job_parser,
    load_config,
    print_config,
    run_main,
    start_ray,
)
from jobs.ray_train.trainer import storage
from jobs.ray_train.worker import MODEL_DIR
from jobs.ray_tune.progress import TrialProgress
from jobs.ray_tune.space import param_space
from jobs.ray_tune.trial import TrialSpec, trial
from jobs.tracking import best_trial_run, tag_run, tracking_config, tune_callbacks
from synth.api import load_synthesizer
from synth.config import require
from synth.data.io import join, list_dir, read_table, write_bytes
from synth.errors import ConfigError, SynthError
from synth.metrics.objective import TuningTarget, check_weights
from synth.store import ModelStore, json_bytes


@dataclass(frozen=True)
class TuneJobConfig:
    data: str = ""
    models: tuple[str, ...] = ("ctgan",)
    target: str | None = None
    holdout: str | None = None  # validation rows; default: `validation_fraction` of data
    validation_fraction: float = 0.2
    validation_rows: int = 2000  # at most this many validation rows are compared
    space: dict[str, dict] = field(default_factory=dict)  # model -> param -> spec
    fixed: dict[str, dict] = field(default_factory=dict)  # model -> param -> value
    weights: dict[str, float] = field(default_factory=lambda: {"quality": 1.0})
    search: str = "random"  # random | optuna
    scheduler: str = "asha"  # asha | fifo
    trials: int = 8
    max_epochs: int = 30
    report_every: int = 5
    reduction_factor: int = 3
    cpus_per_trial: float = 1.0  # per trial, or per Train worker when workers_per_trial > 1
    workers_per_trial: int = 1  # > 1: each trial is a Ray Train run (DDP) of that many workers
    use_gpu: bool = False  # Train workers of a trial take one GPU each
    time_budget_s: float | None = None
    max_concurrent: int | None = None  # trials running at once (default: as resources allow)
    num_cpus: int | None = None  # logical CPUs of a local Ray; default: cores, or one trial's
    storage: str = "runs/tune"
    run_name: str = "tune"
    name: str | None = None  # register the best model under this name
    store: str | None = None
    resume: bool = False
    seed: int = 0
    tracking: str | None = None  # mlflow | wandb: one run per trial (Ray Tune's callbacks)
    tracking_uri: str | None = None  # mlflow: default MLflow's own (sqlite:///mlflow.db)
    experiment: str = "raysynth"  # mlflow experiment / wandb project

    def validate(self) -> None:
        require(bool(self.data), "data is required: --data FILE (CSV/Parquet, local or s3://)")
        require(bool(self.models), "models must name at least one model family")
        require(self.search in ("random", "optuna"), f"search must be random or optuna, got "
                f"{self.search!r}")
        require(self.scheduler in ("asha", "fifo"), "scheduler must be asha or fifo")
        require(self.trials >= 1, "trials must be >= 1")
        require(self.max_concurrent is None or self.max_concurrent >= 1,
                "max_concurrent must be >= 1")
        require(self.workers_per_trial >= 1, "workers_per_trial must be >= 1")
        require(self.report_every >= 1, "report_every must be >= 1")
        require(self.max_epochs >= self.report_every, f"max_epochs ({self.max_epochs}) is "
                f"smaller than report_every ({self.report_every}): no trial would report")
        require(self.time_budget_s is None or self.time_budget_s >= 30,
                "time_budget_s is too small for one trial (>= 30 s: Ray and a first report)")
        require(self.num_cpus is None or self.num_cpus >= self.cpus_per_trial * (
            self.workers_per_trial + 0.01), f"num_cpus={self.num_cpus} cannot hold one trial "
            f"({self.workers_per_trial} x {self.cpus_per_trial} CPUs)")
        require(0 < self.validation_fraction < 0.9, "validation_fraction must be in (0, 0.9)")
        check_weights(dict(self.weights), self.target)
        tracking_config(self)
        private = [m for m, params in self.fixed.items() if isinstance(params, dict)
                   and params.get("dp") is not None]
        require(not private, f"fixed.{private[0] if private else ''}.dp: a search picks its "
                "trial by scores on real rows, which differential privacy does not account; "
                "tune without dp, then train the chosen config with params.dp")


def split(cfg: TuneJobConfig) -> tuple[Any, Any]:
    """(training rows, validation rows): the holdout file, or a seeded random split."""
    df = read_table(cfg.data)
    if cfg.holdout:
        return df, read_table(cfg.holdout).head(cfg.validation_rows)
    valid = df.sample(frac=cfg.validation_fraction, random_state=cfg.seed)
    train = df.drop(valid.index).reset_index(drop=True)
    return train, valid.head(cfg.validation_rows).reset_index(drop=True)


def trial_spec(cfg: TuneJobConfig, train: Any, valid: Any) -> TrialSpec:
    target = TuningTarget(train.head(len(valid)), valid, dict(cfg.weights), cfg.target)
    return TrialSpec(target=target, max_epochs=cfg.max_epochs, report_every=cfg.report_every,
                     seed=cfg.seed, fixed=dict(cfg.fixed), workers=cfg.workers_per_trial,
                     use_gpu=cfg.use_gpu, cpus=cfg.cpus_per_trial,
                     storage=f"{cfg.storage.rstrip('/')}/{cfg.run_name}-train")


def build_tuner(cfg: TuneJobConfig, train: Any, valid: Any) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    space = param_space(list(cfg.models), cfg.space, cfg.fixed)
    spec = trial_spec(cfg, train, valid)
    # a trial of Train workers only drives them: almost no CPU (exactly 0 is refused)
    driver = {"cpu": 0.01} if cfg.workers_per_trial > 1 else {"cpu": cfg.cpus_per_trial}
    trainable = tune.with_resources(tune.with_parameters(trial, train=train, spec=spec), driver)
    path, fs = storage(cfg.storage)
    if cfg.resume:
        experiment = f"{path.rstrip('/')}/{cfg.run_name}"
        if tune.Tuner.can_restore(experiment, storage_filesystem=fs):
            return tune.Tuner.restore(experiment, trainable, resume_errored=True,
                                      storage_filesystem=fs)
    scheduler = (ASHAScheduler(time_attr="epoch", max_t=cfg.max_epochs,
                               grace_period=cfg.report_every,
                               reduction_factor=cfg.reduction_factor)
                 if cfg.scheduler == "asha" else FIFOScheduler())
    return tune.Tuner(
        trainable, param_space=space,
        tune_config=tune.TuneConfig(metric="objective", mode="max", num_samples=cfg.trials,
                                    scheduler=scheduler, search_alg=_search(cfg),
                                    time_budget_s=cfg.time_budget_s,
                                    max_concurrent_trials=cfg.max_concurrent),
        run_config=tune.RunConfig(
            name=cfg.run_name, storage_path=path, storage_filesystem=fs,
            verbose=None if console.verbose() else 0,
            callbacks=[TrialProgress(cfg.trials, cfg.max_epochs), *tune_callbacks(cfg)]))


def _search(cfg: TuneJobConfig) -> Any:
    if cfg.search == "random":  # seeded: the same config draws the same trial parameters
        from ray.tune.search.basic_variant import BasicVariantGenerator

        return BasicVariantGenerator(random_state=cfg.seed)
    try:
        from ray.tune.search.optuna import OptunaSearch
    except ImportError:
        raise ConfigError("search=optuna needs optuna: pip install optuna") from None
    return OptunaSearch(seed=cfg.seed)


def results_table(results: Any) -> Any:
    df = results.get_dataframe()
    if "objective" not in df.columns:
        errors = [str(r.error).strip().splitlines()[-1] for r in results if r.error]
        raise SynthError(f"no trial reported a score ({len(errors)} failed); first error: "
                         f"{errors[0] if errors else 'none recorded'}")
    keep = [c for c in df.columns if c.startswith("config/") or c in (
        "trial_id", "objective", "quality", "tstr_ratio", "dcr_ratio", "epoch",
        "time_total_s")]
    df = df[keep].copy()
    for col in keep:  # a trial samples every family's space; show only its own family's
        family = col.split("/")[1] if col.count("/") == 2 else None
        if family and "config/model" in df.columns:
            df[col] = df[col].astype(object).where(df["config/model"] == family)
    return df.sort_values("objective", ascending=False).reset_index(drop=True)


def run(cfg: TuneJobConfig) -> dict[str, Any]:
    train, valid = split(cfg)
    results = build_tuner(cfg, train, valid).fit()
    table = results_table(results)
    write_bytes(join(cfg.storage, cfg.run_name, "results.csv"), table.to_csv(index=False).encode())
    print(table.to_string(max_colwidth=24, na_rep="-"))
    best = results.get_best_result(metric="objective", mode="max", scope="last")
    out = {"trials": len(table), "best_objective": round(float(best.metrics["objective"]), 4),
           "best_config": best.config, "results": join(cfg.storage, cfg.run_name,
                                                        "results.csv")}
    if cfg.name:
        out.update(_register(cfg, best))
    return out


def _register(cfg: TuneJobConfig, best: Any) -> dict[str, Any]:
    if best.checkpoint is not None:
        with best.checkpoint.as_directory() as folder:
            model = load_synthesizer(str(Path(folder) / MODEL_DIR))
    else:  # a Train-workers trial: TuneReportCallback forwards metrics; the model is in the
        #   trial's own Ray Train run, in its newest checkpoint
        model = load_synthesizer(_train_run_model(cfg, best.metrics["trial_id"]))
    record = {"engine": "ray.tune", "config": dataclasses.asdict(cfg), "trial": best.config,
              "scores": {k: v for k, v in best.metrics.items() if isinstance(v, int | float)}}
    link = best_trial_run(cfg, best)
    if link:
        record["tracking"] = link
    extra = {"training.json": json_bytes(record)}
    version, path = ModelStore(cfg.store).add_version(cfg.name,
                                                      lambda p: model.save(p, extra=extra))
    if link and link.get("run_id"):
        tag_run(cfg, link["run_id"], {"raysynth.model": f"{cfg.name} v{version}",
                                      "raysynth.model_path": path})
    return {"name": cfg.name, "version": version, "path": path}


def _train_run_model(cfg: TuneJobConfig, trial_id: str) -> str:
    run = join(cfg.storage, f"{cfg.run_name}-train", f"trial-{trial_id}")
    checkpoints = sorted(n for n in list_dir(run)
                         if n.startswith("checkpoint_") and not n.endswith(".json"))
    if not checkpoints:
        raise SynthError(f"the best trial {trial_id} left no checkpoint under {run}")
    return join(run, checkpoints[-1], MODEL_DIR)


def local_cpus(cfg: TuneJobConfig) -> int:
    """Logical CPUs for a local Ray: `num_cpus`, else the cores, raised so that one trial (its
    Train workers and the 0.01-CPU driver) can be scheduled even on a 2-core machine."""
    one_trial = cfg.cpus_per_trial * cfg.workers_per_trial + (0.01 if cfg.workers_per_trial > 1
                                                               else 0)
    return cfg.num_cpus or cpus_at_least(one_trial)


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth tune", __doc__)
    ap.add_argument("--data", help="training table (CSV/Parquet, local or s3://)")
    ap.add_argument("--models", help="model families to search, comma-separated "
                    "(ctgan,tvae,gaussian_copula)")
    ap.add_argument("--target", help="column for utility scores (tstr_ratio)")
    ap.add_argument("--name", help="register the best model under this name")
    ap.add_argument("--store", help="model store root")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
        flags = {"data": args.data, "models": models, "target": args.target,
                 "name": args.name, "store": args.store}
        cfg = load_config(TuneJobConfig, args.config, flags, args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, cfg.storage, "tune")
        param_space(list(cfg.models), cfg.space, cfg.fixed)  # bad spaces fail before Ray
        workers = cfg.workers_per_trial > 1
        start_ray(args.address, num_cpus=local_cpus(cfg), dashboard=workers)
        print(json.dumps(run(cfg), default=str))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
