"""A baseline: what the monitored data looked like (statistics.json) and the rules new data
should keep (constraints.json, suggested from the statistics and meant to be edited).

    b = synth.monitor.baseline("data/adult_train.csv.gz", output="runs/monitor/baseline")
    b = synth.monitor.Baseline.load("runs/monitor/baseline")

Per column: kind, count, completeness, invalid values; numbers (and datetimes, as
nanoseconds) add min/max/mean/std and 101 quantiles from a 50k-value uniform sample, which
also fixes the bins every check counts into; categories add the count of each (up to 2,000
of them). The suggested rules: the kind, completeness at least the observed share (less the
larger of 0.01 and a quarter of the null share when the column has nulls: a new batch's share
varies), the observed range widened by 5% of its width on each side, and the set of observed
categories."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.data.io import join, read_bytes, write_bytes
from synth.data.metadata import Metadata, detect_metadata
from synth.errors import DataError
from synth.monitor.image_baseline import image_baseline, looks_like_images
from synth.monitor.profile import ColumnProfile, merge, profile
from synth.monitor.rules import check_rules, suggest
from synth.monitor.source import BATCH_ROWS, blocks, first_block
from synth.monitor.values import DISCRETE, NUMERIC

QUANTILES = 101
VERSION = 1


@dataclass
class Baseline:
    statistics: dict[str, Any]  # statistics.json
    constraints: list[dict[str, Any]]  # constraints.json

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        return self.statistics["columns"]

    def save(self, path: str) -> None:
        write_bytes(join(path, "statistics.json"),
                    json.dumps(self.statistics, indent=1).encode())
        write_bytes(join(path, "constraints.json"),
                    json.dumps({"constraints": self.constraints}, indent=1).encode())

    @classmethod
    def load(cls, path: str) -> Baseline:
        docs = []
        for name in ("statistics.json", "constraints.json"):
            try:
                docs.append(json.loads(read_bytes(join(path, name))))
            except FileNotFoundError:
                raise DataError(f"{path!r} is not a baseline: no {name} (make one with "
                                "`synth monitor baseline --data PATH --output DIR`)") from None
            except ValueError as exc:
                raise DataError(f"{join(path, name)}: not valid JSON ({exc})") from None
        constraints = docs[1].get("constraints") if isinstance(docs[1], dict) else None
        return cls(docs[0], check_rules(constraints, docs[0]))


def kinds_of(data: pd.DataFrame | str, metadata: dict | Metadata | None) -> dict[str, str]:
    """Column kinds: detected on the first rows, `metadata` entries winning."""
    md = detect_metadata(first_block(data), metadata)
    return {name: meta.kind for name, meta in md.columns.items()}


def baseline(data: pd.DataFrame | str, output: str | None = None,
             metadata: dict | Metadata | None = None, seed: int = 0,
             batch_rows: int = BATCH_ROWS, kind: str = "auto") -> Any:
    """The baseline of `data` (a DataFrame, or a CSV/Parquet file or Parquet prefix), computed
    block by block in this process; written to `output` when given. An image set (`kind`
    "images", or auto: an .npz or a folder of images) gets an image baseline
    (synth/monitor/image_baseline.py)."""
    if kind not in ("auto", "table", "images"):
        raise DataError(f"kind must be auto, table or images, got {kind!r}")
    if isinstance(data, str) and (kind == "images" or kind == "auto" and _images(data)):
        return image_baseline(data, output, seed=seed)
    kinds = kinds_of(data, metadata)
    total = None
    for block in blocks(data, batch_rows):
        part = profile(block, kinds, seed)
        total = part if total is None else merge(total, part)
    result = summarize(total, source=str(data) if isinstance(data, str) else "DataFrame",
                       seed=seed)
    if output:
        result.save(output)
    return result


def _images(data: str) -> bool:
    return looks_like_images(data)


def summarize(total: dict[str, ColumnProfile], source: str, seed: int) -> Baseline:
    columns = {name: _column(p) for name, p in total.items()}
    rows = next(iter(total.values())).rows if total else 0
    stats = {"version": VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "source": source, "rows": rows, "seed": seed, "columns": columns}
    return Baseline(stats, suggest(stats))


def _column(p: ColumnProfile) -> dict[str, Any]:
    seen = p.rows - p.nulls
    out: dict[str, Any] = {"kind": p.kind, "count": p.rows, "nulls": p.nulls,
                           "completeness": round(seen / p.rows, 6) if p.rows else 1.0,
                           "invalid": p.invalid}
    if p.kind in NUMERIC and len(p.values):
        valid = seen - p.invalid
        mean = p.total / valid
        q = np.quantile(p.values, np.linspace(0, 1, QUANTILES))
        q[0], q[-1] = p.lo, p.hi  # the sample's ends are not the data's
        edges = np.unique(q)
        out.update(min=p.lo, max=p.hi, mean=mean,
                   std=float(np.sqrt(max(p.total_sq / valid - mean * mean, 0.0))),
                   quantiles=q.tolist(), edges=edges.tolist(),
                   probs=(fine_counts(edges, p.values)[1:-1] / len(p.values)).tolist(),
                   sample=len(p.values))
    elif p.kind in DISCRETE:
        counts = p.counts
        out.update(open=counts is None, categories=None if counts is None else dict(
            sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))
    return out


def fine_counts(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Counts of x in [below edges[0], each bin [e_i, e_i+1) (the last one closed), above
    edges[-1]]: len(edges) + 1 numbers (a one-value column has one bin, its value)."""
    bins = max(len(edges) - 1, 1)
    i = np.searchsorted(edges, x, side="right")  # 0: below; len(edges): at or above the top
    i = np.where(x == edges[-1], bins, np.minimum(i, bins + 1))  # the top value: the last bin
    i = np.where(x > edges[-1], bins + 1, i)
    return np.bincount(i, minlength=bins + 2).astype(np.float64)
