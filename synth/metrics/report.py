"""The evaluation report: flat `scores`, per column / per pair `details`, and the `settings`
(sample sizes, data sizes, versions) needed to reproduce it; saved as report.json and a
self-contained report.html, locally or on S3."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.data import io
from synth.metrics.bands import bands, verdicts
from synth.metrics.html import render
from synth.version import __version__

HEADLINE = ("quality", "column_shapes", "column_pair_trends", "tstr_ratio", "dcr_ratio",
            "detection_auc")


def plain(value: Any) -> Any:
    """JSON-safe: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def versions() -> dict[str, str]:
    """Versions of what computed the report (scikit-learn and torch only if they were used)."""
    import sys

    import pandas
    import pyarrow

    out = {"raysynth": __version__, "python": platform.python_version(),
           "numpy": np.__version__, "pandas": pandas.__version__, "pyarrow": pyarrow.__version__}
    for name, key in (("sklearn", "scikit-learn"), ("torch", "torch"), ("scipy", "scipy")):
        if name in sys.modules:
            out[key] = sys.modules[name].__version__
    return out


@dataclass
class Report:
    scores: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def bands(self) -> dict[str, str]:
        """pillar -> "good" | "fair" | "poor" (synth.metrics.bands: thresholds and reasons)."""
        return bands(self.scores)

    def to_dict(self) -> dict[str, Any]:
        return plain({"bands": self.bands, "verdicts": verdicts(self.scores),
                      "scores": self.scores, "details": self.details,
                      "settings": self.settings})

    def summary(self) -> str:
        keys = [k for k in HEADLINE if k in self.scores]
        return ", ".join(f"{k}={self.scores[k]:.4f}" for k in keys)

    def __repr__(self) -> str:
        return f"Report({self.summary()})"

    def save(self, directory: str) -> dict[str, str]:
        """Write report.json and report.html under `directory` (local or s3://)."""
        paths = {"json": io.join(directory, "report.json"),
                 "html": io.join(directory, "report.html")}
        doc = self.to_dict()
        io.write_bytes(paths["json"], json.dumps(doc, indent=2).encode())
        io.write_bytes(paths["html"], render(doc).encode())
        return paths
