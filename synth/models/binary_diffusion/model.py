"""`binary_diffusion` (Kinakh & Voloshynovskiy 2024, arXiv:2409.13882, "Tabular Data Generation
using Binary Diffusion"; the issue's "Kulikov et al."): every row is a bit vector (bits.py); the
forward process XORs it with Bernoulli noise whose flip probability grows from 1/bits to 0.5; a
small MLP (network.py) learns the clean bits and the flips from a noisy row and its timestep.
Sampling starts from random bits and, step by step, predicts the clean row and noises it again
to the next, lower level (drawing each clean bit from its predicted probability by default).
With `guide_column` (a categorical column, e.g. the target) the denoiser also sees that column's
one-hot label, dropped with probability `label_dropout` while training so that one network is
both conditional and unconditional (classifier-free guidance, `guidance_scale` > 0 mixes the
two); an equality condition on the guide column is then met natively, every other condition by
rejection."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth.config import require
from synth.data.transformer import TransformerParams
from synth.errors import ConfigError
from synth.models.base import BLOCK_ROWS, OneNetworkSynthesizer
from synth.models.binary_diffusion.bits import BitLayout
from synth.models.binary_diffusion.network import Denoiser, flip_schedule, two_way_loss
from synth.models.codec_space import category_codes
from synth.models.conditions import Condition
from synth.models.registry import register_synthesizer
from synth.models.session import OneNetworkSession, Reduce, Shard, Wrap, bare, ema_update


@dataclass(frozen=True)
class BinaryDiffusionConfig(TransformerParams):
    # the paper trains 500k steps of batch 256 on a GPU; on CPU the default is 100 epochs
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-4
    dim: int = 256  # width of each denoiser block
    blocks: int = 3
    timesteps: int = 1000  # noise levels while training
    sample_steps: int = 100  # denoising steps while sampling (evenly spaced levels)
    numeric_bits: int = 32
    ema_decay: float = 0.995
    ema_every: int = 10  # optimizer steps between EMA updates (the EMA weights sample)
    guide_column: str | None = None  # a categorical column the denoiser is conditioned on
    label_dropout: float = 0.1  # share of training rows whose label is hidden (CFG)
    guidance_scale: float = 0.0  # 0: plain conditional; > 0 extrapolates from unconditional
    # how each step reads the predicted clean bits: "sample" draws each bit from its predicted
    # probability; "threshold" (the paper's) takes p > 0.5, which collapses to the mode of
    # every column unless the denoiser is trained far longer than a CPU budget allows
    draw: str = "sample"
    seed: int = 0
    device: str = "auto"
    progress: bool = False

    def validate(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}")
        require(self.lr > 0, "lr must be > 0")
        require(self.dim >= 2 and self.blocks >= 1, "dim must be >= 2 and blocks >= 1")
        require(self.timesteps >= 2, "timesteps must be >= 2")
        require(1 <= self.sample_steps <= self.timesteps,
                "sample_steps must be in 1..timesteps")
        require(1 <= self.numeric_bits <= 52, "numeric_bits must be in 1..52")
        require(0 < self.ema_decay < 1 and self.ema_every >= 1,
                "ema_decay must be in (0, 1) and ema_every >= 1")
        require(0 <= self.label_dropout < 1, "label_dropout must be in [0, 1)")
        require(self.guidance_scale >= 0, "guidance_scale must be >= 0")
        require(self.draw in ("sample", "threshold"),
                f"draw must be 'sample' or 'threshold', got {self.draw!r}")
        self.validate_transformer()

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {
            "lr": {"type": "loguniform", "low": 3e-5, "high": 1e-3},
            "dim": {"type": "choice", "values": [128, 256, 512]},
            "blocks": {"type": "choice", "values": [2, 3, 4]},
            "batch_size": {"type": "choice", "values": [128, 256, 512]},
        }


@register_synthesizer("binary_diffusion")
class BinaryDiffusion(OneNetworkSynthesizer):
    name = "binary_diffusion"
    config_cls = BinaryDiffusionConfig
    mode_normalize = False  # bits are made from plain codec values

    # ----------------------------------------------------------------- layout
    def _prepare(self, data: pd.DataFrame, metadata: Any) -> pd.DataFrame:
        rows = super()._prepare(data, metadata)
        guide = self.config.guide_column
        if guide is not None and guide not in self._fitted_transformer().categorical_columns:
            raise ConfigError(f"guide_column {guide!r} must be a categorical column of the "
                              f"data; categorical columns: "
                              f"{self._fitted_transformer().categorical_columns}")
        return rows

    def layout(self) -> BitLayout:
        tr = self._fitted_transformer()
        if getattr(self, "_bits_for", None) is not tr:
            self._bits = BitLayout(tr, self.config.numeric_bits, self.config.guide_column)
            self._bits_for = tr
        return self._bits

    @property
    def classes(self) -> int:
        guide = self.config.guide_column
        return self._fitted_transformer().codecs[guide].n_levels if guide else 0

    def _encode(self, data: pd.DataFrame) -> np.ndarray:
        """Rows as bits (float32), the guide column's level code appended as a last column."""
        tr = self._fitted_transformer()
        bits = self.layout().encode(tr, data)
        guide = self.config.guide_column
        if guide is None:
            return bits
        codes = category_codes(tr, data)[:, tr.categorical_columns.index(guide)]
        return np.concatenate([bits, codes[:, None].astype(np.float32)], axis=1)

    def new_network(self) -> Denoiser:
        cfg = self.config
        return Denoiser(self.layout().width, cfg.dim, cfg.blocks, self.classes)

    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> DiffusionSession:
        return DiffusionSession(self, shard, wrap, device)

    # ----------------------------------------------------------------- sample
    def _plan(self, conds: list[Condition]) -> int | None:
        """The guide column's level when a condition fixes it (met natively), else None."""
        guide = self.config.guide_column
        for c in conds:
            if c.column == guide and c.op == "eq" and c.code is not None:
                return int(c.code)
        return None

    def _block(self, gen: torch.Generator, plan: int | None, rows: int = BLOCK_ROWS):
        net, cfg, layout = self._network(), self.config, self.layout()
        levels = sampling_levels(cfg.timesteps, cfg.sample_steps)
        flips = flip_schedule(cfg.timesteps, layout.width)
        labels = self._labels(gen, plan, rows)
        y = None if labels is None else torch.nn.functional.one_hot(
            torch.as_tensor(labels), self.classes).float()
        x = (torch.rand(rows, layout.width, generator=gen) < 0.5).float()
        for k, t in enumerate(levels):
            logits = self._denoise(net, x, t, y)[:, :layout.width].double()
            u = torch.rand(rows, layout.width, generator=gen, dtype=torch.float64)
            clean = (u < torch.sigmoid(logits) if cfg.draw == "sample" else logits > 0).float()
            if k + 1 < len(levels):
                noise = torch.rand(rows, layout.width, generator=gen, dtype=torch.float64)
                x = torch.logical_xor(clean > 0, noise < flips[levels[k + 1]]).float()
            else:
                x = clean
        numeric, null, cats = layout.decode(x.numpy())
        if labels is not None:
            cats[:, layout.categorical.index(cfg.guide_column)] = labels
        return numeric, null, cats

    def _labels(self, gen: torch.Generator, plan: int | None, rows: int) -> np.ndarray | None:
        """Each row's guide label: the condition's, else drawn by the training frequencies."""
        guide = self.config.guide_column
        if guide is None:
            return None
        u = torch.rand(rows, generator=gen, dtype=torch.float64).numpy()
        if plan is not None:
            return np.full(rows, plan, dtype=np.int64)
        cum = np.cumsum(self._fitted_transformer().codecs[guide].probs)
        return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)

    def _denoise(self, net: Denoiser, x: torch.Tensor, t: int, y: torch.Tensor | None
                 ) -> torch.Tensor:
        ts = torch.full((len(x),), t, dtype=torch.long)
        scale = self.config.guidance_scale
        if y is None or scale == 0:
            return self._run_network(net, x, ts, y)
        both = self._run_network(net, torch.cat([x, x]), torch.cat([ts, ts]),
                                 torch.cat([y, torch.zeros_like(y)]))
        cond, free = both.chunk(2, dim=0)
        return free + scale * (cond - free)


