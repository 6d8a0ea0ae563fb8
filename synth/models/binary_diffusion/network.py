"""The denoiser: an MLP whose blocks concatenate their output to their input (each block sees
every earlier representation), each block's activations scaled and shifted by the embedding
of the timestep (plus the label's, when guided). It predicts, per bit, the clean bit and
whether the noise flipped it ("two-way" target); the loss is both binary cross-entropies."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def flip_schedule(timesteps: int, bits: int) -> torch.Tensor:
    """Probability that XOR noise flips a bit at each timestep: quadratic from 1/bits to 0.5
    (at the last step a bit carries no information)."""
    start = 1.0 / max(bits, 2)
    return torch.linspace(start ** 0.5, 0.5 ** 0.5, timesteps, dtype=torch.float64) ** 2


class TimeEmbedding(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / max(half - 1, 1))
        self.register_buffer("freqs", freqs)
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t.float()[:, None] * self.freqs[None, :]
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=1))


class DenseBlock(nn.Module):
    def __init__(self, width: int, dim: int) -> None:
        super().__init__()
        self.fc, self.norm = nn.Linear(width, dim), nn.BatchNorm1d(dim)
        self.film = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(c).chunk(2, dim=1)
        out = F.relu(self.norm(self.fc(h))) * (1 + scale) + shift
        return torch.cat([out, h], dim=1)


class Denoiser(nn.Module):
    def __init__(self, bits: int, dim: int, blocks: int, classes: int = 0) -> None:
        super().__init__()
        self.bits, self.classes = bits, classes
        self.time = TimeEmbedding(dim)
        self.label = nn.Linear(classes, dim) if classes else None
        self.proj = nn.Linear(bits, dim)
        self.blocks = nn.ModuleList(DenseBlock(dim * (i + 1), dim) for i in range(blocks))
        self.out = nn.Linear(dim * (blocks + 1), 2 * bits)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Logits (rows x 2*bits): the clean bits, then the flips. `y`: one-hot labels (all
        zero: no label) when the model is guided."""
        c = self.time(t)
        if self.label is not None and y is not None:
            c = c + self.label(y)
        h = self.proj(x)
        for block in self.blocks:
            h = block(h, c)
        return self.out(h)


def two_way_loss(logits: torch.Tensor, clean: torch.Tensor, flips: torch.Tensor
                 ) -> torch.Tensor:
    bits = clean.shape[1]
    return (F.binary_cross_entropy_with_logits(logits[:, :bits], clean)
            + F.binary_cross_entropy_with_logits(logits[:, bits:], flips))
