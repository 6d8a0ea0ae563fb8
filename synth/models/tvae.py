"""TVAE (Xu et al. 2019): a variational autoencoder over the mode-normalized table, with the
reference defaults. Conditions are met by rejection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import torch

from synth.config import require
from synth.data.transformer import DataTransformer, TransformerParams
from synth.dp.config import DPConfig, dp_config
from synth.models.base import BLOCK_ROWS, Synthesizer
from synth.models.conditions import Condition
from synth.models.private import PrivateFit, column_histograms, fit_modes
from synth.models.registry import register_synthesizer
from synth.models.session import Reduce, Shard, Wrap
from synth.models.tvae_train import Decoder, TVAESession
from synth.store import load_torch, torch_bytes


@dataclass(frozen=True)
class TVAEConfig(TransformerParams):
    epochs: int = 300
    batch_size: int = 500
    embedding_dim: int = 128
    compress_dims: tuple[int, ...] = (128, 128)
    decompress_dims: tuple[int, ...] = (128, 128)
    l2scale: float = 1e-5
    loss_factor: float = 2.0
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    progress: bool = False
    # differential privacy (synth/dp): {"epsilon": 3} trains encoder and decoder with DP-SGD
    # for dp.epochs epochs on declared codecs and mixture modes fitted to a noisy histogram
    dp: DPConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dp", dp_config(self.dp))

    def validate(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}")
        require(self.embedding_dim >= 1, "embedding_dim must be >= 1")
        self.validate_transformer()

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {
            "epochs": {"type": "choice", "values": [100, 300, 500]},
            "batch_size": {"type": "choice", "values": [200, 500, 1000]},
            "embedding_dim": {"type": "choice", "values": [64, 128, 256]},
            "loss_factor": {"type": "uniform", "low": 1.0, "high": 4.0},
            "lr": {"type": "loguniform", "low": 1e-4, "high": 3e-3},
        }


@register_synthesizer("tvae")
class TVAE(PrivateFit, Synthesizer):
    name = "tvae"
    config_cls = TVAEConfig
    weight_file_names: ClassVar[list[str]] = ["weights.pt"]

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.decoder: Decoder | None = None
        self.history: list[dict[str, float]] = []
        self.dp_state: dict[str, Any] = {}

    def _released(self, tr: DataTransformer) -> list[str]:
        return list(tr.numeric_columns)  # every number needs its mixture modes

    def _private_parts(self, rows: pd.DataFrame, tr: DataTransformer, stats_noise: float
                       ) -> None:
        """Mixture modes fitted to samples of each number's noisy histogram."""
        cfg = self.config
        fit_modes(tr, column_histograms(rows, tr, self._released(tr), stats_noise, cfg.seed),
                  cfg, cfg.seed)


    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> TVAESession:
        return TVAESession(self, shard, wrap, device)

    def _plan(self, conds: list[Condition]) -> None:
        return None  # TVAE has no conditional input: every condition is rejection

    def _block(self, gen: torch.Generator, plan: None, rows: int = BLOCK_ROWS):
        layout = self.span_layout()
        z = torch.randn(rows, self.config.embedding_dim, generator=gen)
        raw = self._run_network(self.decoder, z)
        values, codes = layout.decode(raw, gen, sample=False)
        sigma = self.decoder.sigma.detach().cpu().index_select(0, layout.value_idx)
        noisy = torch.tanh(raw.index_select(1, layout.value_idx)) + sigma * torch.randn(
            values.shape, generator=gen)
        return self.transformer.invert_spans(noisy.clamp(-1, 1).double().numpy(), codes.numpy())

    def _networks(self) -> list[torch.nn.Module]:
        return [self.decoder]

    def _weight_files(self) -> dict[str, bytes]:
        return {"weights.pt": torch_bytes({"decoder": self.decoder.state_dict()})}

    def _load_weights(self, files: dict[str, bytes], path: str) -> None:
        cfg, tr = self.config, self.transformer
        blob = load_torch(files["weights.pt"], f"{path}/weights.pt")
        self.decoder = Decoder(cfg.embedding_dim, cfg.decompress_dims, tr.output_dim)
        self.decoder.load_state_dict(blob["decoder"])
        self.decoder.eval()