def sampling_levels(timesteps: int, steps: int) -> list[int]:
    """`steps` noise levels from the highest to 0, evenly spaced."""
    return sorted({int(round(v)) for v in np.linspace(0, timesteps - 1, steps)}, reverse=True)


class DiffusionSession(OneNetworkSession):
    """Every row gets a random timestep and its XOR noise; the EMA of the weights is what
    sampling uses."""

    def __init__(self, model: BinaryDiffusion, shard: Shard, wrap: Wrap,
                 device: torch.device) -> None:
        self.begin(model, shard)
        data = torch.as_tensor(np.asarray(shard.data, dtype=np.float32), device=device)
        self.bits = model.layout().width
        self.x = data[:, :self.bits].contiguous()
        self.labels = data[:, self.bits].long() if model.classes else None
        self.flips = flip_schedule(self.cfg.timesteps, self.bits).float().to(device)
        self.net = wrap(model.new_network().to(device))
        # after wrap: DDP has given every rank rank 0's initial weights, the EMA's start
        self.ema = copy.deepcopy(bare(self.net)).eval()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=self.cfg.lr)
        self.step = 0

    def batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        x0 = self.x[idx]
        t = torch.randint(0, self.cfg.timesteps, (len(x0),), device=x0.device)
        flips = (torch.rand_like(x0) < self.flips[t][:, None]).float()
        xt = torch.logical_xor(x0 > 0, flips > 0).float()
        return two_way_loss(self.net(xt, t, self._labels(idx)), x0, flips)

    def _labels(self, idx: torch.Tensor) -> torch.Tensor | None:
        if self.labels is None:
            return None
        y = torch.nn.functional.one_hot(self.labels[idx], self.model.classes).float()
        hide = torch.rand(len(idx), device=y.device) < self.cfg.label_dropout
        return y * (~hide)[:, None]

    @torch.no_grad()
    def after_step(self) -> None:
        self.step += 1
        if self.step % self.cfg.ema_every:
            return
        ema_update(self.ema, bare(self.net), self.cfg.ema_decay)

    def extra_state(self) -> dict[str, Any]:
        return {"ema": self.ema.state_dict(), "step": self.step}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.ema.load_state_dict(state["ema"])
        self.step = int(state["step"])

    def trained_network(self) -> torch.nn.Module:
        return self.ema
