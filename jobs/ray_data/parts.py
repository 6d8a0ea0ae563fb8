"""Streaming generation to a prefix of part files with Ray Data. The plan (plan.py) fixes part
i: its rows, its conditions and which rows of which stream it holds (the seeding rule of
synth.models.seeding), so any worker writes the same bytes for it, the parts together hold the
rows one `sample` call gives, and a rerun only writes what is missing.

Layout of the output prefix:
- `_run.json` first: model (its path and a digest of its files), seed, rows, rows_per_file,
  conditions, format, device and the sampler version; a rerun with other arguments is refused
  (unless `overwrite`), and so is one by a sampler whose seeding rule differs (its rows would
  not continue these) or one whose model changed at the same path (retrained into the same
  directory: its rows would mix two models in one data set);
- `part-000000.parquet` (or `.csv`) ...: written whole (files.py), skipped on a rerun when it
  holds the expected row count (Parquet footer; CSV counted);
- `_manifest.json` last: files, row counts and the Arrow schema, so a reader knows the set is
  complete. Parquet parts all have that schema (synth/data/arrow.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from jobs.ray_data import image_parts
from jobs.ray_data.files import encode_file, file_rows, part_name, write_file
from jobs.ray_data.plan import Part, SamplePlan, make_plan
from synth.api import load_synthesizer, resolve_model_path
from synth.data.io import (
    exists,
    filesystem,
    fingerprint,
    join,
    list_dir,
    read_bytes,
    write_bytes,
)
from synth.errors import ConfigError, DataError
from synth.models.protocol import SynthModel
from synth.models.seeding import SAMPLER_VERSION

RUN_FILE, MANIFEST_FILE = "_run.json", "_manifest.json"


@dataclass(frozen=True)
class WriteSpec:
    model_path: str
    seed: int
    output: str
    format: str
    device: str


def write_part(model: SynthModel, plan: SamplePlan, part: Part, spec: WriteSpec) -> None:
    """Draw the part's rows and write its file(s)."""
    if model.kind == "image":
        image_parts.write_part(model, plan, part, spec.seed, spec.output)
        return
    df = model.sample(**plan.sample_args(part, spec.seed), id_offset=part.first - part.offset)
    data = encode_file(df, model, spec.format)
    write_file(data, join(spec.output, part_name(part.index, spec.format)))


