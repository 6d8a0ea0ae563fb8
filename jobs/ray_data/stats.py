"""Ray Data glue of the evaluate job: read CSV/Parquet (local or s3://) as streams, compute the
partial statistics of synth.metrics.scan/counts per block on the workers, merge them on the
driver one at a time (memory bounded by one partial, not by the rows).

Two streaming executions over the union of the data sets: pass 1 scans (ranges, sketches) and
draws the bounded row samples (synth.metrics.rowsample), pass 2 counts against the plan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from jobs.ray_data.read import read
from synth.data.metadata import Metadata, detect_metadata
from synth.errors import DataError
from synth.metrics import counts as cnt
from synth.metrics import rowsample as rs
from synth.metrics import scan as scn
from synth.metrics.evaluate import fidelity_part, make_config, sample_metrics, settings_of
from synth.metrics.inputs import check_columns, check_inputs
from synth.metrics.report import Report


def _tagged(ds: Any, role: str, fn: Callable[[pa.Table], Any], merge: Callable[[Any, Any], Any],
            batch_rows: int) -> Any:
    """ds mapped to one (role, partial) row per block. The map takes whole blocks so that Ray
    fuses it into the read task (no block ever waits in the object store) and walks each
    block in slices of `batch_rows`, merging the slices' partials as it goes."""
    def per_block(block: pa.Table) -> dict[str, np.ndarray]:
        total = None
        for start in range(0, max(len(block), 1), batch_rows):
            part = fn(block.slice(start, batch_rows))
            total = part if total is None else merge(total, part)
        out = np.empty(1, dtype=object)
        out[0] = total
        return {"role": np.asarray([role]), "partial": out}

    return ds.map_batches(per_block, batch_format="pyarrow", batch_size=None,
                          zero_copy_batch=True)


def stream_merge(parts: dict[str, tuple[Any, Callable[[pa.Table], Any]]], batch_rows: int,
                 merge: Callable[[Any, Any], Any], desc: str = "evaluate") -> dict[str, Any]:
    """One streaming execution over all data sets ({role: (dataset, fn)}); the partials come
    back one at a time and are merged per role, so the driver holds one partial per role.
    A progress bar counts the blocks merged."""
    mapped = [_tagged(ds, role, fn, merge, batch_rows) for role, (ds, fn) in parts.items()]
    union = mapped[0].union(*mapped[1:]) if len(mapped) > 1 else mapped[0]
    total: dict[str, Any] = {}
    with tqdm(desc=desc, unit="block", dynamic_ncols=True) as bar:
        for batch in union.iter_batches(batch_size=1, batch_format="numpy"):
            for role, part in zip(batch["role"], batch["partial"], strict=True):
                total[role] = part if role not in total else merge(total[role], part)
            bar.update(len(batch["role"]))
    return total


@dataclass
class FirstPass:
    """Pass 1 of one data set: its scan (None without fidelity) and a bounded row sample."""

    scan: Any
    sample: rs.RowSample


def first_pass(sets: dict[str, Any], md: Metadata, need: int, seed: int, fidelity: bool,
               batch_rows: int) -> dict[str, FirstPass]:
    def make(role: str) -> Callable[[pa.Table], FirstPass]:
        def fn(batch: pa.Table) -> FirstPass:
            sc = scn.scan(batch, md, sketch_continuous=role == "real") if fidelity else None
            return FirstPass(sc, rs.sample_rows(batch, need, seed))
        return fn

    def merge(a: FirstPass, b: FirstPass) -> FirstPass:
        sc = scn.merge_scans(a.scan, b.scan) if fidelity else None
        return FirstPass(sc, rs.merge_samples(a.sample, b.sample, need))

    return stream_merge({role: (ds, make(role)) for role, ds in sets.items()}, batch_rows,
                        merge, "evaluate pass 1/2 (ranges, samples)")


def second_pass(sets: dict[str, Any], md: Metadata, plan: cnt.Plan, batch_rows: int
                ) -> dict[str, cnt.Counts]:
    def make(role: str) -> Callable[[pa.Table], cnt.Counts]:
        return lambda batch: cnt.count(batch, md, plan, role)

    parts = {role: (sets[role], make(role)) for role in ("real", "synthetic")}
    return stream_merge(parts, batch_rows, cnt.merge_counts, "evaluate pass 2/2 (counts)")


def _datasets(cfg: Any) -> dict[str, Any]:
    sets = {"real": read(cfg.real), "synthetic": read(cfg.synthetic)}
    if cfg.holdout:
        sets["holdout"] = read(cfg.holdout)
    return sets


def _metadata(cfg: Any, sets: dict[str, Any], metadata: dict | None) -> Metadata:
    """Column kinds from the metadata file, else detected on the first rows of the real data;
    checked against the columns of every data set."""
    names = {role: list(ds.schema().names) for role, ds in sets.items()}
    for role in sets:
        if role != "real":
            check_columns(names["real"], names[role], role)
    if metadata is not None:
        return Metadata.from_dict(metadata)
    return detect_metadata(sets["real"].limit(cfg.metadata_rows).to_pandas())


def evaluate_streams(cfg: Any, metadata: dict | None):
    """The evaluate job on Ray Data; returns a synth Report."""
    start = time.perf_counter()
    ecfg = make_config(cfg.settings)
    sets = _datasets(cfg)
    md = _metadata(cfg, sets, metadata)
    need = max(ecfg.sample_rows, ecfg.reference_rows, ecfg.detection_rows, ecfg.joint_rows)
    fidelity = "fidelity" in ecfg.metrics
    first = first_pass(sets, md, need, ecfg.seed, fidelity, cfg.batch_rows)
    rows = {role: first[role].sample.seen if role in first else 0 for role in sets}
    for role, n in rows.items():
        if n == 0:
            raise DataError(f"the {role} data ({getattr(cfg, role)}) has no rows")
    samples = {role: part.sample.rows for role, part in first.items()}
    md = check_inputs(samples["real"], samples["synthetic"], md, cfg.target,
                      samples.get("holdout"))
    scores, details, exact = {}, {}, True
    if fidelity:
        plan = cnt.make_plan(md, first["real"].scan, first["synthetic"].scan)
        counts = second_pass(sets, md, plan, cfg.batch_rows)
        scores, details["fidelity"] = fidelity_part(plan, counts["real"], counts["synthetic"],
                                                    ecfg)
        exact = details["fidelity"]["exact"]
    more, more_details, skipped = sample_metrics(samples["real"], samples["synthetic"],
                                                 samples.get("holdout"), md, cfg.target, ecfg)
    scores.update(more)
    details.update(more_details)
    settings = settings_of(ecfg, md, cfg.target, rows, exact, time.perf_counter() - start)
    settings.update(skipped=skipped, engine="ray.data", inputs={
        k: getattr(cfg, k) for k in ("real", "synthetic", "holdout")})
    return Report({k: float(v) for k, v in scores.items()}, details, settings)
