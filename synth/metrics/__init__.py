"""Metrics: pure functions real x synthetic -> floats, registered by name, plus the mergeable
partial statistics (scan/counts) that let jobs/ compute fidelity over streams of blocks.
Names load on first use, so the statistics modules stay light for Ray workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synth.lazy import lazy_exports

_EXPORTS = {"evaluate": "synth.metrics.evaluate", "EvalConfig": "synth.metrics.config",
            "Report": "synth.metrics.report", "METRICS": "synth.metrics.fidelity",
            "column_shapes": "synth.metrics.fidelity", "fidelity": "synth.metrics.fidelity"}
__all__ = ["evaluate", "EvalConfig", "Report", "METRICS", "column_shapes", "fidelity"]

if TYPE_CHECKING:
    from synth.metrics.config import EvalConfig
    from synth.metrics.evaluate import evaluate
    from synth.metrics.fidelity import METRICS, column_shapes, fidelity
    from synth.metrics.report import Report


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