class FileWriter:
    """Ray Data actor: loads the model once (onto the GPU when asked), then generates and
    writes whole files."""

    def __init__(self, spec: WriteSpec, plan_ref: list[Any]) -> None:
        import ray

        self.spec = spec
        self.plan = ray.get(plan_ref[0])
        self.model = load_synthesizer(spec.model_path)
        if spec.device != "cpu":
            self.model.to_device(spec.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for index in batch["index"]:
            part = self.plan.parts[int(index)]
            write_part(self.model, self.plan, part, self.spec)
            out.append(part.rows)
        return {"index": batch["index"], "rows": np.asarray(out)}


def _prepare_output(output: str, run: dict[str, Any], overwrite: bool) -> None:
    """Write _run.json, or check that the one there describes this same run."""
    run_uri = join(output, RUN_FILE)
    try:
        if exists(run_uri):
            before = json.loads(read_bytes(run_uri))
            if before == run:
                _clear(output, list_dir(output), temporary_only=True)
                return
            if not overwrite:
                raise ConfigError(_refusal(output, before, run))
            _clear(output, list_dir(output))
        write_bytes(run_uri, json.dumps(run, indent=2, sort_keys=True).encode())
    except OSError as exc:
        raise DataError(f"cannot write to {output}: {exc}") from None


def _refusal(output: str, before: dict[str, Any], run: dict[str, Any]) -> str:
    old = before.get("sampler", 1)
    if old != run["sampler"]:
        return (f"{output} was written by sampler version {old} and this is version "
                f"{run['sampler']}: the same seed gives other rows now, so its parts cannot be "
                "completed; choose another --output, or pass --overwrite to replace them all")
    if before.get("model") == run["model"] and before.get("model_digest") != run["model_digest"]:
        return (f"{output} was written by another model at {run['model']} (its files changed "
                "since: retrained or rewritten in place), so its parts cannot be completed with "
                "this one; choose another --output, or pass --overwrite to replace them all")
    changed = sorted(k for k in run if before.get(k) != run[k])
    return (f"{output} holds another run (different {', '.join(changed)}); choose another "
            "--output, or pass --overwrite to replace it")


def _clear(output: str, names: list[str], temporary_only: bool = False) -> None:
    """Delete this job's files (or only the temporary files a killed run left behind)."""
    for name in names:
        if name == image_parts.IMAGES_DIR and not temporary_only:  # an image run's PNG files
            fs, path = filesystem(join(output, name))
            fs.delete_dir(path)
            continue
        ours = name.startswith("part-") or name in (RUN_FILE, MANIFEST_FILE)
        if name.startswith(".part-") or (ours and not temporary_only):
            fs, path = filesystem(join(output, name))
            fs.delete_file(path)


def _manifest(output: str, plan: SamplePlan, fmt: str, schema: Any) -> dict[str, Any]:
    doc = {"rows": plan.rows, "format": fmt,
           "files": [{"name": part_name(p.index, fmt), "rows": p.rows, "first_row": p.first}
                     for p in plan.parts],
           "schema": {f.name: str(f.type) for f in schema}}
    write_bytes(join(output, MANIFEST_FILE), json.dumps(doc, indent=2).encode())
    return doc


def check_plan(model: SynthModel, plan: SamplePlan, seed: int) -> None:
    """Every group's conditions (or the per-row table) checked against the model before any
    file is written; one row drawn per group (the first 64) so that conditions too rare to
    sample fail here too, not in a worker."""
    if plan.table is not None:
        model.check_conditions(plan.table)
        model.sample(1, conditions=plan.table.head(1), seed=seed)
        return
    for conds in plan.groups:
        model.check_conditions(conds)
    for conds in plan.groups[:64]:
        model.sample(1, conditions=conds, seed=seed)


def _schema(model: SynthModel) -> Any:
    return image_parts.schema(model) if model.kind == "image" else model.arrow_schema()


def sample_to_prefix(cfg: Any, conditions: Any) -> dict[str, Any]:
    """The streaming sample job (driver side); `cfg` is the sample job's config."""
    import ray
    import ray.data

    start = time.perf_counter()
    path = resolve_model_path(cfg.model, cfg.version, cfg.store)
    model = load_synthesizer(path)
    if model.kind == "image":
        image_parts.check_format(cfg.format)
    plan = make_plan(conditions, cfg.rows, cfg.rows_per_file, model.columns)
    check_plan(model, plan, cfg.seed)
    schema = _schema(model)
    device = "cuda" if cfg.use_gpu else "cpu"
    run = {"model": path, "model_digest": fingerprint(path), "seed": cfg.seed,
           "rows": plan.rows, "rows_per_file": cfg.rows_per_file, "conditions": plan.run,
           "format": cfg.format, "device": device, "sampler": SAMPLER_VERSION}
    _prepare_output(cfg.output, run, cfg.overwrite)
    missing = [p for p in plan.parts
               if file_rows(join(cfg.output, part_name(p.index, cfg.format)), schema) != p.rows]
    if missing:
        spec = WriteSpec(path, cfg.seed, cfg.output, cfg.format, device)
        ds = ray.data.from_items([{"index": p.index} for p in missing],
                                 override_num_blocks=len(missing))
        done = ds.map_batches(FileWriter, batch_size=1,
                              compute=ray.data.ActorPoolStrategy(
                                  size=min(cfg.concurrency, len(missing))),
                              fn_constructor_kwargs={"spec": spec, "plan_ref": [ray.put(plan)]},
                              num_cpus=cfg.num_cpus, num_gpus=1 if cfg.use_gpu else 0)
        with tqdm(total=sum(p.rows for p in missing), unit="rows", desc="sample") as bar:
            for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
                bar.update(int(batch["rows"].sum()))
    manifest = _manifest(cfg.output, plan, cfg.format, schema)
    return {"rows": manifest["rows"], "files": len(plan.parts), "written": len(missing),
            "output": cfg.output, "seed": cfg.seed,
            "seconds": round(time.perf_counter() - start, 2)}
