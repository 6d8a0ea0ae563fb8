"""A check's pass over new rows, block by block: per column the row/null/invalid counts,
min/max, the counts in the baseline's bins (numbers) or of each category, and each rule's
violations with a few examples. Partials merge in any order, and their size does not grow with
the rows (bins are fixed; categories beyond TALLY_CAP share one count), so a check of 20M rows
over a prefix runs in flat memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.metrics.columns import null_count
from synth.monitor.baseline import Baseline, fine_counts
from synth.monitor.rules import outside
from synth.monitor.values import DISCRETE, NUMERIC, category_counts, column, key, numbers, rows

TALLY_CAP = 5_000  # distinct categories counted per column; the rest share OTHER
OTHER = "\x00other"


@dataclass
class ColumnTally:
    rows: int = 0
    nulls: int = 0
    invalid: int = 0
    lo: float = np.inf
    hi: float = -np.inf
    bins: np.ndarray | None = None  # numbers: counts in the baseline's bins (+ below, above)
    counts: dict[str, int] = field(default_factory=dict)  # categories


@dataclass
class Tally:
    columns: dict[str, ColumnTally]
    violations: dict[int, int]  # rule index -> rows that break it (block rules)
    examples: dict[int, list[Any]]


def tally(block: Any, base: Baseline, examples: int = 5) -> Tally:
    """The partial of one block (an Arrow table or a DataFrame) against a baseline."""
    n = rows(block)
    cols: dict[str, ColumnTally] = {}
    values: dict[str, np.ndarray] = {}
    for name, stats in base.columns.items():
        col, kind = column(block, name), stats["kind"]
        t = ColumnTally(rows=n)
        if kind in NUMERIC:
            raw, x, t.nulls, t.invalid = numbers(col, kind)
            if len(x):
                t.lo, t.hi = float(x.min()), float(x.max())
            if "edges" in stats:
                t.bins = fine_counts(np.asarray(stats["edges"]), x)
            values[name] = raw
        elif kind in DISCRETE:
            t.counts, t.nulls = category_counts(col)
            t.counts = _cap(t.counts)
        else:
            t.nulls = null_count(col)
        cols[name] = t
    out = Tally(cols, {}, {})
    for i, rule in enumerate(base.constraints):
        found = _violations(rule, base.columns[rule["column"]]["kind"], block,
                            values.get(rule["column"]), cols[rule["column"]], examples)
        if found is not None:
            out.violations[i], out.examples[i] = found
    return out


def _cap(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= TALLY_CAP:
        return counts
    keep = sorted(counts, key=lambda k: -counts[k])[:TALLY_CAP - 1]
    return {**{k: counts[k] for k in keep},
            OTHER: sum(v for k, v in counts.items() if k not in set(keep))}


def _violations(rule: dict[str, Any], kind: str, block: Any, x: np.ndarray | None,
                t: ColumnTally, k: int) -> tuple[int, list[Any]] | None:
    """(rows breaking a block rule, up to k of their values); None for completeness (decided
    on the totals)."""
    if rule["type"] == "kind":
        if not t.invalid or x is None:
            return 0, []
        col = column(block, rule["column"])
        raw = col.to_pandas() if hasattr(col, "to_pandas") else col
        bad = np.isnan(x) & ~raw.isna().to_numpy()
        return int(bad.sum()), list(dict.fromkeys(str(v) for v in raw[bad]))[:k]
    if rule["type"] == "range" and x is not None:
        ok = x[~np.isnan(x)]
        bad = ok[outside(rule, kind, ok)]
        return len(bad), list(dict.fromkeys(float(v) for v in bad))[:k]
    if rule["type"] == "categories":
        allowed = {key(v) for v in rule["values"]}
        unseen = {v: c for v, c in t.counts.items() if v not in allowed}
        return sum(unseen.values()), [v for v in list(unseen)[:k] if v != OTHER]
    return None


def merge(a: Tally, b: Tally, examples: int = 5) -> Tally:
    cols = {name: _merge_column(a.columns[name], b.columns[name]) for name in a.columns}
    violations = {i: a.violations.get(i, 0) + b.violations.get(i, 0)
                  for i in set(a.violations) | set(b.violations)}
    ex = {i: list(dict.fromkeys(a.examples.get(i, []) + b.examples.get(i, [])))[:examples]
          for i in violations}  # distinct values, first seen first
    return Tally(cols, violations, ex)


def _merge_column(a: ColumnTally, b: ColumnTally) -> ColumnTally:
    counts = dict(a.counts)
    for k, v in b.counts.items():
        counts[k] = counts.get(k, 0) + v
    bins = b.bins if a.bins is None else a.bins if b.bins is None else a.bins + b.bins
    return ColumnTally(a.rows + b.rows, a.nulls + b.nulls, a.invalid + b.invalid,
                       min(a.lo, b.lo), max(a.hi, b.hi), bins, _cap(counts))
