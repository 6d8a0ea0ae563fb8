"""Streaming generation to a Parquet prefix with Ray Data: file i holds rows
[i * rows_per_file, ...) drawn with seed (seed, i) and ids offset by its first row, so any
worker writes the same bytes for it and a rerun only writes what is missing.

Layout of the output prefix:
- `_run.json` first: model, seed, rows, rows_per_file, conditions; a rerun with other
  arguments is refused (unless `overwrite`);
- `part-000000.parquet` ...: written whole (local: temporary name then rename; S3: one PUT,
  which is atomic), skipped on a rerun when its footer holds the expected row count;
- `_manifest.json` last: files, row counts and schema, so a reader knows the set is complete."""

from __future__ import annotations

import io as pyio
import json
import os
from typing import Any

import numpy as np

RUN_FILE, MANIFEST_FILE = "_run.json", "_manifest.json"


def part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def plan_files(rows: int, rows_per_file: int) -> list[int]:
    """Rows of each file (the last one holds the remainder)."""
    full, rest = divmod(rows, rows_per_file)
    return [rows_per_file] * full + ([rest] if rest else [])


def file_rows(uri: str) -> int | None:
    """Row count in a Parquet file's footer; None when it is missing or unreadable."""
    import pyarrow.parquet as pq

    from synth.data.io import filesystem

    fs, path = filesystem(uri)
    try:
        with fs.open_input_file(path) as f:
            return pq.ParquetFile(f).metadata.num_rows
    except (OSError, ValueError):
        return None


def write_file(table: Any, uri: str) -> None:
    """The whole file or nothing: a local temp file renamed into place, one PUT on S3."""
    import pyarrow.parquet as pq

    from synth.data.io import is_s3, write_bytes

    buf = pyio.BytesIO()
    pq.write_table(table, buf)
    if is_s3(uri):
        write_bytes(uri, buf.getvalue())
        return
    tmp = f"{uri}.tmp-{os.getpid()}"
    write_bytes(tmp, buf.getvalue())
    os.replace(tmp, uri)


class FileWriter:
    """Ray Data actor: loads the model once, then generates and writes whole files."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import synth

        self.spec = spec
        self.model = synth.load_synthesizer(spec["model_path"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import pyarrow as pa

        from synth.data.io import join
        from synth.models.base import derive_seed

        spec, out = self.spec, []
        for index in batch["index"]:
            index = int(index)
            rows = spec["files"][index]
            df = self.model.sample(rows, conditions=spec["conditions"],
                                   seed=derive_seed(spec["seed"], index),
                                   id_offset=index * spec["rows_per_file"])
            write_file(pa.Table.from_pandas(df, preserve_index=False),
                       join(spec["output"], part_name(index)))
            out.append(rows)
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
                return
            if not overwrite:
                changed = sorted(k for k in run if before.get(k) != run[k])
                raise ConfigError(f"{output} holds another run (different {', '.join(changed)});"
                                  " choose another --output, or pass --overwrite to replace it")
            _clear(output, list_dir(output))
        write_bytes(run_uri, json.dumps(run, indent=2, sort_keys=True).encode())
    except OSError as exc:
        raise DataError(f"cannot write to {output}: {exc}") from None


def _clear(output: str, names: list[str]) -> None:
    from synth.data.io import filesystem, join

    for name in names:
        if name.startswith("part-") or name in (RUN_FILE, MANIFEST_FILE):
            fs, path = filesystem(join(output, name))
            fs.delete_file(path)


def _manifest(output: str, files: list[int]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from synth.data.io import filesystem, join, write_bytes

    fs, path = filesystem(join(output, part_name(0)))
    with fs.open_input_file(path) as f:
        schema = pq.ParquetFile(f).schema_arrow
    doc = {"rows": sum(files), "files": [{"name": part_name(i), "rows": n}
                                         for i, n in enumerate(files)],
           "schema": {name: str(schema.field(name).type) for name in schema.names}}
    write_bytes(join(output, MANIFEST_FILE), json.dumps(doc, indent=2).encode())
    return doc


def sample_to_prefix(cfg: Any, conditions: dict | None) -> dict[str, Any]:
    """The streaming sample job (driver side); returns a summary."""
    import time

    import ray.data
    from tqdm.auto import tqdm

    import synth
    from synth.api import resolve_model_path
    from synth.data.io import join

    start = time.perf_counter()
    path = resolve_model_path(cfg.model, cfg.version, cfg.store)
    synth.load_synthesizer(path).sample(1, conditions=conditions, seed=cfg.seed)  # fail fast
    files = plan_files(cfg.rows, cfg.rows_per_file)
    run = {"model": path, "seed": cfg.seed, "rows": cfg.rows,
           "rows_per_file": cfg.rows_per_file, "conditions": conditions}
    _prepare_output(cfg.output, run, cfg.overwrite)
    missing = [i for i, n in enumerate(files)
               if file_rows(join(cfg.output, part_name(i))) != n]
    if missing:
        spec = {**run, "model_path": path, "files": files, "output": cfg.output}
        ds = ray.data.from_items([{"index": i} for i in missing],
                                 override_num_blocks=len(missing))
        done = ds.map_batches(FileWriter, fn_constructor_kwargs={"spec": spec}, batch_size=1,
                              concurrency=cfg.concurrency, num_cpus=cfg.num_cpus,
                              num_gpus=1 if cfg.use_gpu else 0)
        with tqdm(total=sum(files[i] for i in missing), unit="rows", desc="sample") as bar:
            for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
                bar.update(int(batch["rows"].sum()))
    manifest = _manifest(cfg.output, files)
    return {"rows": manifest["rows"], "files": len(files), "written": len(missing),
            "output": cfg.output, "seed": cfg.seed,
            "seconds": round(time.perf_counter() - start, 2)}
