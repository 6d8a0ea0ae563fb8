"""Generate synthetic rows from a saved model to a CSV or Parquet file (local or s3://).

    synth sample --model runs/adult/model --rows 100000 --output synth.parquet
    synth sample --model adult --rows 1000 --conditions '{"sex": "Female"}' --output f.csv
    python -m jobs.sample ...         (the same; what `ray job submit -- ...` runs)

`--model` is a model directory (local or s3://) or a model-store name (`name` or with
`--version`). `--conditions` is JSON ({column: value} or {column: {"min":..,"max":..}}) or a
CSV/Parquet file: per-row conditions (one output row per row), or per-group conditions with a
`count` column (rows per group; with --rows, weights scaled to N, e.g. a class balance). The
same --seed gives the same rows. Output columns are typed (ints stay ints, nulls stay nulls,
datetimes are timestamps).

An `--output` ending in .csv/.parquet is one file, sampled by one Ray task. Any other output
is a prefix (local or s3://) that Ray Data fills with `part-NNNNNN.parquet` (or `--format
csv`) files of
`--rows-per-file` rows, written by `concurrency` actors that each load the model once
(see jobs/ray_data/parts.py): the same command writes the same bytes, a rerun writes only the
files that are missing or short, `_run.json` guards against mixing runs (`--overwrite`
replaces one) and `_manifest.json` is written last.

One seeding rule for every output: the rows of a seed do not depend on the output being one
file or a prefix, on `--rows-per-file` or on `concurrency` (synth.models.seeding)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from jobs import console
from jobs.common import (
    add_common_args,
    job_parser,
    load_config,
    print_config,
    run_in_task,
    run_main,
    start_ray,
)
from jobs.ray_data.files import FORMATS
from jobs.ray_data.parts import sample_to_prefix
from jobs.ray_data.plan import make_plan
from synth.api import load_synthesizer
from synth.config import require
from synth.data.io import read_table, write_arrow, write_table
from synth.errors import ConditionError, ConfigError

ONE_FILE = 2**62  # rows_per_file of a one-file output: one part per conditions group


@dataclass(frozen=True)
class SampleConfig:
    model: str = ""
    rows: int | None = None  # default: one row per row of a conditions table
    output: str = ""
    seed: int = 0
    conditions: str | None = None
    version: int | None = None
    store: str | None = None
    num_cpus: float = 1.0  # per generating actor
    use_gpu: bool = False
    rows_per_file: int = 500_000  # prefix output: rows per part file
    concurrency: int = 2  # prefix output: generating actors
    overwrite: bool = False  # prefix output: replace another run's files
    format: str = "parquet"  # prefix output: parquet | csv | jsonl part files

    def validate(self) -> None:
        require(bool(self.model), "model is required: --model DIR|NAME")
        require(bool(self.output), "output is required: --output FILE.csv|FILE.parquet")
        table = bool(self.conditions) and not self.conditions.strip().startswith("{")
        require(self.rows is not None or table, "rows is required: --rows N")
        require(self.rows is None or self.rows >= 1, f"rows must be >= 1, got {self.rows}")
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        require(self.rows_per_file >= 1, "rows_per_file must be >= 1")
        require(self.concurrency >= 1, "concurrency must be >= 1")
        require(self.format in FORMATS,
                f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")

    @property
    def to_prefix(self) -> bool:
        """A directory/prefix of Parquet part files, rather than one .csv/.parquet file."""
        return not self.output.endswith((".csv", ".parquet", ".pq"))


def read_conditions(spec: str | None) -> Any:
    """Inline JSON, or a CSV/Parquet file of per-row conditions."""
    if not spec:
        return None
    text = spec.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ConditionError(f"--conditions is not valid JSON: {exc}") from None
    return read_table(spec)


def sample_to_file(cfg: SampleConfig) -> dict[str, Any]:
    """One file, one process: the plan's parts drawn in order (one per conditions group), so
    the rows equal those of a prefix output with any rows_per_file."""
    model = load_synthesizer(cfg.model, version=cfg.version, store=cfg.store)
    if model.kind == "image":
        raise ConfigError("an image model writes PNG files: give --output a prefix (a folder "
                          "or s3://bucket/prefix), not a .csv/.parquet file")
    conditions = read_conditions(cfg.conditions)
    plan = make_plan(conditions, cfg.rows, ONE_FILE, model.columns)
    df = pd.concat([model.sample(**plan.sample_args(p, cfg.seed), id_offset=p.first - p.offset)
                    for p in plan.parts], ignore_index=True)
    if cfg.output.endswith(".csv"):  # CSV keeps the training formats (dates as written)
        write_table(df, cfg.output)
    else:
        write_arrow(model.to_arrow(df), cfg.output)
    return {"rows": len(df), "output": cfg.output, "seed": cfg.seed}


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth sample", __doc__)
    ap.add_argument("--model", help="model directory or model-store name")
    ap.add_argument("--version", type=int, help="model-store version (default: newest)")
    ap.add_argument("--store", help="model store root")
    ap.add_argument("--rows", type=int, help="number of rows")
    ap.add_argument("--output", help="output file: .csv or .parquet (local or s3://)")
    ap.add_argument("--conditions", help="JSON or a CSV/Parquet file of per-row conditions")
    ap.add_argument("--seed", type=int, help="seed (same seed, same rows)")
    ap.add_argument("--rows-per-file", type=int, help="rows per part file (prefix output)")
    ap.add_argument("--format",
                    help="part file format (prefix output; default parquet)")
    ap.add_argument("--concurrency", type=int, help="generating actors (prefix output)")
    ap.add_argument("--use-gpu", action="store_true", help="generate on one GPU per actor")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace another run's files under the output prefix")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        flags = {"model": args.model, "version": args.version, "store": args.store,
                 "rows": args.rows, "output": args.output, "conditions": args.conditions,
                 "seed": args.seed, "rows_per_file": args.rows_per_file,
                 "format": args.format, "concurrency": args.concurrency,
                 "use_gpu": True if args.use_gpu else None,
                 "overwrite": True if args.overwrite else None}
        cfg = load_config(SampleConfig, args.config, flags, args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, console.parent_dir(cfg.output), "sample")
        if cfg.to_prefix:
            conditions = read_conditions(cfg.conditions)
            start_ray(args.address)  # Ray Data generates the files (also with --no-ray)
            result = sample_to_prefix(cfg, conditions)
        else:
            result = run_in_task(sample_to_file, cfg, args, num_cpus=cfg.num_cpus)
        print(json.dumps(result))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
