"""The end-to-end job on a local Ray (or a cluster): prepare -> train -> evaluate -> sample.

    python -m jobs.pipeline --config configs/demo.yaml      # what `make demo` runs
    synth pipeline --data data/adult_train.csv.gz --model ctgan --rows 10000 params.epochs=20

Everything lands under one run directory (`--output`, local or s3://): the prepared split,
the model (registered in the store), the evaluation (evaluation/report.json + report.html:
fidelity, utility against the holdout when a target is set, privacy, detection) and the
synthetic table. Each stage runs as a Ray task; every stage reruns on each call."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from jobs.common import add_common_args, load_config, print_config, run_main, start_ray
from jobs.sample import SampleConfig, sample_to_file
from jobs.train import TrainConfig, fit_and_save
from synth.config import require
from synth.errors import ConfigError


@dataclass(frozen=True)
class PipelineConfig:
    data: str = ""
    target: str | None = None
    model: str = "ctgan"
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "demo"
    output: str = "runs/demo"
    store: str | None = None  # default: <output>/models
    rows: int = 10_000
    holdout_fraction: float = 0.2
    seed: int = 0

    def validate(self) -> None:
        require(bool(self.data), "data is required: --data FILE")
        require(0.0 < self.holdout_fraction < 0.9, "holdout_fraction must be in (0, 0.9)")
        require(self.rows >= 1, "rows must be >= 1")


def prepare(cfg: PipelineConfig) -> dict[str, str]:
    """Detect metadata and split train/holdout (stratified on the target when given)."""
    from sklearn.model_selection import train_test_split

    from synth.data.io import join, read_table, write_bytes, write_table
    from synth.data.metadata import detect_metadata
    from synth.store import json_bytes

    df = read_table(cfg.data)
    md = detect_metadata(df)
    if cfg.target is not None and cfg.target not in df.columns:
        raise ConfigError(f"target {cfg.target!r} is not a column; columns: "
                          f"{', '.join(df.columns)}")
    strat = df[cfg.target] if cfg.target and md.kind(cfg.target) == "categorical" else None
    train, holdout = train_test_split(df, test_size=cfg.holdout_fraction, random_state=cfg.seed,
                                      stratify=strat)
    paths = {k: join(cfg.output, "prepared", f"{k}.parquet") for k in ("train", "holdout")}
    write_table(train.reset_index(drop=True), paths["train"])
    write_table(holdout.reset_index(drop=True), paths["holdout"])
    paths["metadata"] = join(cfg.output, "prepared", "metadata.json")
    write_bytes(paths["metadata"], json_bytes(md.to_dict()))
    return paths


def evaluate(model_path: str, paths: dict[str, str], report_dir: str, target: str | None,
             seed: int) -> dict[str, Any]:
    """The full evaluation (synth.evaluate) of as many fresh rows as the training set has,
    against the training rows and the holdout; report.json + report.html in report_dir."""
    import synth
    from synth.data.io import read_table

    real, holdout = read_table(paths["train"]), read_table(paths["holdout"])
    model = synth.load_synthesizer(model_path)
    synthetic = model.sample(len(real), seed=seed + 1)
    report = synth.evaluate(real, synthetic, metadata=model.metadata, target=target,
                            holdout=holdout, seed=seed)
    return {"scores": report.scores, "files": report.save(report_dir)}


def run(cfg: PipelineConfig, ray: Any | None) -> dict[str, Any]:
    from synth.data.io import join

    def call(fn, *args):
        return fn(*args) if ray is None else ray.get(ray.remote(fn).remote(*args))

    paths = call(prepare, cfg)
    store = cfg.store or join(cfg.output, "models")
    train_cfg = TrainConfig(data=paths["train"], model=cfg.model, params=cfg.params,
                            metadata=paths["metadata"], store=store, name=cfg.name)
    trained = call(fit_and_save, train_cfg)
    evaluated = call(evaluate, trained["path"], paths, join(cfg.output, "evaluation"),
                     cfg.target, cfg.seed)
    scores = evaluated["scores"]
    synthetic = join(cfg.output, "synthetic.parquet")
    call(sample_to_file, SampleConfig(model=trained["path"], rows=cfg.rows, output=synthetic,
                                      seed=cfg.seed))
    headline = ("quality", "column_shapes", "tstr_ratio", "dcr_ratio", "detection_auc")
    return {"model": trained["path"], "version": trained["version"],
            "report": evaluated["files"]["json"], "report_html": evaluated["files"]["html"],
            **{k: round(scores[k], 4) for k in headline if k in scores},
            "synthetic": synthetic, "rows": cfg.rows}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="synth pipeline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="input table (CSV/Parquet, local or s3://)")
    ap.add_argument("--target", help="target column (stratifies the holdout split)")
    ap.add_argument("--model", help="synthesizer name")
    ap.add_argument("--rows", type=int, help="synthetic rows to write")
    ap.add_argument("--output", help="run directory (local or s3://)")
    ap.add_argument("--store", help="model store root (default <output>/models)")
    ap.add_argument("--seed", type=int)
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        flags = {"data": args.data, "target": args.target, "model": args.model,
                 "rows": args.rows, "output": args.output, "store": args.store,
                 "seed": args.seed}
        cfg = load_config(PipelineConfig, args.config, flags, args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        result = run(cfg, None if args.no_ray else start_ray(args.address))
        print("pipeline done:")
        for key, value in result.items():
            print(f"  {key:14s} {value}")

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
