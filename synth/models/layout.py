"""Vectorized span operations on network outputs, built once from the transformer's spec.

The reference CTGAN loops over columns in Python for activations, the conditional loss and
decoding; here every softmax span is gathered into one padded (rows, spans, max_dim) tensor, so
each of those is a handful of tensor ops whatever the number of columns."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from synth.data.transformer import Span


class SpanLayout:
    """Index tensors for the tanh columns and the (padded) softmax spans of a matrix."""

    def __init__(self, spans: list[Span]) -> None:
        values = [s for s in spans if s.activation == "tanh"]
        softmax = [s for s in spans if s.activation == "softmax"]
        self.value_idx = torch.tensor([s.start for s in values], dtype=torch.long)
        width = max((s.dim for s in softmax), default=1)
        offsets = torch.arange(width)
        starts = torch.tensor([s.start for s in softmax], dtype=torch.long).reshape(-1, 1)
        dims = torch.tensor([s.dim for s in softmax], dtype=torch.long).reshape(-1, 1)
        self.valid = offsets.reshape(1, -1) < dims  # (spans, width)
        self.gather_idx = torch.where(self.valid, starts + offsets, starts)
        flat = self.gather_idx[self.valid]
        self.flat_pos = torch.nonzero(self.valid.reshape(-1)).reshape(-1)  # valid cells, flat
        order = torch.cat([self.value_idx, flat])
        self.inverse = torch.argsort(order)
        self.cond_spans = torch.tensor([i for i, s in enumerate(softmax) if s.conditional],
                                       dtype=torch.long)
        self.n_values, self.n_softmax = len(values), len(softmax)

    def to(self, device: torch.device) -> SpanLayout:
        for key in ("value_idx", "valid", "gather_idx", "inverse", "cond_spans", "flat_pos"):
            setattr(self, key, getattr(self, key).to(device))
        return self

    def logits(self, raw: torch.Tensor) -> torch.Tensor:
        """(rows, spans, width) logits; padding is -inf so it never wins nor gets mass."""
        shape = (raw.shape[0], *self.gather_idx.shape)
        picked = raw.index_select(1, self.gather_idx.reshape(-1)).reshape(shape)
        return picked.masked_fill(~self.valid, float("-inf"))

    def activate(self, raw: torch.Tensor, tau: float, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """tanh on value columns, Gumbel-softmax(tau) on every softmax span (training path)."""
        logits = self.logits(raw)
        soft = F.softmax((logits + gumbel_like(logits, generator)) / tau, dim=-1)
        soft = soft.reshape(len(raw), -1).index_select(1, self.flat_pos)
        parts = torch.cat([torch.tanh(raw.index_select(1, self.value_idx)), soft], dim=1)
        return parts.index_select(1, self.inverse)

    def decode(self, raw: torch.Tensor, generator: torch.Generator | None, gumbel: bool = True
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(tanh values, category codes). With `gumbel`, codes are draws from each span's
        softmax: the law of argmax(Gumbel-softmax), drawn by inverse CDF with one uniform per
        span (not one Gumbel variate per cell, which costs as much as the network)."""
        logits = self.logits(raw)
        values = torch.tanh(raw.index_select(1, self.value_idx))
        if not gumbel:
            return values, logits.argmax(dim=-1)
        cum = torch.softmax(logits, dim=-1).cumsum_(dim=-1)
        u = torch.rand(cum.shape[:2], dtype=cum.dtype, generator=generator).to(cum.device)
        codes = (cum < u.unsqueeze(-1)).sum(dim=-1)
        return values, torch.minimum(codes, self.valid.sum(dim=1) - 1)

    def cond_loss(self, raw: torch.Tensor, span: torch.Tensor, category: torch.Tensor
                  ) -> torch.Tensor:
        """Cross-entropy of the generated logits of the conditioned span against the requested
        category (CTGAN's generator penalty), averaged over rows."""
        logits = self.logits(raw)[:, self.cond_spans]
        logp = F.log_softmax(logits, dim=-1)
        rows = torch.arange(len(raw), device=raw.device)
        return -logp[rows, span, category].mean()


def gumbel_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard Gumbel noise -log(-log U) shaped like x (from `generator` when given)."""
    if generator is None:
        u = torch.rand(x.shape, dtype=x.dtype, device=x.device)
    else:
        u = torch.rand(x.shape, dtype=x.dtype, generator=generator).to(x.device)
    return -torch.log(-torch.log(u.clamp_(min=1e-20)))
