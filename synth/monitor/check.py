"""A check of new rows against a baseline: rule violations, per-column drift with thresholds,
an alarm when anything crossed one, and a history row per column.

    result = synth.monitor.check("runs/monitor/baseline", "new_batch.parquet",
                                 output="runs/monitor/check-2026-12-01")
    result.alarm, result.flagged   # {"age": ["psi 0.91 > 0.2", "range: 812 rows"], ...}

`output` gets check.json (everything), violations.json, drift.json and report.html; the
history (one row per check and column: time, data, the four drift figures, null share,
violations, flagged) is appended to `history` (default: history.parquet in the baseline's
folder, so every check against one baseline builds one time series)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from synth.data.io import join
from synth.errors import DataError
from synth.monitor.baseline import Baseline
from synth.monitor.drift import METRICS, category_drift, numeric_drift, shares
from synth.monitor.image_baseline import is_image_baseline
from synth.monitor.image_check import image_check
from synth.monitor.result import Checked, CheckResult, Thresholds, write_result
from synth.monitor.source import BATCH_ROWS, blocks
from synth.monitor.tally import Tally, merge, tally
from synth.monitor.values import DISCRETE, NUMERIC


def check(base: Baseline | str, data: pd.DataFrame | str, output: str | None = None,
          thresholds: Thresholds | None = None, examples: int = 5,
          history: str | None = None, batch_rows: int = BATCH_ROWS) -> CheckResult:
    """Check `data` (a DataFrame, or a CSV/Parquet file or Parquet prefix) against a baseline
    (or the folder holding one), in this process, block by block; against an image baseline,
    `data` is an image set (synth/monitor/image_check.py)."""
    if isinstance(base, str) and is_image_baseline(base) or (
            not isinstance(base, str | Baseline)):
        return image_check(base, data, output, thresholds, examples, history)  # type: ignore
    where = base if isinstance(base, str) else ""
    base = Baseline.load(base) if isinstance(base, str) else base
    total = None
    for block in blocks(data, batch_rows):
        check_columns(list(block.column_names if hasattr(block, "column_names")
                           else block.columns), base)
        part = tally(block, base, examples)
        total = part if total is None else merge(total, part, examples)
    return finish(base, total, Checked(data if isinstance(data, str) else "DataFrame", where,
                                       output, history, thresholds or Thresholds(), examples))


def finish(base: Baseline, total: Tally, asked: Checked) -> CheckResult:
    """Judge the merged tally and write the results (also what the Ray job calls)."""
    result = judge(base, total, asked.thresholds, asked.examples)
    result.data, result.baseline = asked.data, asked.baseline
    history = asked.history or (join(asked.baseline, "history.parquet") if asked.baseline
                                else None)
    write_result(result, asked.output, history)
    return result


def check_columns(names: list[str], base: Baseline) -> None:
    missing = [c for c in base.columns if c not in set(names)]
    if missing:
        raise DataError(f"the data has no column {missing[0]!r} of the baseline "
                        f"({len(missing)} missing: {', '.join(missing[:8])})")


def judge(base: Baseline, total: Tally, thresholds: Thresholds, examples: int) -> CheckResult:
    """Violations, drift and flags from the merged tally."""
    rows = next(iter(total.columns.values())).rows if total.columns else 0
    violations, flagged = [], {}
    for i, rule in enumerate(base.constraints):
        t = total.columns[rule["column"]]
        count, found = _rule_result(rule, t, total, i)
        if count:
            violations.append({"rule": rule, "column": rule["column"], "count": count,
                               "share": round(count / max(rows, 1), 6),
                               "examples": total.examples.get(i, [])[:examples] if examples
                               else [], **found})
            flagged.setdefault(rule["column"], []).append(f"{rule['type']}: {count} rows")
    drift, dists = {}, {}
    for name, stats in base.columns.items():
        t = total.columns[name]
        kind = stats["kind"]
        if kind in NUMERIC and "edges" in stats:
            figures = numeric_drift(stats, t)
        elif kind in DISCRETE:
            figures = category_drift(stats, t)
        else:
            continue
        figures = {k: (round(float(v), 6) if v is not None else None)
                   for k, v in figures.items()}
        over = [f"{m} {figures[m]:.3g} > {getattr(thresholds, m)}" for m in METRICS
                if figures.get(m) is not None and getattr(thresholds, m) is not None
                and figures[m] > getattr(thresholds, m)]
        drift[name] = {**figures, "null_share": round(t.nulls / max(t.rows, 1), 6),
                       "baseline_null_share": round(1 - stats["completeness"], 6),
                       "flags": over}
        if over:
            flagged.setdefault(name, []).extend(over)
        if (d := shares(stats, t)) is not None:
            dists[name] = d
    return CheckResult(rows, violations, drift, flagged, thresholds, distributions=dists)


def _rule_result(rule: dict[str, Any], t: Any, total: Tally, i: int
                 ) -> tuple[int, dict[str, Any]]:
    if rule["type"] == "completeness":
        share = (t.rows - t.nulls) / max(t.rows, 1)
        return (t.nulls if share < rule["min"] else 0), {"observed": round(share, 6)}
    return total.violations.get(i, 0), {}


