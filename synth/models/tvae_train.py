"""TVAE's networks, loss and training session (one shard; DP-SGD under `dp`)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from synth.dp.sgd import DPStep, vmap_clipped
from synth.models.layout import SpanLayout
from synth.models.private import PrivateSteps
from synth.models.seeding import derive_seed
from synth.models.session import (
    Shard,
    ShuffledRows,
    TrainingSession,
    Wrap,
    bare,
    steps_per_epoch,
)


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


class TVAESession(PrivateSteps, ShuffledRows, TrainingSession):
    """TVAE over one shard: each epoch walks a fresh permutation of the shard's rows in
    per-worker batches (cycling when the shard is short of the global step count)."""

    STATISTICS = "declared metadata; mixture modes from one Gaussian histogram release"

    def __init__(self, model: Any, shard: Shard, wrap: Wrap, device: torch.device) -> None:
        cfg, tr = model.config, model.transformer
        self.model, self.cfg, self.shard = model, cfg, shard
        torch.manual_seed(derive_seed(cfg.seed, shard.rank))
        self.seed_rows(cfg.seed, shard.rank)
        self.x = torch.as_tensor(shard.data, device=device)
        self.layout = SpanLayout(tr.spans).to(device)
        self.enc = wrap(Encoder(tr.output_dim, cfg.compress_dims, cfg.embedding_dim).to(device))
        self.dec = wrap(Decoder(cfg.embedding_dim, cfg.decompress_dims, tr.output_dim).to(device))
        self.opt = torch.optim.Adam([*self.enc.parameters(), *self.dec.parameters()], lr=cfg.lr,
                                    weight_decay=cfg.l2scale)
        self.steps = steps_per_epoch(shard, cfg.batch_size)
        self.epoch = 0
        if self.begin_private(model, shard) is not None:
            vae = RowLoss(bare(self.enc), bare(self.dec), self.layout, cfg.loss_factor)
            self.dp = DPStep(vae, self.opt, vmap_clipped(vae, lambda call, x, eps: call(x, eps),
                                                          cfg.dp.max_grad_norm),
                             cfg.dp.max_grad_norm, self.budget.noise, self.budget.q,
                             shard.global_rows, shard.world)

    def run_epoch(self) -> dict[str, float]:
        if self.dp is not None:
            return self._private_epoch()
        cfg = self.cfg
        need = self.steps * cfg.batch_size
        order = self.epoch_order(len(self.x), need, self.x.device)
        dec = bare(self.dec)
        self.enc.train()
        self.dec.train()
        for idx in order.split(cfg.batch_size):
            x = self.x[idx]
            mu, logvar = self.enc(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            loss = tvae_loss(self.dec(z), x, dec.sigma, mu, logvar, self.layout, cfg.loss_factor)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            dec.sigma.data.clamp_(0.01, 1.0)
        self.epoch += 1
        return {"epoch": self.epoch, "loss": float(loss.detach()), "rows": need * self.shard.world}

    def _private_epoch(self) -> dict[str, float]:
        """DP-SGD: Poisson-sampled rows, per-row clipped gradients of encoder and decoder
        (torch.func), noise, one step (synth/dp/sgd.py)."""
        assert self.dp is not None
        dec, total = bare(self.dec), 0.0
        self.enc.train()
        self.dec.train()
        for _ in range(self.steps):
            x = self.x[self.dp.sample(len(self.x), self.gen, self.x.device)]
            eps = torch.randn(len(x), self.cfg.embedding_dim, generator=self.gen).to(x.device)
            total += self.dp.step((x, eps), self.gen)
            dec.sigma.data.clamp_(0.01, 1.0)
            self.dp_steps += 1
        self.epoch += 1
        return self.private_metrics(loss=total / self.steps)

    def state_dict(self) -> dict[str, Any]:
        return {"encoder": bare(self.enc).state_dict(), "decoder": bare(self.dec).state_dict(),
                "opt": self.opt.state_dict(), "epoch": self.epoch, "dp_steps": self.dp_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        bare(self.enc).load_state_dict(state["encoder"])
        bare(self.dec).load_state_dict(state["decoder"])
        self.opt.load_state_dict(state["opt"])
        self.epoch = int(state["epoch"])
        self.dp_steps = int(state.get("dp_steps", 0))

    def snapshot(self) -> Any:
        model = copy.copy(self.model)
        model.decoder = copy.deepcopy(bare(self.dec)).cpu().eval()
        return model

    def finish(self) -> None:
        self.model.decoder = bare(self.dec).cpu().eval()
        self.keep_privacy()


class RowLoss(nn.Module):
    """Encoder and decoder as one module whose output is the loss of its rows, given the
    reparameterisation noise: what per-row gradients are taken of under dp."""

    def __init__(self, enc: Encoder, dec: Decoder, layout: SpanLayout, factor: float) -> None:
        super().__init__()
        self.enc, self.dec, self.layout, self.factor = enc, dec, layout, factor

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.enc(x)
        z = mu + eps * torch.exp(0.5 * logvar)
        return tvae_loss(self.dec(z), x, self.dec.sigma, mu, logvar, self.layout, self.factor)
