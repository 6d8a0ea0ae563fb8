"""CTGAN under differential privacy: only the critic reads real rows, so only its updates are
DP-SGD steps; the generator learns from the critic alone (post-processing).

Per critic step: real rows are a Poisson sample (rate q) of the shard, each paired with a
conditional vector of its own (a discrete column drawn uniformly, the row's level in it), where
the reference draws real rows to match sampled conditions (that selection reads every row and is
no Poisson sample); each real row's loss term, -critic(real) plus the gradient penalty at an
interpolate between it and a generated row under the same condition, gets its gradient clipped
(torch.func: per-row gradients of a loss that holds a gradient itself); the critic's score of
a batch of generated rows reads no real row and adds its gradient unclipped. The conditional
vectors of generated rows follow noisy category counts (one release with the histograms), which
sampling uses too. PacGAN groups would tie rows together (a row added to the sample shifts the
groups after it, and with them the sensitivity the accountant assumes), so dp needs pac=1."""

from __future__ import annotations

from typing import Any

import torch
from torch.func import grad

from synth.dp.sgd import DPStep, vmap_clipped
from synth.models.ctgan.train import GANState, StepInputs, _noise_and_cond


def critic_row_loss(lam: float):
    """-score(real) + lam (||grad of score at the interpolate|| - 1)^2, for one row."""
    def loss(call: Any, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor
             ) -> torch.Tensor:
        def score(x: torch.Tensor) -> torch.Tensor:
            return call(x).sum()

        mixed = alpha[:, None] * real + (1 - alpha[:, None]) * fake
        g = grad(score)(mixed)
        penalty = lam * ((g.reshape(len(g), -1).norm(dim=1) - 1) ** 2).sum()
        return -call(real).sum() + penalty

    return loss


def private_critic(st: GANState, cfg: Any, budget: Any, rows: int, world: int) -> DPStep:
    critic = getattr(st.critic, "module", st.critic)
    clipped = vmap_clipped(critic, critic_row_loss(cfg.gp_lambda), cfg.dp.max_grad_norm)
    return DPStep(critic, st.opt_d, clipped, cfg.dp.max_grad_norm, budget.noise, budget.q,
                  rows, world)


def own_conditions(real: torch.Tensor, inp: StepInputs, spans: list[Any],
                   gen: torch.Generator) -> torch.Tensor:
    """Each row's conditional vector: a discrete column drawn uniformly, the row's level."""
    s = inp.sampler
    span = torch.randint(0, s.n_spans, (len(real),), generator=gen)
    level = torch.zeros(len(real), dtype=torch.long)
    for j, sp in enumerate(spans):
        mine = span == j
        if mine.any():
            level[mine] = real[mine.to(real.device), sp.start:sp.start + sp.dim].argmax(1).cpu()
    category = torch.as_tensor(s.offsets)[span] + level
    return s.onehot(category, real.device)


def private_critic_step(st: GANState, inp: StepInputs, dp: DPStep, spans: list[Any],
                        batch: int, gen: torch.Generator) -> float:
    """One DP-SGD critic update; `spans` are the transformer's conditional spans."""
    device, cfg = inp.data.device, inp.cfg
    real = inp.data[dp.sample(len(inp.data), gen, device)]
    cond = own_conditions(real, inp, spans, gen) if inp.sampler.n_spans else None
    z = torch.randn(len(real), cfg.embedding_dim, generator=gen).to(device)
    with torch.no_grad():
        paired = inp.layout.activate(st.generator(z if cond is None else torch.cat(
            [z, cond], dim=1)), cfg.gumbel_tau)
    if cond is not None:
        real, paired = torch.cat([real, cond], dim=1), torch.cat([paired, cond], dim=1)
    alpha = torch.rand(len(real), generator=gen).to(device)
    critic = dp.net

    def public() -> None:  # the generated batch's score: no real row in it
        zc, fcond, _ = _noise_and_cond(inp, batch, device)
        with torch.no_grad():
            fake = inp.layout.activate(st.generator(zc), cfg.gumbel_tau)
        if fcond is not None:
            fake = torch.cat([fake, fcond], dim=1)
        critic(fake).mean().backward()

    return dp.step((real, paired, alpha), gen, public)
