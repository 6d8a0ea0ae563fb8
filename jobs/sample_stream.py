"""Streaming generation to a prefix of part files with Ray Data. The plan
(jobs/sample_plan.py) fixes file i: its rows, its conditions, its seed (derived from (seed, i))
and its first row (ids are offset by it), so any worker writes the same bytes for it and a
rerun only writes what is missing.

Layout of the output prefix:
- `_run.json` first: model, seed, rows, rows_per_file, conditions, format, device; a rerun
  with other arguments is refused (unless `overwrite`);
- `part-000000.parquet` (or `.csv`) ...: written whole (local: temporary name then rename;
  S3: one PUT, which is atomic), skipped on a rerun when it holds the expected row count
  (Parquet footer; CSV counted);
- `_manifest.json` last: files, row counts and the Arrow schema, so a reader knows the set is
  complete. Parquet parts all have that schema (synth/data/arrow.py)."""

from __future__ import annotations

import io as pyio
import json
import os
from typing import Any

import numpy as np

RUN_FILE, MANIFEST_FILE = "_run.json", "_manifest.json"


FORMATS = ("parquet", "csv")


def part_name(index: int, fmt: str = "parquet") -> str:
    return f"part-{index:06d}.{fmt}"


def file_rows(uri: str, schema: Any) -> int | None:
    """Rows in a part file (Parquet: its footer; CSV: a streaming count with every column read
    as text); None when it is missing or unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import csv

    from synth.data.io import filesystem

    fs, path = filesystem(uri)
    try:
        if not uri.endswith(".csv"):
            with fs.open_input_file(path) as f:
                return pq.ParquetFile(f).metadata.num_rows
        text = csv.ConvertOptions(column_types={name: pa.string() for name in schema.names})
        with fs.open_input_stream(path) as f:
            return sum(batch.num_rows for batch in csv.open_csv(f, convert_options=text))
    except (OSError, ValueError):
        return None


def encode_file(df: Any, tr: Any, fmt: str) -> bytes:
    """Parquet: the typed Arrow table; CSV: the training formats (dates as they were written)."""
    from synth.data.arrow import to_arrow

    if fmt == "csv":
        return df.to_csv(index=False).encode()
    return encode_parquet(to_arrow(df, tr))


def encode_parquet(table: Any) -> bytes:
    import pyarrow.parquet as pq

    buf = pyio.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_file(data: bytes, uri: str) -> None:
    """The whole file or nothing: a local temp file renamed into place, one PUT on S3."""
    from synth.data.io import is_s3, write_bytes

    if is_s3(uri):
        write_bytes(uri, data)
        return
    head, name = os.path.split(uri)
    tmp = os.path.join(head, f".{name}.tmp-{os.getpid()}")  # readers skip dot files
    write_bytes(tmp, data)
    os.replace(tmp, uri)


class FileWriter:
    """Ray Data actor: loads the model once (onto the GPU when asked), then generates and
    writes whole files."""

    def __init__(self, spec: dict[str, Any], plan_ref: list[Any]) -> None:
        import ray

        import synth

        self.spec = spec
        self.plan = ray.get(plan_ref[0])
        self.model = synth.load_synthesizer(spec["model_path"])
        if spec["device"] != "cpu":
            self.model.to_device(spec["device"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from jobs.sample_images import is_image, write_part
        from synth.data.io import join
        from synth.models.base import derive_seed

        spec, out = self.spec, []
        for index in batch["index"]:
            part = self.plan.parts[int(index)]
            if is_image(self.model):
                write_part(self.model, self.plan, part, derive_seed(spec["seed"], part.index),
                           spec["output"])
                out.append(part.rows)
                continue
            df = self.model.sample(part.rows, conditions=self.plan.conditions_of(part),
                                   seed=derive_seed(spec["seed"], part.index),
                                   id_offset=part.first)
            data = encode_file(df, self.model.transformer, spec["format"])
            write_file(data, join(spec["output"], part_name(part.index, spec["format"])))
            out.append(part.rows)
        return {"index": batch["index"], "rows": np.asarray(out)}


def _prepare_output(output: str, run: dict[str, Any], overwrite: bool) -> None:
    """Write _run.json, or check that the one there describes this same run."""
    from synth.data.io import exists, join, list_dir, read_bytes, write_bytes
    from synth.errors import ConfigError, DataError

    run_uri = join(output, RUN_FILE)
    try:
        if exists(run_uri):
            before = json.loads(read_bytes(run_uri))
            if before == run:
                _clear(output, list_dir(output), temporary_only=True)
                return
            if not overwrite:
                changed = sorted(k for k in run if before.get(k) != run[k])
                raise ConfigError(f"{output} holds another run (different {', '.join(changed)});"
                                  " choose another --output, or pass --overwrite to replace it")
            _clear(output, list_dir(output))
        write_bytes(run_uri, json.dumps(run, indent=2, sort_keys=True).encode())
    except OSError as exc:
        raise DataError(f"cannot write to {output}: {exc}") from None


def _clear(output: str, names: list[str], temporary_only: bool = False) -> None:
    """Delete this job's files (or only the temporary files a killed run left behind)."""
    from synth.data.io import filesystem, join

    for name in names:
        if name == "_images" and not temporary_only:  # an image run's PNG files
            fs, path = filesystem(join(output, name))
            fs.delete_dir(path)
            continue
        ours = name.startswith("part-") or name in (RUN_FILE, MANIFEST_FILE)
        if name.startswith(".part-") or (ours and not temporary_only):
            fs, path = filesystem(join(output, name))
            fs.delete_file(path)


