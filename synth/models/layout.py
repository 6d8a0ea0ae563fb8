"""Vectorized span operations on network outputs, built once from the transformer's spec.

The reference CTGAN loops over columns in Python for activations, the conditional loss and
decoding. Here softmax spans are grouped into a few buckets of similar width (powers of two),
each gathered into one padded (rows, spans, width) tensor: a handful of tensor ops per bucket
whatever the number of columns, with at most 2x padding (one padded tensor for all spans
would be as wide as the widest span, e.g. 42 countries, for every span)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from synth.data.transformer import Span


class _Bucket:
    """Softmax spans of similar width, gathered together."""

    def __init__(self, spans: list[Span], ids: list[int]) -> None:
        width = max(s.dim for s in spans)
        offsets = torch.arange(width)
        starts = torch.tensor([s.start for s in spans], dtype=torch.long).reshape(-1, 1)
        dims = torch.tensor([s.dim for s in spans], dtype=torch.long).reshape(-1, 1)
        self.valid = offsets.reshape(1, -1) < dims  # (spans, width)
        self.gather_idx = torch.where(self.valid, starts + offsets, starts)
        self.flat_pos = torch.nonzero(self.valid.reshape(-1)).reshape(-1)
        self.span_ids = torch.tensor(ids, dtype=torch.long)  # position among softmax spans
        self.last = dims.reshape(-1) - 1

    def to(self, device: torch.device) -> _Bucket:
        for key in ("valid", "gather_idx", "flat_pos", "span_ids", "last"):
            setattr(self, key, getattr(self, key).to(device))
        return self

    def logits(self, raw: torch.Tensor) -> torch.Tensor:
        """(rows, spans, width) logits; padding is -inf so it never wins nor gets mass."""
        picked = raw.index_select(1, self.gather_idx.reshape(-1))
        return picked.reshape(len(raw), *self.gather_idx.shape).masked_fill(~self.valid, -math.inf)


class SpanLayout:
    """Index tensors for the tanh columns and the bucketed softmax spans of a matrix."""

    def __init__(self, spans: list[Span]) -> None:
        values = [s for s in spans if s.activation == "tanh"]
        softmax = [s for s in spans if s.activation == "softmax"]
        self.value_idx = torch.tensor([s.start for s in values], dtype=torch.long)
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(softmax):
            groups.setdefault(max(s.dim - 1, 1).bit_length(), []).append(i)
        self.buckets = [_Bucket([softmax[i] for i in ids], ids)
                        for _, ids in sorted(groups.items())]
        order = [self.value_idx] + [b.gather_idx[b.valid] for b in self.buckets]
        self.inverse = torch.argsort(torch.cat(order))
        cond = [i for i, s in enumerate(softmax) if s.conditional]
        where = {i: (k, list(b.span_ids).index(i)) for k, b in enumerate(self.buckets)
                 for i in b.span_ids.tolist()}
        self.cond_bucket = torch.tensor([where[i][0] for i in cond], dtype=torch.long)
        self.cond_local = torch.tensor([where[i][1] for i in cond], dtype=torch.long)
        self.n_values, self.n_softmax = len(values), len(softmax)

    def to(self, device: torch.device) -> SpanLayout:
        for key in ("value_idx", "inverse", "cond_bucket", "cond_local"):
            setattr(self, key, getattr(self, key).to(device))
        self.buckets = [b.to(device) for b in self.buckets]
        return self

    def activate(self, raw: torch.Tensor, tau: float) -> torch.Tensor:
        """tanh on value columns, Gumbel-softmax(tau) on every softmax span (training path)."""
        parts = [torch.tanh(raw.index_select(1, self.value_idx))]
        for b in self.buckets:
            logits = b.logits(raw)
            soft = F.softmax((logits + gumbel_like(logits)) / tau, dim=-1)
            parts.append(soft.reshape(len(raw), -1).index_select(1, b.flat_pos))
        return torch.cat(parts, dim=1).index_select(1, self.inverse)

    def decode(self, raw: torch.Tensor, generator: torch.Generator | None, sample: bool = True
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(tanh values, category codes). With `sample`, codes are draws from each span's
        softmax (the law of argmax of Gumbel-softmax), by inverse CDF with one uniform per
        span rather than one Gumbel variate per cell; without it, the argmax."""
        codes = torch.empty(len(raw), self.n_softmax, dtype=torch.long, device=raw.device)
        for b in self.buckets:
            logits = b.logits(raw)
            if sample:
                cum = torch.softmax(logits, dim=-1).cumsum_(dim=-1)
                u = torch.rand(cum.shape[:2], dtype=cum.dtype, generator=generator)
                got = torch.minimum((cum < u.to(raw.device).unsqueeze(-1)).sum(dim=-1), b.last)
            else:
                got = logits.argmax(dim=-1)
            codes[:, b.span_ids] = got
        return torch.tanh(raw.index_select(1, self.value_idx)), codes

    def cond_loss(self, raw: torch.Tensor, span: torch.Tensor, category: torch.Tensor
                  ) -> torch.Tensor:
        """Cross-entropy of the generated logits of each row's conditioned span against the
        requested category (CTGAN's generator penalty), averaged over rows."""
        bucket, local = self.cond_bucket[span], self.cond_local[span]
        total = raw.new_zeros(())
        for k, b in enumerate(self.buckets):
            rows = torch.nonzero(bucket == k).reshape(-1)
            if len(rows):
                logp = F.log_softmax(b.logits(raw.index_select(0, rows)), dim=-1)
                total = total - logp[torch.arange(len(rows), device=raw.device), local[rows],
                                     category[rows]].sum()
        return total / len(raw)

    def softmax_cross_entropy(self, raw: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of every softmax span of `raw` against the one-hot truth."""
        total = raw.new_zeros(())
        for b in self.buckets:
            logits = b.logits(raw)
            target = b.logits(onehot).argmax(dim=-1)
            total = total + F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                            target.reshape(-1), reduction="sum")
        return total


def gumbel_like(x: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise -log(-log U) shaped like x."""
    u = torch.rand(x.shape, dtype=x.dtype, device=x.device)
    return -torch.log(-torch.log(u.clamp_(min=1e-20)))
