"""The end-to-end job: prepare -> train -> evaluate -> register -> sample [-> deploy].

    python -m jobs.pipeline --config configs/demo.yaml      # what `make demo` runs
    synth pipeline --data data/adult_train.csv.gz --target income --model ctgan --rows 10000
    ray job submit --working-dir . -- python -m jobs.pipeline --data s3://b/adult.csv \
        --target income --model ctgan --output s3://b/runs/adult --rows 1000000 --deploy

Everything lands under one run directory (`--output`, local or s3://; the resolved config in
`pipeline.json`):
- prepare: column kinds detected, a train/holdout split (stratified on the target) in
  `prepared/`;
- train: Ray Train (`num_workers` DDP workers, checkpoints in `train/`) for ctgan/tvae, one
  Ray task for the others; the model in `model/`;
- evaluate: `evaluation/report.json` + `report.html` (fidelity, utility against the holdout
  when a target is set, privacy, detection);
- register: the evaluated model as the next version of `--name` in the store (`--store`,
  default `<output>/models`), with training.json and evaluation.json;
- sample: `--rows` rows with Ray Data to the Parquet prefix `synthetic/`;
- monitoring: a baseline of the training split after prepare (`monitor/baseline/`), and a
  check of the sampled rows against it after sample (`monitor/check/`: violations, drift and
  report.html; its history grows with every run that samples again);
- deploy (`--deploy`): the Ray Serve HTTP app over the store. On a local Ray the command then
  serves until Ctrl-C; on a cluster the app stays up after the job ends.
Each stage records a completion marker with its config hash under `_stages/`; a rerun skips
the stages whose marker, hash and outputs are there, and reruns a changed stage and those
after it. On a multi-node cluster give `--output` (and `--store`) on S3 so that every node
sees them. `--no-ray` runs every stage in this process (sampling to one Parquet file)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobs import console
from jobs.common import (
    add_common_args,
    job_parser,
    load_config,
    print_config,
    read_metadata,
    resolve_params,
    run_main,
    start_ray,
)
from jobs.pipeline_stages import Stages
from jobs.ray_data.parts import sample_to_prefix
from jobs.sample import SampleConfig, sample_to_file
from jobs.tracking import track_pipeline, tracking_config
from jobs.train import TrainConfig, fit_and_save, train_on_ray_train
from synth.api import load_synthesizer, synthesizer_class
from synth.config import require
from synth.data.io import fingerprint, is_s3, join, read_bytes, read_table, write_bytes, write_table
from synth.data.metadata import detect_metadata
from synth.errors import ConfigError
from synth.metrics.bands import verdict_lines, verdicts
from synth.metrics.evaluate import evaluate as synth_evaluate
from synth.monitor.baseline import baseline as monitor_baseline
from synth.monitor.check import check as monitor_check
from synth.store import COMPLETE, ModelStore, json_bytes

SOURCE_FILE = "source.json"  # a registered version's origin: the trained model and its digest


@dataclass(frozen=True)
class PipelineConfig:
    data: str = ""
    target: str | None = None
    metadata: str | None = None  # JSON/YAML: column kinds and constraints (else detected)
    model: str = "ctgan"
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "demo"
    output: str = "runs/demo"
    store: str | None = None  # default: <output>/models
    rows: int = 10_000
    holdout_fraction: float = 0.2
    seed: int = 0
    num_workers: int = 1  # Ray Train workers (ctgan, tvae)
    use_gpu: bool = False
    rows_per_file: int = 500_000  # sample: rows per Parquet part
    concurrency: int = 2  # sample: generating actors
    deploy: bool = False  # serve the model over HTTP (Ray Serve) at the end
    host: str = "127.0.0.1"  # deploy: HTTP host (0.0.0.0 on a cluster behind a firewall)
    port: int = 8000  # deploy: HTTP port
    serve: dict[str, Any] = field(default_factory=dict)  # deploy: ServeSettings (serve.auth=
    #                                                      none for an open local endpoint)
    tracking: str | None = None  # mlflow | wandb: one run with scores and reports
    tracking_uri: str | None = None  # mlflow: default MLflow's own (sqlite:///mlflow.db)
    experiment: str = "raysynth"  # mlflow experiment / wandb project

    def validate(self) -> None:
        require(bool(self.data), "data is required: --data FILE")
        require(0.0 < self.holdout_fraction < 0.9, "holdout_fraction must be in (0, 0.9)")
        require(self.rows >= 1, "rows must be >= 1")
        require(self.num_workers >= 1, "num_workers must be >= 1")
        require(1 <= self.port <= 65535, f"port must be a TCP port, got {self.port}")
        tracking_config(self)

    @property
    def store_root(self) -> str:
        root = self.store or join(self.output, "models")
        return root if is_s3(root) else str(Path(root).absolute())


def prepare(cfg: PipelineConfig) -> dict[str, str]:
    """Detect metadata and split train/holdout (stratified on the target when given)."""
    from sklearn.model_selection import train_test_split

    df = read_table(cfg.data)
    md = detect_metadata(df, read_metadata(cfg.metadata))
    if cfg.target is not None and cfg.target not in df.columns:
        raise ConfigError(f"target {cfg.target!r} is not a column; columns: "
                          f"{', '.join(df.columns)}")
    strat = strata(df[cfg.target], cfg.holdout_fraction) \
        if cfg.target and md.kind(cfg.target) in ("categorical", "boolean") else None
    train, holdout = train_test_split(df, test_size=cfg.holdout_fraction, random_state=cfg.seed,
                                      stratify=strat)
    paths = {k: join(cfg.output, "prepared", f"{k}.parquet") for k in ("train", "holdout")}
    write_table(train.reset_index(drop=True), paths["train"])
    write_table(holdout.reset_index(drop=True), paths["holdout"])
    paths["metadata"] = join(cfg.output, "prepared", "metadata.json")
    write_bytes(paths["metadata"], json_bytes(md.to_dict()))
    return paths


def strata(target: pd.Series, holdout_fraction: float) -> pd.Series | None:
    """The target as strata for the holdout split: nulls are a stratum of their own, classes
    too small to appear on both sides are pooled into one "rare" stratum (into the largest
    class when the pool itself is too small); None (a plain random split, with a warning) when
    even that cannot be split."""
    labels = target.astype(object).where(target.notna(), "<null>").astype(str)
    counts = labels.value_counts()
    need = max(2, int(np.ceil(1 / min(holdout_fraction, 1 - holdout_fraction))))
    small = counts.index[counts < need]
    if len(small):  # pooled; a pool too small to split joins the largest class
        pool = "<rare>" if counts[small].sum() >= need else counts.index[0]
        labels = labels.where(~labels.isin(small), pool)
        counts = labels.value_counts()
    holdout = int(np.ceil(len(labels) * holdout_fraction))
    if counts.min() < 2 or len(counts) > holdout or len(counts) > len(labels) - holdout:
        print(f"warning: target {target.name!r} cannot stratify the holdout split (classes: "
              f"{len(counts)}, smallest {int(counts.min())} rows); splitting at random",
              flush=True)
        return None
    return labels


def train(cfg: PipelineConfig, paths: dict[str, str], run_name: str, ray: Any | None
          ) -> dict[str, Any]:
    """Ray Train for models that train in epochs, else one Ray task (or this process); the
    model goes to `<output>/model` (registered after its evaluation)."""
    tc = TrainConfig(data=paths["train"], model=cfg.model, params=cfg.params,
                     metadata=paths["metadata"], output=join(cfg.output, "model"),
                     num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                     storage=join(cfg.output, "train"), run_name=run_name)
    if ray is None:
        out = fit_and_save(tc)
    elif synthesizer_class(cfg.model).trains_in_epochs():
        out = train_on_ray_train(tc)
    else:
        out = ray.get(ray.remote(num_gpus=1 if cfg.use_gpu else 0)(fit_and_save).remote(tc))
    return {"model": out["output"]}


def register(cfg: PipelineConfig, model_dir: str, scores: dict[str, Any]) -> dict[str, Any]:
    """The evaluated model as the next version of `name` in the store, with its training
    record and evaluation scores."""
    digest = fingerprint(model_dir)
    store = ModelStore(cfg.store_root)
    done = _registered(store, cfg.name, digest)
    if done is not None:  # a rerun after a crash between saving and the stage marker
        return {"name": cfg.name, "version": done, "path": store.resolve(cfg.name, done)}
    model = load_synthesizer(model_dir)
    extra = {"training.json": read_bytes(join(model_dir, "training.json")),
             "evaluation.json": json_bytes(scores),
             SOURCE_FILE: json_bytes({"model": model_dir, "model_digest": digest})}
    version, path = store.add_version(cfg.name, lambda p: model.save(p, extra=extra))
    return {"name": cfg.name, "version": version, "path": path}


def _registered(store: ModelStore, name: str, digest: str) -> int | None:
    """The version of `name` already registered from a model with this digest, if any."""
    for version in reversed(store.versions(name)):
        try:
            source = json.loads(read_bytes(join(store.resolve(name, version), SOURCE_FILE)))
        except (FileNotFoundError, ValueError):
            continue
        if source.get("model_digest") == digest:
            return version
    return None


def evaluate(model_path: str, paths: dict[str, str], report_dir: str, target: str | None,
             seed: int, data: str = "") -> dict[str, Any]:
    """The full evaluation (synth.evaluate) of as many fresh rows as the training set has,
    against the training rows and the holdout; report.json + report.html in report_dir."""
    real, holdout = read_table(paths["train"]), read_table(paths["holdout"])
    model = load_synthesizer(model_path)
    synthetic = model.sample(len(real), seed=seed + 1)
    report = synth_evaluate(real, synthetic, metadata=model.metadata, target=target,
                            holdout=holdout, seed=seed)
    report.settings["subject"] = {"model": f"{model.name} ({model_path})", "data": data}
    dp = getattr(model, "privacy", None)  # the report says whether and with which budget
    report.settings["training_privacy"] = dp and {
        k: dp[k] for k in ("epsilon", "delta", "steps", "noise_multiplier")}
    headline = ("quality", "column_shapes", "tstr_ratio", "dcr_ratio", "detection_auc")
    files = report.save(report_dir)
    return {"report": files["json"], "report_html": files["html"],
            **{k: round(float(report.scores[k]), 4) for k in headline if k in report.scores},
            "verdicts": verdicts(report.scores)}


def sample(cfg: PipelineConfig, model_path: str, ray: Any | None) -> dict[str, Any]:
    """Ray Data writes the Parquet prefix `synthetic/` (rerun-safe); without Ray, one file."""
    if ray is None:
        sc = SampleConfig(model=model_path, rows=cfg.rows, seed=cfg.seed,
                          output=join(cfg.output, "synthetic.parquet"))
        out = sample_to_file(sc)
        return {"synthetic": out["output"], "rows": out["rows"], "check": out["output"]}
    sc = SampleConfig(model=model_path, rows=cfg.rows, seed=cfg.seed, overwrite=True,
                      output=join(cfg.output, "synthetic"), rows_per_file=cfg.rows_per_file,
                      concurrency=cfg.concurrency)
    out = sample_to_prefix(sc, None)
    manifest = join(sc.output, "_manifest.json")
    parts = [join(sc.output, f["name"]) for f in json.loads(read_bytes(manifest))["files"]]
    return {"synthetic": sc.output, "rows": out["rows"], "check": manifest, "parts": parts}


def baseline(cfg: PipelineConfig, paths: dict[str, str]) -> dict[str, Any]:
    """The monitoring baseline of the training split (statistics and suggested rules)."""
    out = join(cfg.output, "monitor", "baseline")
    md = json.loads(read_bytes(paths["metadata"]))
    kinds = {c: {"kind": m["kind"]} for c, m in md.get("columns", {}).items()}
    monitor_baseline(paths["train"], output=out, metadata={"columns": kinds}, seed=cfg.seed)
    return {"baseline": out, "files": [join(out, "statistics.json"),
                                       join(out, "constraints.json")]}


def check_sample(cfg: PipelineConfig, base: str, synthetic: str) -> dict[str, Any]:
    """The sampled batch checked against the baseline: rule violations and drift."""
    out = join(cfg.output, "monitor", "check")
    result = monitor_check(base, synthetic, output=out)
    return {"monitor_report": join(out, "report.html"), "monitor_alarm": result.alarm,
            "monitor_flagged": sorted(result.flagged)}


def deploy(cfg: PipelineConfig) -> dict[str, Any]:
    """Ray Serve app over the store at http://host:port; returns once the model answers."""
    from serving import launch  # Ray Serve and FastAPI load only when deploying

    settings = {"store": cfg.store_root, **cfg.serve}
    launch.deploy(settings, cfg.host, cfg.port)
    key = launch.client_key(settings)
    info = launch.wait_for_model(cfg.host, cfg.port, cfg.name, key)
    return {"endpoint": f"http://{cfg.host}:{cfg.port}", "served_versions": info["versions"],
            "try": launch.try_line(cfg.host, cfg.port, key is not None, cfg.name)}


