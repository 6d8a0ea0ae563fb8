"""argn under differential privacy: per-row clipped gradients without per-row gradient tensors.

A row's gradient of a weight applied once per row (each head's w1, w2, w_ord, biases) is an
outer product of the layer's input and the loss's gradient at its output, so its squared norm
is the product of their squared norms (Goodfellow 2015's trick, as in Li et al. 2022's ghost
clipping); a token embedding row is used once per row (each token column has its own rows),
so its gradient is the gradient at that embedding. One backward pass to the intermediates gives
every row's gradient norm, and a second one, of the loss weighted by each row's clipping
factor min(1, C / norm), gives the sum of the clipped gradients: 1.7x a plain step, where
torch.func's per-row gradients (synth.dp.sgd.vmap_clipped) take 62x (benchmarks/dp_step.py).
tests/unit/test_dp.py checks the norms against torch.func's."""

from __future__ import annotations

import torch

from synth.models.argn.network import ARGNet, token_nll


def row_grad_norms(net: ARGNet, x: torch.Tensor, ranks: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(each row's loss, each row's gradient norm over all parameters); the graph is kept for
    the weighted backward."""
    parts = net.parts(x, ranks)
    losses = token_nll(parts["logits"], x).sum(1)  # b
    names = ("emb", "pre", "logits", "coef")
    grads = dict(zip(names, torch.autograd.grad(losses.sum(), [parts[n] for n in names],
                                                retain_graph=True), strict=True))
    sq = lambda t, dims: t.pow(2).sum(dims)  # noqa: E731
    d_emb, d_pre, d_logits, d_coef = (grads[n] for n in names)
    ctx_sq, h_sq = sq(parts["ctx"], 2), sq(parts["h"], 2).T  # b x t
    pre_sq, logit_sq, coef_sq = sq(d_pre, 2).T, sq(d_logits, 2), sq(d_coef, 2).T  # b x t
    emb_sq = sq(d_emb, 2)  # b x t
    total = (ctx_sq * pre_sq + pre_sq  # w1, b1
             + h_sq * logit_sq + logit_sq  # w2, b2
             + h_sq * coef_sq  # w_ord
             + emb_sq + parts["pos"].pow(2) * emb_sq).sum(1)  # embed, direction
    return losses, total.clamp_min(0).sqrt()


def clipped_backward(net: ARGNet, x: torch.Tensor, ranks: torch.Tensor, max_norm: float
                     ) -> float:
    """Leave in every parameter's .grad the sum over rows of the row's gradient clipped to
    `max_norm`; returns the rows' summed loss."""
    if not len(x):
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        return 0.0
    losses, norms = row_grad_norms(net, x, ranks)
    scale = (max_norm / (norms + 1e-12)).clamp(max=1.0).detach()
    for p in net.parameters():
        p.grad = None
    (losses * scale).sum().backward()
    for p in net.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    return float(losses.detach().sum())
