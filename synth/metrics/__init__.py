"""Metrics: pure functions real x synthetic -> floats, registered by name."""

from synth.metrics.fidelity import METRICS, column_shapes

__all__ = ["column_shapes", "METRICS"]
