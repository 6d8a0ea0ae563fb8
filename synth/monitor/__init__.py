"""Watching data over time: a baseline of statistics and rules from the training data, then
checks of new batches (synthetic, or new real data) for rule violations and per-column drift,
with a history and an HTML report. Pure pandas/pyarrow/numpy; `synth monitor` (jobs.monitor)
runs the same passes on Ray Data."""

from synth.monitor.baseline import Baseline, baseline
from synth.monitor.bias import bias, rebalance, rebalance_counts
from synth.monitor.check import CheckResult, Thresholds, check
from synth.monitor.conditions import condition_report

__all__ = ["Baseline", "baseline", "check", "CheckResult", "Thresholds", "bias", "rebalance",
           "rebalance_counts", "condition_report"]
