"""CTGAN training state and one training step, separable so Ray Train can run the same step
under DDP: networks, optimizers, the sampler and the step function are independent pieces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synth.models.ctgan.config import CTGANConfig
from synth.models.ctgan.networks import Critic, Generator
from synth.models.ctgan.sampler import CondSampler
from synth.models.layout import SpanLayout


@dataclass
class GANState:
    generator: nn.Module
    critic: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


def build_state(cfg: CTGANConfig, data_dim: int, cond_dim: int, device: torch.device
                ) -> GANState:
    gen = Generator(cfg.embedding_dim + cond_dim, cfg.generator_dim, data_dim).to(device)
    critic = Critic(data_dim + cond_dim, cfg.discriminator_dim, cfg.pac).to(device)
    betas = (0.5, 0.9)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.generator_lr, betas=betas,
                             weight_decay=cfg.generator_decay, **_fast_adam(device))
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.discriminator_lr, betas=betas,
                             weight_decay=cfg.discriminator_decay, **_fast_adam(device))
    return GANState(gen, critic, opt_g, opt_d)


@dataclass
class StepInputs:
    """What one step reads: the encoded shard on its device, its sampler and the layout."""

    data: torch.Tensor
    sampler: CondSampler
    layout: SpanLayout
    cfg: CTGANConfig
    rng: np.random.Generator


def _noise_and_cond(inp: StepInputs, batch: int, device: torch.device):
    z = torch.randn(batch, inp.cfg.embedding_dim, device=device)
    drawn = inp.sampler.sample_train(batch, inp.rng)
    if drawn is None:
        return z, None, None
    span, level, category = drawn
    cond = inp.sampler.onehot(category, device)
    return torch.cat([z, cond], dim=1), cond, (span, level, category)


def gradient_penalty(scores: torch.Tensor, mixed: torch.Tensor, pac: int, lam: float
                     ) -> torch.Tensor:
    """WGAN-GP on pac groups: lam * (||grad of critic at mixed rows|| - 1)^2."""
    grad = torch.autograd.grad(scores.sum(), mixed, create_graph=True)[0]
    norms = grad.reshape(-1, pac * mixed.shape[1]).norm(2, dim=1)
    return lam * ((norms - 1) ** 2).mean()


def critic_step(st: GANState, inp: StepInputs, batch: int) -> float:
    """One critic update: real rows drawn to match (permuted) conditional vectors, fake rows
    and their pac-wise interpolates; Wasserstein loss and gradient penalty summed into ONE
    backward pass (the reference calls backward twice, which DDP would sync twice)."""
    device, cfg = inp.data.device, inp.cfg
    zc, cond, drawn = _noise_and_cond(inp, batch, device)
    with torch.no_grad():
        fake = inp.layout.activate(st.generator(zc), cfg.gumbel_tau)
    if drawn is None:
        real = inp.data[torch.as_tensor(inp.rng.integers(0, len(inp.data), batch), device=device)]
    else:
        perm = inp.rng.permutation(batch)
        rows = inp.sampler.sample_rows(drawn[2][perm], inp.rng)
        real = torch.cat([inp.data[torch.as_tensor(rows, device=device)], cond[perm]], dim=1)
        fake = torch.cat([fake, cond], dim=1)
    alpha = torch.rand(batch // cfg.pac, 1, 1, device=device)
    alpha = alpha.expand(-1, cfg.pac, real.shape[1]).reshape(batch, -1)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    # real and fake rows share one forward; the interpolates get their own so that the
    # penalty's double backward runs over those rows only
    scores = st.critic(torch.cat([real, fake], dim=0))
    n_groups = batch // cfg.pac
    s_real, s_fake = scores[:n_groups], scores[n_groups:]
    penalty = gradient_penalty(st.critic(mixed), mixed, cfg.pac, cfg.gp_lambda)
    loss = s_fake.mean() - s_real.mean() + penalty
    st.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    st.opt_d.step()
    return float(loss.detach())


def generator_step(st: GANState, inp: StepInputs, batch: int) -> float:
    """One generator update: fool the critic and honour the conditional vector."""
    device, cfg = inp.data.device, inp.cfg
    zc, cond, drawn = _noise_and_cond(inp, batch, device)
    raw = st.generator(zc)
    fake = inp.layout.activate(raw, cfg.gumbel_tau)
    if cond is not None:
        fake = torch.cat([fake, cond], dim=1)
    # The critic is not updated here: score through the bare module (not a DDP wrapper) with
    # its weights frozen, so backward computes no critic weight gradients and syncs nothing.
    critic = getattr(st.critic, "module", st.critic)
    critic.requires_grad_(False)
    try:
        loss = -critic(fake).mean()
    finally:
        critic.requires_grad_(True)
    if drawn is not None:
        span = torch.as_tensor(drawn[0], device=device)
        level = torch.as_tensor(drawn[1], device=device)
        loss = loss + inp.layout.cond_loss(raw, span, level)
    st.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    st.opt_g.step()
    return float(loss.detach())


def train_step(st: GANState, inp: StepInputs, batch: int) -> tuple[float, float]:
    """discriminator_steps critic updates, then one generator update."""
    loss_d = 0.0
    for _ in range(inp.cfg.discriminator_steps):
        loss_d = critic_step(st, inp, batch)
    return loss_d, generator_step(st, inp, batch)


def _fast_adam(device: torch.device) -> dict:
    """Fused Adam (one kernel per step) where this torch build offers it, same math."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {}
