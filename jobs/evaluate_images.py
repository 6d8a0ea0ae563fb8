"""Evaluate an image model against real images: report.json + a self-contained report.html
(score table beside the real-vs-real floor, the extractor and classifier named, PNG grids: real
vs generated, and one row per value of each attribute) + the grids as PNG files.

    synth evaluate-images --real data/mnist5k.npz --model digits --output runs/eval-digits
    synth evaluate-images --real s3://b/faces.csv --model runs/faces/model --output s3://b/e \\
        --n 256 --extractor inception
    python -m jobs.evaluate_images ...   (the same; what `ray job submit -- ...` runs)

Runs as one Ray task (the local Ray started for the command, or --address), or in this
process with --no-ray. `--n` images per side; the real data needs at least 2n images (the
floor compares two disjoint real halves)."""

from __future__ import annotations

import argparse
import base64
import html
import json
from dataclasses import dataclass
from typing import Any

from jobs import console
from jobs.common import (
    add_common_args,
    job_parser,
    load_config,
    print_config,
    run_in_task,
    run_main,
)
from synth.api import load_synthesizer
from synth.config import require
from synth.data.images import load_images
from synth.data.io import join, write_bytes
from synth.errors import ConfigError
from synth.metrics.image_report import evaluate_images


@dataclass(frozen=True)
class ImageEvalConfig:
    real: str = ""
    model: str = ""
    output: str = ""
    version: int | None = None
    store: str | None = None
    n: int = 256
    extractor: str = "auto"  # auto | inception | cnn
    extractor_path: str | None = None  # the Inception FID TorchScript file, if not installed
    seed: int = 0
    num_cpus: float = 1.0

    def validate(self) -> None:
        require(bool(self.real), "real is required: --real FOLDER|FILE (images)")
        require(bool(self.model), "model is required: --model DIR|NAME")
        require(bool(self.output), "output is required: --output DIR (local or s3://)")
        require(self.n >= 16, f"n must be >= 16, got {self.n}")
        require(self.extractor in ("auto", "inception", "cnn"),
                f"extractor must be auto, inception or cnn, got {self.extractor!r}")


def evaluate(cfg: ImageEvalConfig) -> dict[str, Any]:
    model = load_synthesizer(cfg.model, version=cfg.version, store=cfg.store)
    if model.kind != "image":
        raise ConfigError(f"{cfg.model!r} is a table model: use `synth evaluate`")
    report = evaluate_images(load_images(cfg.real), model, n=cfg.n, extractor=cfg.extractor,
                             extractor_path=cfg.extractor_path, seed=cfg.seed)
    grids = report.pop("grids")
    doc = {**report, "real": cfg.real, "model": cfg.model}
    write_bytes(join(cfg.output, "report.json"), json.dumps(doc, indent=2, default=float).encode())
    write_bytes(join(cfg.output, "report.html"), render(doc, grids).encode())
    for name, png in grids.items():
        write_bytes(join(cfg.output, "grids", f"{name}.png"), png)
    return {"output": cfg.output, "extractor": doc["extractor"],
            **{k: round(float(v), 4) for k, v in doc["scores"].items()}}


def render(doc: dict[str, Any], grids: dict[str, bytes]) -> str:
    """One HTML file: the scores beside the floor, then the grids inline."""
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td>"
        f"<td>{doc['floor'][k]:.4g}</td></tr>" if k in doc["floor"] else
        f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td><td>-</td></tr>"
        for k, v in doc["scores"].items())
    figures = "".join(
        f'<figure data-figure="grid-{html.escape(name)}"><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(name.replace('_', ' '))}</figcaption></figure>"
        for name, png in grids.items())
    settings = html.escape(json.dumps(doc["settings"]))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>raysynth image "
            f"evaluation</title></head><body><h1>Image evaluation: "
            f"{html.escape(str(doc['model']))}</h1><p>extractor: <b>"
            f"{html.escape(doc['extractor'])}</b>; classifier: {html.escape(doc['classifier'])}"
            f" (held-out accuracy on real: {html.escape(json.dumps(doc['classifier_accuracy']))}"
            f"); settings: {settings}</p><table><tr><th>metric</th><th>generated</th>"
            f"<th>real vs real (floor)</th></tr>{rows}</table>{figures}</body></html>")


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth evaluate-images", __doc__)
    ap.add_argument("--real", help="real images: folder, .npz, .csv or .parquet")
    ap.add_argument("--model", help="image model directory or model-store name")
    ap.add_argument("--version", type=int, help="model-store version (default: newest)")
    ap.add_argument("--store", help="model store root")
    ap.add_argument("--output", help="report folder (local or s3://)")
    ap.add_argument("--n", type=int, help="images per side (default 256)")
    ap.add_argument("--extractor", help="auto | inception | cnn")
    add_common_args(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        flags = {"real": args.real, "model": args.model, "version": args.version,
                 "store": args.store, "output": args.output, "n": args.n,
                 "extractor": args.extractor}
        cfg = load_config(ImageEvalConfig, args.config, flags, args.overrides)
        if args.dry_run:
            print_config(cfg)
            return
        console.configure(args.verbose, cfg.output, "evaluate-images")
        print(json.dumps(run_in_task(evaluate, cfg, args, num_cpus=cfg.num_cpus)))

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
