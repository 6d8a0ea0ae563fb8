"""A model's DP-SGD budget for a table of a given size: the Poisson sampling rate (the
config's batch_size is the expected global batch), the steps of `dp.epochs` epochs, and the
noise that keeps them, with the statistics release, within ε (or the given noise multiplier,
whose ε is then reported). And the record a trained model keeps (`privacy.json`)."""

from __future__ import annotations

from typing import Any

from synth.dp.accountant import Budget, training_noise
from synth.dp.config import DPConfig


def plan(dp: DPConfig, rows: int, batch_size: int, delta: float,
         stats_noise: float | None, per_batch: int = 1) -> Budget:
    """`per_batch`: steps that read real rows per batch (a GAN's critic steps)."""
    q = min(batch_size / rows, 1.0)
    per_epoch = max(rows // batch_size, 1) * per_batch
    steps = dp.epochs * per_epoch
    noise = dp.noise_multiplier or training_noise(
        dp.epsilon, delta, q, steps, per_epoch, stats_noise)  # type: ignore[arg-type]
    return Budget(noise, stats_noise, q, steps, delta)


def record(dp: DPConfig, budget: Budget, steps_taken: int, statistics: str) -> dict[str, Any]:
    """What privacy.json says: ε spent by the steps actually taken, and how."""
    spent = Budget(budget.noise, budget.stats_noise, budget.q, steps_taken, budget.delta)
    return {"epsilon": round(spent.epsilon, 6), "delta": budget.delta,
            "target_epsilon": dp.epsilon, "noise_multiplier": budget.noise,
            "max_grad_norm": dp.max_grad_norm, "sample_rate": budget.q,
            "steps": steps_taken, "planned_steps": budget.steps,
            "statistics_noise_multiplier": budget.stats_noise, "statistics": statistics,
            "accountant": "RDP of the sampled Gaussian mechanism (Opacus analysis), "
                          "composed with the statistics release"}
