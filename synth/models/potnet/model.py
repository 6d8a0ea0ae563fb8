"""`potnet` (Lu, Zhong & Wong 2024, arXiv:2402.10456, "Efficient Generative Modeling via Penalized
Optimal Transport Network"): a generator trained without a critic, on the exact Wasserstein
distance between a real and a generated batch plus marginal Wasserstein penalties
(transport.py), which keep every column's distribution right and so avoid mode collapse. Rows
are encoded as min-max scaled numbers (a null flag pair where a column has nulls) and one-hot
categories; the generator's softmax spans are read by argmax. Conditions are met by rejection."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from synth.config import require
from synth.data.transformer import TransformerParams
from synth.models.base import BLOCK_ROWS, OneNetworkSynthesizer
from synth.models.codec_space import category_codes, numeric_range, numeric_values
from synth.models.conditions import Condition
from synth.models.potnet.transport import potnet_loss
from synth.models.registry import register_synthesizer
from synth.models.session import OneNetworkSession, Reduce, Shard, Wrap


@dataclass(frozen=True)
class POTNetConfig(TransformerParams):
    epochs: int = 300
    batch_size: int = 256
    lr: float = 1e-3
    hidden: tuple[int, ...] = (256, 256)
    noise_dim: int = 0  # 0: the width of the encoded row (the paper's default)
    dropout: float = 0.1
    marginal_penalty: float = 1.0  # lambda of every column's marginal W1 at epoch 0
    penalty_decay: float = 0.996  # lambda shrinks by this factor every epoch
    seed: int = 0
    device: str = "auto"
    progress: bool = False

    def validate(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}")
        require(self.lr > 0, "lr must be > 0")
        require(len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden),
                "hidden must list at least one layer width >= 1")
        require(self.noise_dim >= 0, "noise_dim must be >= 0")
        require(0 <= self.dropout < 1, "dropout must be in [0, 1)")
        require(self.marginal_penalty >= 0, "marginal_penalty must be >= 0")
        require(0 < self.penalty_decay <= 1, "penalty_decay must be in (0, 1]")
        self.validate_transformer()

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {
            "lr": {"type": "loguniform", "low": 1e-4, "high": 3e-3},
            "batch_size": {"type": "choice", "values": [128, 256, 512]},
            "marginal_penalty": {"type": "choice", "values": [0.0, 0.5, 1.0, 2.0]},
        }


class RowCoding:
    """The encoded row: scaled numbers first, then softmax spans (null flags, categories)."""

    def __init__(self, tr: Any) -> None:
        self.lo, self.span = numeric_range(tr)
        self.numeric, self.categorical = list(tr.numeric_columns), list(tr.categorical_columns)
        self.with_null = [j for j, c in enumerate(self.numeric)
                          if tr.codecs[c].state["null_rate"] > 0]
        start = len(self.numeric)
        spans = []
        for _ in self.with_null:
            spans.append((start, 2))
            start += 2
        for c in self.categorical:
            spans.append((start, tr.codecs[c].n_levels))
            start += tr.codecs[c].n_levels
        self.spans, self.width = spans, start

    def encode(self, tr: Any, df: pd.DataFrame) -> np.ndarray:
        nums, cats = numeric_values(tr, df), category_codes(tr, df)
        out = np.zeros((len(df), self.width), dtype=np.float32)
        scaled = (nums - self.lo) / self.span
        fill = np.nanmean(scaled, axis=0) if len(df) else np.zeros(len(self.numeric))
        out[:, :len(self.numeric)] = np.where(np.isnan(scaled), np.nan_to_num(fill), scaled)
        rows = np.arange(len(df))
        k = 0
        for j in self.with_null:
            start, _ = self.spans[k]
            out[rows, start + np.isnan(nums[:, j]).astype(np.int64)] = 1.0
            k += 1
        for i in range(len(self.categorical)):
            start, _ = self.spans[k + i]
            out[rows, start + cats[:, i]] = 1.0
        return out

    def decode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(self.numeric)
        numeric = self.lo + np.clip(x[:, :n], 0.0, 1.0) * self.span
        null = np.zeros((len(x), n), dtype=bool)
        codes = [x[:, s:s + d].argmax(axis=1) for s, d in self.spans]
        for k, j in enumerate(self.with_null):
            null[:, j] = codes[k] == 1
        cats = codes[len(self.with_null):]
        return numeric, null, (np.stack(cats, axis=1) if cats
                               else np.zeros((len(x), 0), dtype=np.int64))


class Generator(nn.Module):
    """MLP from noise to a row; every layer after the first also sees the noise (skip
    connections); Linear -> BatchNorm -> Dropout -> ReLU per hidden layer; softmax spans."""

    def __init__(self, noise: int, hidden: tuple[int, ...], width: int,
                 spans: list[tuple[int, int]], dropout: float) -> None:
        super().__init__()
        self.noise, self.spans = noise, spans
        layers, last = [], noise
        for i, h in enumerate(hidden):
            layers.append(nn.Sequential(nn.Linear(last + (noise if i else 0), h),
                                        nn.BatchNorm1d(h), nn.Dropout(dropout), nn.ReLU()))
            last = h
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(last + noise, width)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for i, layer in enumerate(self.layers):
            h = layer(torch.cat([h, z], dim=1) if i else h)
        x = self.out(torch.cat([h, z], dim=1))
        parts, pos = [], 0
        for start, dim in self.spans:
            parts += [x[:, pos:start], F.softmax(x[:, start:start + dim], dim=1)]
            pos = start + dim
        parts.append(x[:, pos:])
        return torch.cat(parts, dim=1)


@register_synthesizer("potnet")
class POTNet(OneNetworkSynthesizer):
    name = "potnet"
    config_cls = POTNetConfig
    mode_normalize = False

    def coding(self) -> RowCoding:
        tr = self._fitted_transformer()
        if getattr(self, "_coding_for", None) is not tr:
            self._coding, self._coding_for = RowCoding(tr), tr
        return self._coding

    def _encode(self, data: pd.DataFrame) -> np.ndarray:
        return self.coding().encode(self._fitted_transformer(), data)

    @property
    def noise_dim(self) -> int:
        return self.config.noise_dim or self.coding().width

    def new_network(self) -> Generator:
        c, cfg = self.coding(), self.config
        return Generator(self.noise_dim, tuple(cfg.hidden), c.width, c.spans, cfg.dropout)

    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> POTNetSession:
        return POTNetSession(self, shard, wrap, device)

    def _plan(self, conds: list[Condition]) -> None:
        return None  # every condition is rejection

    def _block(self, gen: torch.Generator, plan: None, rows: int = BLOCK_ROWS):
        z = torch.randn(rows, self.noise_dim, generator=gen)
        x = self._run_network(self._network(), z)
        return self.coding().decode(x.double().numpy())


class POTNetSession(OneNetworkSession):
    """The learning rate follows a cosine from lr to lr/10 over the epochs and the marginal
    penalty decays per epoch."""

    def __init__(self, model: POTNet, shard: Shard, wrap: Wrap, device: torch.device) -> None:
        self.begin(model, shard)
        self.x = torch.as_tensor(np.asarray(shard.data, dtype=np.float32), device=device)
        self.net = wrap(model.new_network().to(device))
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.cfg.lr)
        self.penalty = self.cfg.marginal_penalty

    def start_epoch(self) -> None:
        cfg = self.cfg
        low = cfg.lr / 10
        lr = low + (cfg.lr - low) * (1 + math.cos(math.pi * self.epoch / cfg.epochs)) / 2
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.penalty = cfg.marginal_penalty * cfg.penalty_decay ** self.epoch

    def batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        real = self.x[idx]
        z = torch.randn(len(real), self.model.noise_dim, device=real.device)
        return potnet_loss(real, self.net(z), self.penalty)
