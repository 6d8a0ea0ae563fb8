"""The `dp` settings of a model config: `dp.epsilon=3` (or `dp.noise_multiplier=1.1`),
`dp.delta` (default 1 / (10 n)), `dp.max_grad_norm` (the per-row clipping norm C),
`dp.stats_share` (the share of ε the data statistics behind the model's tokens spend),
`dp.epochs` (DP-SGD trains exactly these; the model's batch_size is the expected batch of its
Poisson sampling, over all workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synth.config import build_config, require
from synth.errors import ConfigError


@dataclass(frozen=True)
class DPConfig:
    epsilon: float | None = None  # the budget; or give noise_multiplier (ε is then reported)
    delta: float | None = None  # default 1 / (10 n); must be < 1 / n
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    stats_share: float = 0.1  # of ε, for the noisy histograms the tokens are built from
    stats_noise: float = 8.0  # with noise_multiplier: the statistics' noise multiplier
    epochs: int = 10  # DP-SGD epochs: exactly these (early stopping would read real rows)

    def validate(self) -> None:
        require((self.epsilon is None) != (self.noise_multiplier is None),
                "dp: give one of dp.epsilon or dp.noise_multiplier")
        require(self.epsilon is None or self.epsilon > 0,
                f"dp.epsilon must be > 0, got {self.epsilon}")
        require(self.noise_multiplier is None or self.noise_multiplier > 0,
                f"dp.noise_multiplier must be > 0, got {self.noise_multiplier}")
        require(self.delta is None or 0 < self.delta < 1,
                f"dp.delta must be in (0, 1), got {self.delta}")
        require(self.max_grad_norm > 0, f"dp.max_grad_norm must be > 0, got "
                f"{self.max_grad_norm}")
        require(0 < self.stats_share < 1, f"dp.stats_share must be in (0, 1), got "
                f"{self.stats_share}")
        require(self.stats_noise > 0, "dp.stats_noise must be > 0")
        require(self.epochs >= 1, f"dp.epochs must be >= 1, got {self.epochs}")

    def delta_for(self, rows: int) -> float:
        """δ for a table of `rows` rows: the given one (checked against 1/n) or 1/(10 n)."""
        if self.delta is None:
            return 1.0 / (10 * rows)
        if self.delta >= 1.0 / rows:
            raise ConfigError(f"dp.delta={self.delta:g} is not below 1/n = {1 / rows:.3g} "
                              f"({rows} rows): a δ that large allows releasing a row outright")
        return self.delta


def dp_config(value: Any) -> DPConfig | None:
    """A model config's `dp` value (None, a dict or a DPConfig) as a validated DPConfig."""
    if value is None or isinstance(value, DPConfig):
        if value is not None:
            value.validate()
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"dp must be a mapping such as {{'epsilon': 3}}, got {value!r}")
    return build_config(DPConfig, value, where="dp")
