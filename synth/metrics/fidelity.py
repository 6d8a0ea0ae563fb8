"""Column-shape fidelity (the SDMetrics definitions): 1 - KS statistic for numerical and
datetime columns, 1 - total variation distance for categorical/boolean ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.data.metadata import Metadata, detect_metadata
from synth.registry import Registry

METRICS: Registry = Registry("metric")


def ks_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - max |F_real - F_synthetic| over the pooled values (nulls ignored)."""
    a = np.sort(_numeric(real))
    b = np.sort(_numeric(synthetic))
    if len(a) == 0 or len(b) == 0:
        return float(len(a) == len(b))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(1.0 - np.max(np.abs(fa - fb)))


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - total variation distance of the category frequencies (nulls are a category)."""
    fr = real.astype(object).where(real.notna(), "<null>").value_counts(normalize=True)
    fs = synthetic.astype(object).where(synthetic.notna(), "<null>").value_counts(normalize=True)
    fr, fs = fr.align(fs, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(fr - fs).sum())


def _numeric(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series) or series.dtype == object:
        parsed = pd.to_datetime(series, errors="coerce") if series.dtype == object else series
        values = parsed.dropna().astype("int64").to_numpy().astype(float)
        if len(values) or series.dtype != object:
            return values
    return pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)


@METRICS.register("column_shapes")
def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | None = None
                  ) -> dict[str, float]:
    """Per-column shape scores and their mean under key 'column_shapes' (id/text skipped)."""
    md = metadata or detect_metadata(real)
    scores = {}
    for name, meta in md.columns.items():
        if meta.kind in ("numerical", "datetime"):
            scores[name] = ks_complement(real[name], synthetic[name])
        elif meta.kind in ("categorical", "boolean"):
            scores[name] = tv_complement(real[name], synthetic[name])
    scores["column_shapes"] = float(np.mean(list(scores.values()))) if scores else float("nan")
    return scores