def run(cfg: PipelineConfig, ray: Any | None, log: Any = print) -> dict[str, Any]:
    def task(fn, *args):
        return fn(*args) if ray is None else ray.get(ray.remote(fn).remote(*args))

    if cfg.deploy:  # no key and no serve.auth=none: say so now, not after training
        from serving import launch

        launch.client_key({"store": cfg.store_root, **cfg.serve})
    write_bytes(join(cfg.output, "pipeline.json"), json_bytes(dataclasses.asdict(cfg)))
    stages = Stages(cfg.output, log)
    paths = stages.run(
        "prepare", {"data": cfg.data, "data_fingerprint": fingerprint(cfg.data),
                    "target": cfg.target, "holdout_fraction": cfg.holdout_fraction,
                    "seed": cfg.seed, "metadata": cfg.metadata,
                    "metadata_fingerprint": fingerprint(cfg.metadata) if cfg.metadata else None},
        lambda h: task(prepare, cfg), lambda out: list(out.values()))
    base = stages.run("baseline", {}, lambda h: task(baseline, cfg, paths),
                      lambda out: out["files"])
    trained = stages.run(
        "train", {"model": cfg.model, "params": cfg.params, "num_workers": cfg.num_workers},
        lambda h: train(cfg, paths, f"{cfg.name}-{h}", ray),
        lambda out: [join(out["model"], COMPLETE)])
    scores = stages.run(
        "evaluate", {"target": cfg.target, "seed": cfg.seed},
        lambda h: task(evaluate, trained["model"], paths, join(cfg.output, "evaluation"),
                       cfg.target, cfg.seed, cfg.data), lambda out: [out["report"]])
    model = stages.run(
        "register", {"name": cfg.name, "store": cfg.store_root},
        lambda h: task(register, cfg, trained["model"], scores),
        lambda out: [join(out["path"], COMPLETE)])
    synthetic = stages.run(
        "sample", {"rows": cfg.rows, "seed": cfg.seed, "rows_per_file": cfg.rows_per_file,
                   "ray": ray is not None},
        lambda h: sample(cfg, model["path"], ray),
        lambda out: [out["check"], *out.get("parts", [])])  # a deleted part reruns it
    monitored = stages.run("check", {}, lambda h: task(check_sample, cfg, base["baseline"],
                                                        synthetic["synthetic"]),
                           lambda out: [out["monitor_report"]])
    stages.say_skipped()
    result = {**{k: model[k] for k in ("name", "version", "path")},
              **scores, **{k: synthetic[k] for k in ("synthetic", "rows")}, **monitored,
              "ran": ",".join(stages.ran) or "nothing (all stages done before)"}
    if cfg.deploy:
        if ray is None:
            raise ConfigError("--deploy needs Ray (Ray Serve): drop --no-ray")
        result.update(deploy(cfg))
    result.update(track_pipeline(cfg, result))
    return result


