"""The vectorized span operations agree with a plain per-span loop (the reference's way)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from synth.data.transformer import Span
from synth.models.layout import SpanLayout

SPANS = [Span("a", "value", 0, 1), Span("a", "mode", 1, 3), Span("b", "category", 4, 2),
         Span("c", "category", 6, 42), Span("d", "value", 48, 1), Span("d", "mode", 49, 9),
         Span("e", "category", 58, 5)]
SOFTMAX = [s for s in SPANS if s.activation == "softmax"]
COND = [s for s in SPANS if s.conditional]


def test_activate_puts_tanh_and_distributions_in_place():
    torch.manual_seed(0)
    raw = torch.randn(64, 63)
    out = SpanLayout(SPANS).activate(raw, tau=0.2)
    assert torch.allclose(out[:, 0], torch.tanh(raw[:, 0]))
    assert torch.allclose(out[:, 48], torch.tanh(raw[:, 48]))
    for s in SOFTMAX:
        part = out[:, s.start:s.start + s.dim]
        assert torch.allclose(part.sum(1), torch.ones(64), atol=1e-5) and (part >= 0).all()


def test_decode_draws_follow_the_softmax_and_argmax_is_exact():
    layout = SpanLayout(SPANS)
    raw = torch.randn(1, 63).repeat(40_000, 1)
    gen = torch.Generator().manual_seed(0)
    values, codes = layout.decode(raw, gen, sample=True)
    assert values.shape == (40_000, 2) and codes.shape == (40_000, len(SOFTMAX))
    for j, s in enumerate(SOFTMAX):
        probs = F.softmax(raw[0, s.start:s.start + s.dim], dim=0)
        freq = torch.bincount(codes[:, j], minlength=s.dim).double() / len(codes)
        assert codes[:, j].max() < s.dim
        assert (freq - probs.double()).abs().max() < 0.015
    _, top = layout.decode(raw[:3], None, sample=False)
    for j, s in enumerate(SOFTMAX):
        assert (top[:, j] == raw[:3, s.start:s.start + s.dim].argmax(1)).all()


def test_cond_loss_matches_a_per_span_loop():
    torch.manual_seed(1)
    raw = torch.randn(32, 63)
    span = torch.randint(0, len(COND), (32,))
    category = torch.tensor([int(torch.randint(0, COND[j].dim, ())) for j in span])
    expected = torch.stack([F.cross_entropy(raw[i:i + 1, COND[j].start:COND[j].start + COND[j].dim],
                                            category[i:i + 1]) for i, j in enumerate(span)]).mean()
    assert torch.allclose(SpanLayout(SPANS).cond_loss(raw, span, category), expected, atol=1e-6)
