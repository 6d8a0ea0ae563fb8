"""Watch data over time: a baseline of the training data, then checks of new batches
(synthetic, or new real data: the signal to retrain) for rule violations and drift; and bias
across sensitive attributes, real beside synthetic.

    synth monitor baseline --data data/adult_train.csv.gz --output runs/monitor/baseline
    synth monitor check --baseline runs/monitor/baseline --data new.parquet \\
        --output runs/monitor/check-1 psi=0.2 examples=0
    synth monitor bias --real data/adult_train.csv.gz --synthetic synth.parquet \
        --sensitive sex,race --target income --output runs/monitor/bias
    python -m jobs.monitor check ...       (the same; what `ray job submit -- ...` runs)

`baseline` writes statistics.json and constraints.json (suggested rules: edit them) under
--output. `check` writes check.json, violations.json, drift.json and report.html under --output
and appends to the baseline's history.parquet (or `history=PATH`); it exits 0 when nothing
crossed a threshold, 1 when something did (a cron line or a pipeline step can act on it), 2 on
bad input. Thresholds: `psi=0.2 js=0.1 ks=0.1 wasserstein=0.25` (a column is flagged when a
figure exceeds its threshold; `psi=null` turns one off); `examples=0` keeps real values out of
violations.json. An image set (an .npz or a folder of images; a Parquet of PNGs with
`kind=images`) gets an image baseline (statistics.json with attribute frequencies, pixel
statistics and the real-vs-real FID floor; constraints.json; the attribute classifier as
classifier.pt + classifier.json; features.npz), and a check against it measures the batch's
FID over that floor (`fid_ratio=3`), the classifier's judged attribute shares (psi/js) and the
pixel histogram, in this process (synth/monitor/image_baseline.py, image_check.py). Data: a
CSV or Parquet file or a Parquet prefix, local or s3://, read as a Ray
Data stream whose per-block statistics merge on the driver (memory flat in the rows); --no-ray
reads it in this process (Parquet in record batches). `bias` writes bias.json and bias.html:
group shares, outcome rates, demographic parity and fidelity within each group
(synth/monitor/bias.py), in this process; with `--model` (an image model) instead of
--synthetic, the attribute balance of its generated images as a classifier trained on the real
images' labels judges them (synth/monitor/images.py). `conditions` (--real, --model,
--conditions '[{"sex": "Female"}, {"age": {"min": 30, "max": 40}}]') writes conditions.json
and conditions.html: how well the model honours each condition and carries it into the other
columns (synth/monitor/conditions.py). `rebalance` (--model, --output FILE.parquet,
`column=sex rows=10000 targets=parity` or `targets='{"Female": 0.6, "Male": 0.4}'`,
`method=auto|quota|conditions`) samples rows whose groups have the requested shares
(synth.monitor.rebalance)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
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
from jobs.ray_data.read import read
from jobs.ray_data.stats import stream_merge
from synth.api import load_synthesizer
from synth.config import require
from synth.data.images import load_images
from synth.data.io import join, read_table, write_bytes, write_table
from synth.errors import ConfigError, DataError
from synth.monitor import profile as pf
from synth.monitor import tally as tl
from synth.monitor.baseline import Baseline, baseline, kinds_of, summarize
from synth.monitor.bias import bias, rebalance
from synth.monitor.check import check, check_columns, finish
from synth.monitor.conditions import condition_report
from synth.monitor.image_baseline import image_baseline, is_image_baseline, looks_like_images
from synth.monitor.image_check import image_check
from synth.monitor.images import image_balance
from synth.monitor.report import render_bias, render_conditions
from synth.monitor.result import Checked, CheckResult, Thresholds

BATCH_ROWS = 262_144


@dataclass(frozen=True)
class BaselineConfig:
    data: str = ""
    output: str = ""
    metadata: str | None = None  # JSON file of column kinds (else detected)
    seed: int = 0
    batch_rows: int = BATCH_ROWS
    kind: str = "auto"  # table | images | auto (images: an .npz or a folder of images)
    labels: tuple[str, ...] = ()  # images: the label arrays of an .npz to judge (default all)
    classifier_epochs: int = 4  # images: the attribute classifier's training epochs

    def validate(self) -> None:
        require(bool(self.data), "data is required: --data PATH")
        require(bool(self.output), "output is required: --output DIR")
        require(self.batch_rows >= 1, "batch_rows must be >= 1")
        require(self.kind in ("auto", "table", "images"),
                f"kind must be auto, table or images, got {self.kind!r}")
        require(self.classifier_epochs >= 1, "classifier_epochs must be >= 1")

    def images(self) -> bool:
        return self.kind == "images" or self.kind == "auto" and looks_like_images(self.data)


@dataclass(frozen=True)
class CheckConfig:
    baseline: str = ""
    data: str = ""
    output: str = ""
    history: str | None = None  # default: history.parquet in the baseline's folder
    examples: int = 5  # offending values kept per rule (0: none)
    psi: float | None = 0.2
    js: float | None = 0.1
    ks: float | None = 0.1
    wasserstein: float | None = 0.25
    fid_ratio: float | None = 3.0  # images: FID over the baseline's real-vs-real floor
    labels: tuple[str, ...] = ()  # images: the label arrays of an .npz batch (default all)
    batch_rows: int = BATCH_ROWS

    def validate(self) -> None:
        require(bool(self.baseline), "baseline is required: --baseline DIR")
        require(bool(self.data), "data is required: --data PATH")
        require(bool(self.output), "output is required: --output DIR")
        require(self.examples >= 0, f"examples must be >= 0, got {self.examples}")
        for name in ("psi", "js", "ks", "wasserstein", "fid_ratio"):
            value = getattr(self, name)
            require(value is None or value >= 0, f"{name} must be >= 0 or none, got {value}")

    def thresholds(self) -> Thresholds:
        return Thresholds(self.psi, self.js, self.ks, self.wasserstein, self.fid_ratio)


@dataclass(frozen=True)
class BiasConfig:
    real: str = ""
    synthetic: str = ""  # a table; or give `model` (an image model: its images are judged)
    model: str = ""  # image model directory or store name
    store: str | None = None
    output: str = ""
    sensitive: tuple[str, ...] = ()  # sensitive attributes (tables: categorical columns)
    target: str | None = None  # outcome column for parity figures
    positive: str | None = None  # the outcome value counted (default: the rarest)
    images: int = 1000  # image model: images generated and judged
    seed: int = 0

    def validate(self) -> None:
        require(bool(self.real), "real is required: --real PATH")
        require(bool(self.synthetic) != bool(self.model),
                "give one of --synthetic TABLE or --model IMAGE_MODEL")
        require(bool(self.output), "output is required: --output DIR")
        require(bool(self.sensitive) or bool(self.model),
                "sensitive is required: --sensitive sex,race")
        require(self.images >= 10, f"images must be >= 10, got {self.images}")


def bias_report(cfg: BiasConfig) -> dict[str, Any]:
    """bias.json and bias.html under cfg.output (in this process: the figures need the rows
    of each group)."""
    if cfg.model:
        model = load_synthesizer(cfg.model, store=cfg.store)
        if model.kind != "image":
            raise ConfigError(f"--model {cfg.model!r} is a {model.kind} model: give its "
                              "samples as --synthetic TABLE")
        doc = image_balance(load_images(cfg.real, label_columns=list(cfg.sensitive) or None),
                            model, cfg.images, cfg.seed)
        return _write_bias(cfg, doc)
    real, synthetic = read_table(cfg.real), read_table(cfg.synthetic)
    positive: Any = cfg.positive
    if positive is not None and cfg.target and cfg.target in real.columns:
        match = [v for v in real[cfg.target].dropna().unique() if str(v) == positive]
        positive = match[0] if match else positive
    return _write_bias(cfg, bias(real, synthetic, list(cfg.sensitive), cfg.target, positive))


def _write_bias(cfg: BiasConfig, doc: dict[str, Any]) -> dict[str, Any]:
    write_bytes(join(cfg.output, "bias.json"), json.dumps(doc, indent=1, default=str).encode())
    write_bytes(join(cfg.output, "bias.html"), render_bias(doc).encode())
    return doc


@dataclass(frozen=True)
class ConditionsConfig:
    real: str = ""
    model: str = ""
    store: str | None = None
    conditions: str = ""  # JSON: a condition or a list of them
    output: str = ""
    seed: int = 0

    def validate(self) -> None:
        require(bool(self.real), "real is required: --real PATH")
        require(bool(self.model), "model is required: --model DIR|NAME")
        require(bool(self.conditions), "conditions is required: --conditions "
                '\'[{"sex": "Female"}]\'')
        require(bool(self.output), "output is required: --output DIR")

    def parsed(self) -> list[dict[str, Any]]:
        try:
            doc = json.loads(self.conditions)
        except ValueError as exc:
            raise ConfigError(f"--conditions is not valid JSON: {exc}") from None
        doc = [doc] if isinstance(doc, dict) else doc
        if not isinstance(doc, list) or not all(isinstance(c, dict) and c for c in doc):
            raise ConfigError("--conditions must be a JSON object or a list of them")
        return doc


def conditions_report(cfg: ConditionsConfig) -> dict[str, Any]:
    model = load_synthesizer(cfg.model, store=cfg.store)
    doc = condition_report(model, read_table(cfg.real), cfg.parsed(), cfg.seed)
    write_bytes(join(cfg.output, "conditions.json"), json.dumps(doc, indent=1).encode())
    write_bytes(join(cfg.output, "conditions.html"), render_conditions(doc).encode())
    return doc


@dataclass(frozen=True)
class RebalanceConfig:
    model: str = ""
    store: str | None = None
    output: str = ""  # a Parquet or CSV file
    column: str = ""  # the categorical column whose group shares are set
    rows: int = 0
    targets: str | dict[str, float] = "parity"  # or shares: {"Female": 0.5, "Male": 0.5}
    method: str = "auto"  # auto | quota | conditions (synth.monitor.rebalance)
    seed: int = 0

    def validate(self) -> None:
        require(bool(self.model), "model is required: --model DIR|NAME")
        require(bool(self.output), "output is required: --output FILE.parquet")
        require(bool(self.column), "column is required: column=sex")
        require(self.rows >= 1, f"rows must be >= 1, got {self.rows}")
        require(self.method in ("auto", "quota", "conditions"),
                f"method must be auto, quota or conditions, got {self.method!r}")
        self.shares()

    def shares(self) -> str | dict[str, float]:
        if self.targets == "parity":
            return "parity"
        doc = self.targets
        if not isinstance(doc, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in doc.values()):
            raise ConfigError("targets must be parity or JSON shares such as "
                              '\'{"Female": 0.5, "Male": 0.5}\'')
        return {str(k): float(v) for k, v in doc.items()}


def rebalance_rows(cfg: RebalanceConfig) -> dict[str, Any]:
    """Sample cfg.rows rows with the requested shares of cfg.column; write them to cfg.output."""
    model = load_synthesizer(cfg.model, store=cfg.store)
    if model.kind != "table":
        raise ConfigError(f"--model {cfg.model!r} is a {model.kind} model; rebalance takes a "
                          "table model (image models take their labels as conditions)")
    targets = cfg.shares()
    if isinstance(targets, dict):  # the model's own group values (numbers stay numbers)
        levels = {str(v): v for v in model.schema.codecs[cfg.column].levels}
        targets = {levels.get(k, k): v for k, v in targets.items()}
    rows = rebalance(model, cfg.rows, cfg.column, targets, cfg.seed, cfg.method)
    write_table(rows, cfg.output)
    shares = rows[cfg.column].astype(str).value_counts(normalize=True)
    return {"output": cfg.output, "rows": len(rows), "shares": shares.round(6).to_dict()}


def baseline_on_ray(cfg: BaselineConfig) -> Baseline:
    ds = read(cfg.data)
    first = ds.limit(10_000).to_pandas()
    if not len(first):
        raise DataError(f"data {cfg.data!r} has no rows")
    kinds = kinds_of(first, read_metadata(cfg.metadata))
    total = stream_merge({"data": (ds, lambda b: pf.profile(b, kinds, cfg.seed))},
                         cfg.batch_rows, pf.merge, "monitor baseline")["data"]
    result = summarize(total, cfg.data, cfg.seed)
    result.save(cfg.output)
    return result


def check_on_ray(cfg: CheckConfig) -> CheckResult:
    base = Baseline.load(cfg.baseline)
    ds = read(cfg.data)
    check_columns(list(ds.schema().names), base)
    total = stream_merge({"data": (ds, lambda b: tl.tally(b, base, cfg.examples))},
                         cfg.batch_rows, lambda a, b: tl.merge(a, b, cfg.examples),
                         "monitor check")["data"]
    return finish(base, total, _asked(cfg))


def _asked(cfg: CheckConfig) -> Checked:
    return Checked(cfg.data, cfg.baseline, cfg.output, cfg.history, cfg.thresholds(),
                      cfg.examples)


def _report_check(result: CheckResult, cfg: CheckConfig, status: dict[str, int]) -> None:
    print(json.dumps({"rows": result.rows, "alarm": result.alarm, "flagged": result.flagged,
                      "output": cfg.output}))
    status["code"] = 1 if result.alarm else 0


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth monitor", __doc__)
    ap.add_argument("action", choices=["baseline", "check", "bias", "conditions",
                                       "rebalance"])
    ap.add_argument("--data", help="CSV/Parquet file or Parquet prefix (local or s3://)")
    ap.add_argument("--output", help="output folder (local or s3://)")
    ap.add_argument("--baseline", help="check: the baseline's folder")
    ap.add_argument("--metadata", help="baseline: JSON file of column kinds")
    ap.add_argument("--real", help="bias: the real table")
    ap.add_argument("--synthetic", help="bias: the synthetic table")
    ap.add_argument("--sensitive", help="bias: sensitive attributes, comma-separated")
    ap.add_argument("--target", help="bias: the outcome column")
    ap.add_argument("--model", help="bias: an image model (its generated images are judged); "
                    "conditions: the model whose conditions are checked; rebalance: the "
                    "table model that samples")
    ap.add_argument("--conditions", help="conditions: JSON, a condition or a list of them")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    status = {"code": 0}

    def body() -> None:
        flags: dict[str, Any] = {"data": args.data, "output": args.output}
        if args.action == "baseline":
            cfg: Any = load_config(BaselineConfig, args.config,
                                   {**flags, "metadata": args.metadata}, args.overrides)
        elif args.action == "conditions":
            cfg = load_config(ConditionsConfig, args.config, {
                "output": args.output, "real": args.real, "model": args.model,
                "conditions": args.conditions}, args.overrides)
        elif args.action == "rebalance":
            cfg = load_config(RebalanceConfig, args.config, {
                "output": args.output, "model": args.model}, args.overrides)
        elif args.action == "bias":
            cfg = load_config(BiasConfig, args.config, {
                "output": args.output, "real": args.real, "synthetic": args.synthetic,
                "sensitive": args.sensitive, "target": args.target, "model": args.model},
                args.overrides)
        else:
            cfg = load_config(CheckConfig, args.config, {**flags, "baseline": args.baseline},
                              args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, console.parent_dir(cfg.output), "monitor")
        if args.action == "rebalance":
            print(json.dumps(rebalance_rows(cfg)))
            return
        if args.action == "conditions":
            doc = conditions_report(cfg)
            print(json.dumps({"output": cfg.output, "honoured": {
                json.dumps(c["condition"]): c["honoured"] for c in doc["conditions"]}}))
            return
        if args.action == "bias":
            doc = bias_report(cfg)
            key = "balance" if cfg.model else "parity"
            print(json.dumps({"output": cfg.output, key: {
                a: p[key] for a, p in doc["attributes"].items()}}))
            return
        if args.action == "baseline" and cfg.images():
            base = image_baseline(cfg.data, cfg.output, list(cfg.labels) or None, cfg.seed,
                                  cfg.classifier_epochs)
            print(json.dumps({"images": base.statistics["rows"], "attributes": list(
                base.statistics["attributes"]), "fid_floor": base.statistics["extractor"][
                "fid_floor"], "constraints": len(base.constraints), "output": cfg.output}))
            return
        if args.action == "check" and is_image_baseline(cfg.baseline):
            result = image_check(cfg.baseline, cfg.data, cfg.output, cfg.thresholds(),
                                 cfg.examples, cfg.history, list(cfg.labels) or None)
            _report_check(result, cfg, status)
            return
        if not args.no_ray:
            start_ray(args.address)
        if args.action == "baseline":
            result = (baseline(cfg.data, cfg.output, read_metadata(cfg.metadata), cfg.seed)
                      if args.no_ray else baseline_on_ray(cfg))
            print(json.dumps({"rows": result.statistics["rows"], "columns": len(result.columns),
                              "constraints": len(result.constraints), "output": cfg.output}))
            return
        result = (check(cfg.baseline, cfg.data, cfg.output, cfg.thresholds(), cfg.examples,
                           cfg.history) if args.no_ray else check_on_ray(cfg))
        _report_check(result, cfg, status)

    code = run_main(body)
    return code or status["code"]


if __name__ == "__main__":
    sys.exit(main())
