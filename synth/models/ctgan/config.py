"""CTGAN hyperparameters (defaults of the reference implementation) and their search space."""

from __future__ import annotations

from dataclasses import dataclass

from synth.config import require
from synth.data.transformer import TransformerParams
from synth.dp.config import DPConfig, dp_config


@dataclass(frozen=True)
class CTGANConfig(TransformerParams):
    epochs: int = 300
    batch_size: int = 500
    embedding_dim: int = 128
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    generator_decay: float = 1e-6
    discriminator_lr: float = 2e-4
    discriminator_decay: float = 1e-6
    discriminator_steps: int = 1
    pac: int = 10
    log_frequency: bool = True
    gumbel_tau: float = 0.2
    gp_lambda: float = 10.0
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    progress: bool = False
    # differential privacy (synth/dp): {"epsilon": 3} trains the critic with DP-SGD for
    # dp.epochs epochs (synth/models/ctgan/private.py); needs pac=1
    dp: DPConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dp", dp_config(self.dp))

    def validate(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(self.dp is None or self.pac == 1,
                f"dp trains the critic on single rows (a PacGAN group of {self.pac} ties rows "
                "together beyond what the accountant bounds): set pac=1 with dp")
        require(self.pac >= 1, f"pac must be >= 1, got {self.pac}")
        require(self.batch_size >= self.pac and self.batch_size % self.pac == 0,
                f"batch_size ({self.batch_size}) must be a positive multiple of pac ({self.pac})")
        require(self.embedding_dim >= 1, "embedding_dim must be >= 1")
        require(all(d >= 1 for d in self.generator_dim + self.discriminator_dim),
                "layer widths must be >= 1")
        require(self.discriminator_steps >= 1, "discriminator_steps must be >= 1")
        require(self.gumbel_tau > 0, "gumbel_tau must be > 0")
        self.validate_transformer()

    @staticmethod
    def search_space() -> dict[str, dict]:
        """Plain description of the tunable hyperparameters (mapped to ray.tune by jobs/)."""
        return {
            "epochs": {"type": "choice", "values": [100, 300, 500]},
            "batch_size": {"type": "choice", "values": [200, 500, 1000]},
            "embedding_dim": {"type": "choice", "values": [64, 128, 256]},
            "generator_lr": {"type": "loguniform", "low": 5e-5, "high": 1e-3},
            "discriminator_lr": {"type": "loguniform", "low": 5e-5, "high": 1e-3},
            "discriminator_steps": {"type": "choice", "values": [1, 2, 5]},
        }
