"""Differential privacy: DP-SGD with per-row clipping and Poisson sampling (sgd.py), an RDP
accountant (accountant.py, Opacus's analysis), codecs from declared metadata (declared.py), the
`dp` config of a model (config.py) and its budget (plan.py). Opacus is the `dp` extra."""

from synth.dp.config import DPConfig, dp_config

__all__ = ["DPConfig", "dp_config"]