def _manifest(output: str, plan: Any, fmt: str, schema: Any) -> dict[str, Any]:
    from synth.data.io import join, write_bytes

    doc = {"rows": plan.rows, "format": fmt,
           "files": [{"name": part_name(p.index, fmt), "rows": p.rows, "first_row": p.first}
                     for p in plan.parts],
           "schema": {f.name: str(f.type) for f in schema}}
    write_bytes(join(output, MANIFEST_FILE), json.dumps(doc, indent=2).encode())
    return doc


def check_plan(model: Any, plan: Any, seed: int) -> None:
    """Every group's conditions (or the per-row table) checked against the model before any
    file is written; one row drawn per group so rejection-only conditions fail here too."""
    from synth.models.conditions import condition_groups, parse_conditions

    tr = model.transformer
    if plan.table is not None:
        for conds, _ in condition_groups(plan.table, tr):
            parse_conditions(conds, tr)
        groups = [conds for conds, _ in condition_groups(plan.table.head(1), tr)]
    else:
        groups = plan.groups
        for conds in groups:
            parse_conditions(conds, tr)
    for conds in groups[:64]:
        model.sample(1, conditions=conds, seed=seed)


def sample_to_prefix(cfg: Any, conditions: Any) -> dict[str, Any]:
    """The streaming sample job (driver side); returns a summary."""
    import time

    import ray
    import ray.data
    from tqdm.auto import tqdm

    import synth
    from jobs import sample_images as images
    from jobs.sample_plan import make_plan
    from synth.api import resolve_model_path
    from synth.data.arrow import arrow_schema
    from synth.data.io import join

    start = time.perf_counter()
    path = resolve_model_path(cfg.model, cfg.version, cfg.store)
    model = synth.load_synthesizer(path)
    plan = make_plan(conditions, cfg.rows, cfg.rows_per_file, images.columns(model))
    if images.is_image(model):
        images.check(model, plan, cfg.seed, cfg.format)
        schema = images.schema(model)
    else:
        check_plan(model, plan, cfg.seed)
        schema = arrow_schema(model.transformer)
    device = "cuda" if cfg.use_gpu else "cpu"
    run = {"model": path, "seed": cfg.seed, "rows": plan.rows, "rows_per_file": cfg.rows_per_file,
           "conditions": plan.run, "format": cfg.format, "device": device}
    _prepare_output(cfg.output, run, cfg.overwrite)
    missing = [p for p in plan.parts
               if file_rows(join(cfg.output, part_name(p.index, cfg.format)), schema) != p.rows]
    if missing:
        spec = {"model_path": path, "seed": cfg.seed, "output": cfg.output,
                "format": cfg.format, "device": device}
        ds = ray.data.from_items([{"index": p.index} for p in missing],
                                 override_num_blocks=len(missing))
        done = ds.map_batches(FileWriter, batch_size=1,
                              concurrency=min(cfg.concurrency, len(missing)),
                              fn_constructor_kwargs={"spec": spec, "plan_ref": [ray.put(plan)]},
                              num_cpus=cfg.num_cpus, num_gpus=1 if cfg.use_gpu else 0)
        with tqdm(total=sum(p.rows for p in missing), unit="rows", desc="sample") as bar:
            for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
                bar.update(int(batch["rows"].sum()))
    manifest = _manifest(cfg.output, plan, cfg.format, schema)
    return {"rows": manifest["rows"], "files": len(plan.parts), "written": len(missing),
            "output": cfg.output, "seed": cfg.seed,
            "seconds": round(time.perf_counter() - start, 2)}
