"""The rules new data must keep (constraints.json): suggested from a baseline's statistics,
edited by users, checked for typos on load, and counted block by block in a check.

    {"column": "age", "type": "kind", "kind": "numerical"}          values read as numbers
    {"column": "age", "type": "completeness", "min": 1.0}            share of non-null cells
    {"column": "age", "type": "range", "min": 13.35, "max": 93.65}   datetimes as ISO text
    {"column": "sex", "type": "categories", "values": ["Female", "Male"]}

A rule's violations are counted with up to `examples` offending values kept (0 keeps real
values out of violations.json)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.errors import DataError
from synth.monitor.values import DISCRETE, NUMERIC

RANGE_MARGIN = 0.05  # a suggested range: the observed one widened by this share of its width
COMPLETENESS_SLACK = 0.01  # at least; or a quarter of the observed null share when larger
TYPES = {"kind": {"kind"}, "completeness": {"min"}, "range": {"min", "max"},
         "categories": {"values"}}


def suggest(stats: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, col in stats["columns"].items():
        kind = col["kind"]
        if kind in NUMERIC:
            out.append({"column": name, "type": "kind", "kind": kind})
        share = col["completeness"]
        slack = max(COMPLETENESS_SLACK, (1 - share) / 4)
        out.append({"column": name, "type": "completeness",
                    "min": 1.0 if share >= 1.0 else round(max(share - slack, 0), 4)})
        if kind in NUMERIC and "min" in col:
            pad = RANGE_MARGIN * (col["max"] - col["min"])
            lo, hi = col["min"] - pad, col["max"] + pad
            if kind == "datetime":
                lo, hi = _iso(lo), _iso(hi)
            out.append({"column": name, "type": "range", "min": lo, "max": hi})
        if kind in DISCRETE and col.get("categories") is not None:
            out.append({"column": name, "type": "categories",
                        "values": sorted(col["categories"])})
    return out


def _iso(ns: float) -> str:
    return pd.Timestamp(int(ns)).isoformat()


def check_rules(rules: Any, stats: dict[str, Any]) -> list[dict[str, Any]]:
    """The rules of a constraints.json, each checked: a known type, its keys, a column of the
    baseline; a mistake is named with its position."""
    if not isinstance(rules, list):
        raise DataError('constraints.json must hold {"constraints": [ ... ]}')
    for i, rule in enumerate(rules):
        where = f"constraints.json rule {i}"
        if not isinstance(rule, dict) or rule.get("type") not in TYPES:
            raise DataError(f"{where}: type must be one of {', '.join(TYPES)}, got "
                            f"{rule.get('type') if isinstance(rule, dict) else rule!r}")
        if rule.get("column") not in stats["columns"]:
            raise DataError(f"{where}: column {rule.get('column')!r} is not in the baseline")
        missing = TYPES[rule["type"]] - set(rule)
        if missing:
            raise DataError(f"{where} ({rule['type']}): missing {', '.join(sorted(missing))}")
    return rules


def bounds(rule: dict[str, Any], kind: str) -> tuple[float, float]:
    """A range rule's ends as the monitor's numbers (datetimes: nanoseconds)."""
    if kind == "datetime":
        return tuple(float(pd.Timestamp(rule[k]).tz_localize(None).value)
                     if pd.Timestamp(rule[k]).tzinfo else float(pd.Timestamp(rule[k]).value)
                     for k in ("min", "max"))
    return float(rule["min"]), float(rule["max"])


def outside(rule: dict[str, Any], kind: str, x: np.ndarray) -> np.ndarray:
    lo, hi = bounds(rule, kind)
    return (x < lo) | (x > hi)
