"""TVAE (Xu et al. 2019): a variational autoencoder over the mode-normalized table, with the
reference defaults. Conditions are met by rejection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from synth.config import require
from synth.data.transformer import TransformerParams
from synth.models.base import BLOCK_ROWS, Synthesizer
from synth.models.conditions import Condition
from synth.models.ctgan.model import pick_device
from synth.models.layout import SpanLayout
from synth.models.registry import register_synthesizer
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


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, o in zip(dims[:-1], dims[1:], strict=True):
        layers += [nn.Linear(i, o), nn.ReLU()]
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, data_dim: int, hidden: tuple[int, ...], emb: int) -> None:
        super().__init__()
        self.body = _mlp([data_dim, *hidden])
        self.mu = nn.Linear(hidden[-1] if hidden else data_dim, emb)
        self.logvar = nn.Linear(hidden[-1] if hidden else data_dim, emb)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    def __init__(self, emb: int, hidden: tuple[int, ...], data_dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_mlp([emb, *hidden]),
                                  nn.Linear(hidden[-1] if hidden else emb, data_dim))
        self.sigma = nn.Parameter(torch.ones(data_dim) * 0.1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


def tvae_loss(raw: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor,
              logvar: torch.Tensor, layout: SpanLayout, factor: float) -> torch.Tensor:
    """Gaussian likelihood (learned sigma) on tanh columns, cross-entropy on softmax spans,
    plus the KL term; all per row."""
    v = layout.value_idx
    s = sigma.index_select(0, v)
    recon = ((x[:, v] - torch.tanh(raw[:, v])) ** 2 / 2 / s**2).sum() + torch.log(s).sum() * len(x)
    ce = layout.softmax_cross_entropy(raw, x)
    kld = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    return (factor * (recon + ce) + kld) / len(x)


@register_synthesizer("tvae")
class TVAE(Synthesizer):
    name = "tvae"
    config_cls = TVAEConfig
    weight_file_names: ClassVar[list[str]] = ["weights.pt"]

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.decoder: Decoder | None = None
        self.history: list[dict[str, float]] = []

    def _fit_model(self, data: pd.DataFrame) -> None:
        cfg, tr = self.config, self.transformer
        torch.manual_seed(cfg.seed)
        device = pick_device(cfg.device)
        x_all = torch.as_tensor(tr.transform(data, seed=cfg.seed), device=device)
        layout = SpanLayout(tr.spans).to(device)
        enc = Encoder(tr.output_dim, cfg.compress_dims, cfg.embedding_dim).to(device)
        dec = Decoder(cfg.embedding_dim, cfg.decompress_dims, tr.output_dim).to(device)
        opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=cfg.lr,
                               weight_decay=cfg.l2scale)
        gen = torch.Generator().manual_seed(cfg.seed)
        for epoch in tqdm(range(cfg.epochs), desc="tvae epochs", disable=not cfg.progress):
            order = torch.randperm(len(x_all), generator=gen).to(device)
            for idx in order.split(cfg.batch_size):
                x = x_all[idx]
                mu, logvar = enc(x)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                loss = tvae_loss(dec(z), x, dec.sigma, mu, logvar, layout, cfg.loss_factor)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                dec.sigma.data.clamp_(0.01, 1.0)
            self.history.append({"epoch": epoch + 1, "loss": float(loss.detach())})
        self.decoder = dec.cpu().eval()

    def _plan(self, conds: list[Condition]) -> None:
        return None  # TVAE has no conditional input: every condition is rejection

    def _block(self, gen: torch.Generator, plan: None):
        layout = self.span_layout()
        z = torch.randn(BLOCK_ROWS, self.config.embedding_dim, generator=gen)
        raw = self.decoder(z)
        values, codes = layout.decode(raw, gen, sample=False)
        sigma = self.decoder.sigma.index_select(0, layout.value_idx)
        noisy = torch.tanh(raw.index_select(1, layout.value_idx)) + sigma * torch.randn(
            values.shape, generator=gen)
        return self.transformer.invert_spans(noisy.clamp(-1, 1).double().numpy(), codes.numpy())

    def _weight_files(self) -> dict[str, bytes]:
        return {"weights.pt": torch_bytes({"decoder": self.decoder.state_dict()})}

    def _load_weights(self, files: dict[str, bytes], path: str) -> None:
        cfg, tr = self.config, self.transformer
        blob = load_torch(files["weights.pt"], f"{path}/weights.pt")
        self.decoder = Decoder(cfg.embedding_dim, cfg.decompress_dims, tr.output_dim)
        self.decoder.load_state_dict(blob["decoder"])
        self.decoder.eval()
