"""`synth`: the command line of raysynth.

    synth train    fit a model and save/register it        (jobs.train)
    synth sample   generate rows from a saved model         (jobs.sample)
    synth evaluate fidelity/utility/privacy report          (jobs.evaluate)
    synth evaluate-images  FID/KID/IS/PR/PPL report of an image model (jobs.evaluate_images)
    synth pipeline prepare -> train -> evaluate -> sample    (jobs.pipeline)
    synth serve    the HTTP app on Ray Serve                 (jobs.serve)
    synth tune     hyperparameter search with Ray Tune       (jobs.tune)
    synth composite  paste objects into backgrounds at boxes (jobs.composite)
    synth monitor  baseline / check: violations and drift     (jobs.monitor)
    synth models   list model families and stored models

`synth COMMAND --help` explains each. Commands run on a local Ray started for the command
unless --address (or RAY_ADDRESS) names a cluster; --no-ray runs in this process."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys

import synth
from jobs.common import run_main
from synth.data.io import join, read_bytes
from synth.data.transformer import TransformerParams
from synth.metrics.bands import bands
from synth.store import ModelStore

RECENT = 5  # versions described per model by `synth models`
COMMANDS = {"train": "jobs.train", "sample": "jobs.sample", "evaluate": "jobs.evaluate",
            "evaluate-images": "jobs.evaluate_images", "tune": "jobs.tune",
            "pipeline": "jobs.pipeline", "serve": "jobs.serve", "composite": "jobs.composite",
            "monitor": "jobs.monitor"}


def models_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="synth models", description="List model families and the "
                                 "models stored in a model store.")
    ap.add_argument("--store", help="model store root (default RAYSYNTH_STORE, else ./models)")
    ap.add_argument("--params", metavar="FAMILY", help="print a family's hyperparameters and "
                    "their defaults (the keys of params.<name>=value)")
    args = ap.parse_args(argv)
    if args.params:
        config = synth.create_synthesizer(args.params).config
        shared = TransformerParams.__dataclass_fields__  # printed after the model's own
        for f in sorted(dataclasses.fields(config), key=lambda f: f.name in shared):
            print(f"{f.name} = {getattr(config, f.name)!r}")
        return 0
    print("model families:", ", ".join(synth.list_synthesizers()))
    store = ModelStore(args.store)
    names = store.names()
    print(f"stored models in {store.root}:" + ("" if names else " (none)"))
    for name in names:
        versions = store.versions(name)
        print(f"  {name}: versions {versions}")
        for version in versions[-RECENT:]:
            print("    " + version_line(version, store.resolve(name, version)))
    return 0


def version_line(version: int, path: str) -> str:
    """`v3  argn  quality 0.974 good  ε 2.0` from a version's metadata files (no weights
    read): the family, the quality its registration measured and its band (the pipeline's
    evaluation, else the train job's summary), and ε when it trained with differential
    privacy."""
    doc = {name: _json(join(path, name)) for name in (
        "config.json", "evaluation.json", "training.json")}
    family = (doc["config.json"] or {}).get("synthesizer", "?")
    scores = doc["evaluation.json"] or (doc["training.json"] or {}).get("evaluation") or {}
    parts = [f"v{version}", f"{family:16s}"]
    quality = scores.get("quality")
    if isinstance(quality, int | float):
        parts.append(f"quality {quality:.3f} {bands({'quality': quality})['fidelity']}")
    privacy = _json(join(path, "privacy.json")) or (doc["training.json"] or {}).get("dp")
    epsilon = (privacy or {}).get("epsilon")
    if isinstance(epsilon, int | float):
        parts.append(f"\u03b5 {epsilon:g}")
    return "  ".join(parts).rstrip()


def _json(path: str) -> dict | None:
    try:
        doc = json.loads(read_bytes(path))
    except (FileNotFoundError, ValueError, OSError):
        return None
    return doc if isinstance(doc, dict) else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "models":
        return run_main(lambda: models_main(rest))
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; commands: "
              f"{', '.join([*COMMANDS, 'models'])}", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[command]).main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
