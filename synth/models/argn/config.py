"""ARGN hyperparameters and their search space."""

from __future__ import annotations

from dataclasses import dataclass

from synth.config import require
from synth.data.transformer import TransformerParams
from synth.dp.config import DPConfig, dp_config


@dataclass(frozen=True)
class ARGNConfig(TransformerParams):
    epochs: int = 100  # at most; in-process fits stop early on held-out likelihood
    val_fraction: float = 0.1  # rows held out for early stopping (at most 10,000; 0: off)
    patience: int = 3  # epochs in which no head's held-out likelihood improves: stop
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-5
    embedding_dim: int = 16  # per token column
    hidden: int = 256  # width of each column head
    dropout: float = 0.0
    bins: int = 48  # quantile bins of a continuous numeric column
    sub_bins: int = 16  # positions within a bin (a second token)
    exact_values: int = 128  # numeric columns with at most this many distinct values: exact
    point_share: float = 0.01  # a value this frequent (e.g. 0) is a token of its own
    fixed_order_share: float = 0.25  # training rows in the table order; the others put a
    #                                 random subset of the columns first (as conditions are)
    temperature: float = 1.0  # sampling: < 1 sharpens every head's distribution
    top_p: float = 1.0  # sampling: keep the smallest set of tokens with this much mass
    # rare protection (0: off): categories seen fewer times share one token that decodes to
    # "_RARE_" (text) or an empty cell, numbers seen fewer times are drawn within their bin
    rare_min_count: int = 0
    # numeric columns ordered in every training row, as a relation and not by their ranges
    # (credit's Amount <= Price; synth.data.constraints.detect) are kept as an inequality: the
    # higher one is learnt as a distance above the lower (a condition on it then goes by
    # rejection); off under dp, where only declared metadata may shape the model
    detect_orders: bool = True
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    progress: bool = False
    # differential privacy (synth/dp): {"epsilon": 3} trains with DP-SGD for dp.epochs
    # epochs on codecs and tokens built from declared metadata and noisy histograms
    dp: DPConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dp", dp_config(self.dp))

    def validate(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}")
        require(self.lr > 0, "lr must be > 0")
        require(0 <= self.val_fraction < 0.5, "val_fraction must be in [0, 0.5)")
        require(self.patience >= 1, "patience must be >= 1")
        require(self.embedding_dim >= 1 and self.hidden >= 1,
                "embedding_dim and hidden must be >= 1")
        require(0 <= self.dropout < 1, "dropout must be in [0, 1)")
        require(self.bins >= 1 and self.sub_bins >= 1, "bins and sub_bins must be >= 1")
        require(self.exact_values >= 0, "exact_values must be >= 0")
        require(0 < self.point_share <= 1, "point_share must be in (0, 1]")
        require(0 <= self.fixed_order_share <= 1, "fixed_order_share must be in [0, 1]")
        require(self.temperature > 0, f"temperature must be > 0, got {self.temperature}")
        require(0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p}")
        require(self.rare_min_count >= 0, "rare_min_count must be >= 0")
        self.validate_transformer()

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {
            "batch_size": {"type": "choice", "values": [256, 512, 1024]},
            "lr": {"type": "loguniform", "low": 5e-4, "high": 5e-3},
            "hidden": {"type": "choice", "values": [128, 256, 512]},
            "embedding_dim": {"type": "choice", "values": [8, 16, 32]},
            "dropout": {"type": "choice", "values": [0.0, 0.1]},
        }
