"""Watching data over time: a baseline of statistics and rules from the training data, then
checks of new batches (synthetic, or new real data) for rule violations and per-column drift,
with a history and an HTML report (pandas/pyarrow/numpy; `synth monitor`, jobs.monitor, runs
the same passes on Ray Data). Image sets get the same, measured in a frozen classifier's
features: FID against a real-vs-real floor, judged attribute shares (torch)."""

from synth.monitor.baseline import Baseline, baseline
from synth.monitor.bias import bias, rebalance, rebalance_counts
from synth.monitor.check import check
from synth.monitor.conditions import condition_report
from synth.monitor.image_baseline import ImageBaseline, image_baseline
from synth.monitor.image_check import image_check
from synth.monitor.result import CheckResult, Thresholds

__all__ = ["Baseline", "baseline", "check", "CheckResult", "Thresholds", "bias", "rebalance",
           "rebalance_counts", "condition_report", "ImageBaseline", "image_baseline",
           "image_check"]
