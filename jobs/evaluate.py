"""Evaluate synthetic data against real data at any size: report.json + report.html.

    synth evaluate --real data/adult_train.csv.gz --synthetic synth.parquet \\
        --holdout data/adult_test.csv.gz --target income --output runs/eval
    synth evaluate --real s3://b/real/ --synthetic s3://b/synth/ --output s3://b/eval \\
        settings.metrics=[fidelity,detection] settings.sample_rows=50000
    python -m jobs.evaluate ...       (the same; what `ray job submit -- ...` runs)

Inputs are CSV (optionally .gz) or Parquet files or Parquet prefixes, local or s3://. With Ray
(the default) the rows stream through Ray Data: column shapes and pair trends come from per-block
partial statistics merged on the driver (two passes: ranges and sketches, then counts), so no
node holds the data; utility, privacy, detection and Wasserstein distances run on bounded random
samples (sizes in `settings.*`, see synth.metrics.config.EvalConfig). `--no-ray` evaluates in
this process with pandas."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from jobs import console
from jobs.common import (
    add_common_args,
    job_parser,
    load_config,
    print_config,
    read_metadata,
    run_main,
    start_ray,
)
from jobs.ray_data.stats import evaluate_streams
from synth.config import require
from synth.data.io import read_table
from synth.metrics.bands import bands, verdict_lines, verdicts
from synth.metrics.evaluate import evaluate, make_config
from synth.metrics.report import plain


@dataclass(frozen=True)
class EvaluateConfig:
    real: str = ""
    synthetic: str = ""
    output: str = ""
    target: str | None = None
    holdout: str | None = None
    metadata: str | None = None  # JSON/YAML file of column kinds (ours or SDV's format)
    settings: dict[str, Any] = field(default_factory=dict)  # EvalConfig fields
    metadata_rows: int = 10_000  # rows of the real data read to detect column kinds
    batch_rows: int = 262_144  # rows per block the partial statistics see at most

    def validate(self) -> None:
        require(bool(self.real), "real is required: --real FILE|PREFIX (CSV/Parquet)")
        require(bool(self.synthetic), "synthetic is required: --synthetic FILE|PREFIX")
        require(bool(self.output), "output is required: --output DIR (local or s3://)")
        require(self.metadata_rows >= 100, "metadata_rows must be >= 100")
        require(self.batch_rows >= 1000, "batch_rows must be >= 1000")


def evaluate_in_process(cfg: EvaluateConfig) -> dict[str, Any]:
    """--no-ray: read the files with pandas and call synth.evaluate."""
    holdout = read_table(cfg.holdout) if cfg.holdout else None
    report = evaluate(read_table(cfg.real), read_table(cfg.synthetic),
                            metadata=read_metadata(cfg.metadata), target=cfg.target,
                            holdout=holdout, config=cfg.settings)
    return {"scores": report.scores, "files": report.save(cfg.output)}


def evaluate_on_ray(cfg: EvaluateConfig) -> dict[str, Any]:
    report = evaluate_streams(cfg, read_metadata(cfg.metadata))
    return {"scores": report.scores, "files": report.save(cfg.output)}


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth evaluate", __doc__)
    ap.add_argument("--real", help="real (training) data: CSV/Parquet file or Parquet prefix")
    ap.add_argument("--synthetic", help="synthetic data: CSV/Parquet file or Parquet prefix")
    ap.add_argument("--holdout", help="real rows the model never saw (utility, privacy)")
    ap.add_argument("--target", help="column a downstream model predicts (utility)")
    ap.add_argument("--metadata", help="JSON/YAML file of column kinds")
    ap.add_argument("--output", help="directory for report.json and report.html")
    ap.add_argument("--seed", type=int, help="seed of the bounded samples and models")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        flags = {"real": args.real, "synthetic": args.synthetic, "holdout": args.holdout,
                 "target": args.target, "metadata": args.metadata, "output": args.output}
        if args.seed is not None:
            args.overrides.append(f"settings.seed={args.seed}")
        cfg = load_config(EvaluateConfig, args.config, flags, args.overrides)
        make_config(cfg.settings)  # reject bad settings before any data is read
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, cfg.output, "evaluate")
        if args.no_ray:
            result = evaluate_in_process(cfg)
        else:
            start_ray(args.address)
            result = evaluate_on_ray(cfg)
        print("\n".join(verdict_lines(verdicts(result["scores"]))), file=sys.stderr)
        print(f"report: {result['files']['html']}", file=sys.stderr)
        print(json.dumps(plain({"scores": result["scores"], "bands": bands(result["scores"]),
                                "files": result["files"]})))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
