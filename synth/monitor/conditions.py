"""How well a model honours conditions: for each condition, the share of generated rows that
meet it (1.0 for a family that imposes it), the rows rejection dropped, and for every other
column its shape score within the condition: conditioned rows against the real rows that meet
it, beside unconditioned rows against the same real rows. Conditioned above unconditioned
means the model carried the condition's effect into that column; the worst columns say where
it did not.

    doc = synth.monitor.condition_report(model, real, [{"sex": "Female"},
                                                       {"age": {"min": 30, "max": 40}}])"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.errors import ConditionError
from synth.metrics.fidelity import column_shapes

MAX_ROWS = 20_000  # generated rows per condition, at most


def matching(df: pd.DataFrame, condition: dict[str, Any]) -> pd.Series:
    """The rows that meet a condition ({column: value} or {column: {"min":, "max":}})."""
    mask = pd.Series(True, index=df.index)
    for col, value in condition.items():
        if col not in df.columns:
            raise ConditionError(f"condition column {col!r} is not in the data")
        if isinstance(value, dict):
            mask &= df[col].between(value.get("min", -np.inf), value.get("max", np.inf))
        else:
            mask &= df[col] == value
    return mask


def condition_report(model: Any, real: pd.DataFrame, conditions: list[dict[str, Any]],
                     seed: int = 0) -> dict[str, Any]:
    """Per condition: honoured share, rejected rows, and every other column's shape score
    conditioned vs unconditioned (JSON-ready)."""
    out = []
    for k, condition in enumerate(conditions):
        subset = real[matching(real, condition)].reset_index(drop=True)
        if len(subset) < 30:
            raise ConditionError(f"condition {condition} matches {len(subset)} real rows; "
                                 "at least 30 are needed to compare")
        n = min(len(subset), MAX_ROWS)
        conditioned = model.sample(n, conditions=condition, seed=seed + k)
        rejected = model.rejected_rows
        unconditioned = model.sample(n, seed=seed + 1000 + k)
        c = column_shapes(subset, conditioned, model.metadata)
        u = column_shapes(subset, unconditioned, model.metadata)
        others = [col for col in real.columns if col not in condition and col in c]
        per = {col: {"conditioned": c[col], "unconditioned": u[col]} for col in others}
        worst = sorted(others, key=lambda col: c[col])[:3]
        out.append({"condition": condition, "real_rows": len(subset), "rows": n,
                    "honoured": float(matching(conditioned, condition).mean()),
                    "rejected_rows": int(rejected),
                    "others_conditioned": float(np.mean([c[x] for x in others])),
                    "others_unconditioned": float(np.mean([u[x] for x in others])),
                    "worst": worst, "columns": per})
    return {"model": model.name, "conditions": out}