def summary_lines(result: dict[str, Any], log: Path | None = None) -> list[str]:
    """What the pipeline prints at the end: where things are, then the verdicts."""
    lines = [f"pipeline done; ran: {result['ran']}",
             f"  model      {result['name']} v{result['version']} at {result['path']}",
             f"  synthetic  {result['rows']} rows at {result['synthetic']}",
             f"  report     {result.get('report_html', '-')}"]
    if "monitor_report" in result:
        state = ("ALARM on " + ", ".join(result["monitor_flagged"]) if result["monitor_alarm"]
                 else "no alarm")
        lines.append(f"  monitor    {state}: {result['monitor_report']}")
    if log is not None and not result["ran"].startswith("nothing"):
        lines.append(f"  ray logs   {log} (--verbose shows them here)")
    for key in ("endpoint", "try"):
        if key in result:
            lines.append(f"  {key:10s} {result[key]}")
    return lines + verdict_lines(result.get("verdicts") or {})


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth pipeline", __doc__)
    ap.add_argument("--data", help="input table (CSV/Parquet, local or s3://)")
    ap.add_argument("--target", help="target column (stratifies the holdout split)")
    ap.add_argument("--metadata", help="JSON/YAML file of column kinds and constraints")
    ap.add_argument("--model", help="synthesizer name")
    ap.add_argument("--rows", type=int, help="synthetic rows to write")
    ap.add_argument("--output", help="run directory (local or s3://)")
    ap.add_argument("--store", help="model store root (default <output>/models)")
    ap.add_argument("--name", help="register the model under this name")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--deploy", action="store_true", help="serve the model with Ray Serve")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        flags = {"data": args.data, "target": args.target, "metadata": args.metadata,
                 "model": args.model,
                 "rows": args.rows, "output": args.output, "store": args.store,
                 "name": args.name, "seed": args.seed, "deploy": True if args.deploy else None}
        cfg = resolve_params(load_config(PipelineConfig, args.config, flags, args.overrides))
        if args.dry_run:
            print_config(cfg)
            return
        log = console.configure(args.verbose, cfg.output, "pipeline")
        if synthesizer_class(cfg.model).kind == "image":
            raise ConfigError(f"the pipeline is for tables; {cfg.model!r} is an image model "
                              "(use synth train / synth evaluate-images / synth sample)")
        on_cluster = bool(args.address or os.environ.get("RAY_ADDRESS"))
        result = run(cfg, None if args.no_ray else start_ray(args.address))
        print("\n".join(summary_lines(result, log)), flush=True)
        if cfg.deploy and not on_cluster:
            from serving.launch import serve_until_interrupted

            serve_until_interrupted()

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
