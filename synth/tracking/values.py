"""Parameters and metrics as the backends take them."""

from __future__ import annotations

import math
from typing import Any


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"params": {"epochs": 5}} -> {"params.epochs": 5}."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def numeric(values: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of a metrics dict (lists, strings and NaN left out)."""
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)
            and not isinstance(v, bool) and math.isfinite(float(v))}
