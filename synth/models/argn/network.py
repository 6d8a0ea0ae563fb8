"""The network: one embedding per token column and one head per token column. A head sees the
concatenated embeddings of the token columns before it in the row's column order, the others
zeroed, so one network holds the conditionals p(column | a set of other columns): training
draws a column order per row (the table's own order for a share of rows; for the rest a
random subset of the columns first, then the others, both in the table's order), and
sampling uses the same kind of order: condition columns first. A column's own tokens
(a numeric value's bin, then its slice) always come in their fixed order."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e9  # logit of a token a column cannot take
# spread of the ordinal directions at start, against the token embeddings' 1: a numeric
# token's embedding is mostly its place in the order at first, which lets a small table learn
# how numbers move together before the heads overfit (credit: pair trends 0.82 -> 0.96)
ORDINAL_SCALE = 3.0


class ARGNet(nn.Module):
    def __init__(self, vocab: list[int], column_of: list[int], embedding_dim: int, hidden: int,
                 dropout: float = 0.0, positions: np.ndarray | None = None) -> None:
        super().__init__()
        t, v, e = len(vocab), max(vocab), embedding_dim
        self.tokens, self.embedding_dim, self.vocab = t, e, list(vocab)
        offsets = torch.tensor([0, *vocab[:-1]]).cumsum(0)
        self.register_buffer("offsets", offsets)
        self.register_buffer("column_of", torch.tensor(column_of))
        col = torch.tensor(column_of)
        lower = torch.tril(torch.ones(t, t, dtype=torch.bool), diagonal=-1)
        self.register_buffer("within", (col[:, None] == col[None, :]) & lower)
        valid = torch.arange(v)[None, :] < torch.tensor(vocab)[:, None]
        self.register_buffer("valid", valid)
        self.embed = nn.Embedding(int(sum(vocab)), e)
        # ordinal part of a numeric token's embedding: its position (tokenizer) times a learned
        # direction per token column, so neighbouring bins start out alike
        pos = torch.zeros(t, v) if positions is None else torch.as_tensor(positions).float()
        self.register_buffer("positions", pos, persistent=False)
        self.direction = nn.Parameter(torch.randn(t, e) * ORDINAL_SCALE)
        k = t * e
        self.w1 = nn.Parameter(torch.empty(t, k, hidden).uniform_(-1, 1) / math.sqrt(k))
        self.b1 = nn.Parameter(torch.zeros(t, hidden))
        self.w2 = nn.Parameter(torch.empty(t, hidden, v).uniform_(-1, 1) / math.sqrt(hidden))
        self.b2 = nn.Parameter(torch.zeros(t, v))
        # ordinal part of a numeric head's output: the hidden state sets a slope and a
        # curvature over the tokens' positions (a bump in the column's order), so a head can
        # follow a trend into the sparse ends of a column from few rows; zero at start
        self.w_ord = nn.Parameter(torch.zeros(t, hidden, 2))
        self.drop = nn.Dropout(dropout)

    def start_from_marginals(self, counts: np.ndarray) -> None:
        """Output biases at the log frequencies of the tokens (token columns x vocabulary), so
        training starts from the marginals and spends its steps on the dependencies."""
        with torch.no_grad():
            freq = torch.as_tensor(counts, dtype=torch.float32) + 0.5
            self.b2.copy_(torch.log(freq / freq.sum(dim=1, keepdim=True)))

    def forward(self, tokens: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
        """Logits (batch x token columns x vocabulary) of every token column given the token
        columns before it; `ranks` (batch x columns) is each row's column order."""
        return self.parts(tokens, ranks)["logits"]

    def parts(self, tokens: torch.Tensor, ranks: torch.Tensor) -> dict[str, torch.Tensor]:
        """The forward pass with its intermediates (what per-row gradient norms are computed
        from, synth/models/argn/private.py): token embeddings `emb` (b x t x e) and their
        positions `pos` (b x t), each head's context `ctx` (b x t x t*e), pre-activation `pre`
        and hidden state `h` (t x b x hidden), ordinal coefficients `coef` (t x b x 2), and
        `logits` (b x t x v)."""
        b, t, e = tokens.shape[0], self.tokens, self.embedding_dim
        pos = self.positions.gather(1, tokens.T).T  # b x t
        emb = self.embed(tokens + self.offsets) + pos[..., None] * self.direction  # b x t x e
        r = ranks[:, self.column_of]  # b x t: the rank of each token's column
        sees = (r[:, None, :] < r[:, :, None]) | self.within  # b x target x source
        ctx = (sees[..., None] * emb[:, None, :, :]).reshape(b, t, t * e)
        pre = torch.bmm(ctx.transpose(0, 1), self.w1) + self.b1[:, None, :]
        h = self.drop(F.relu(pre))
        coef = torch.bmm(h, self.w_ord)  # t x b x 2
        logits = torch.bmm(h, self.w2) + self.b2[:, None, :]  # t x b x v
        logits = logits + self._ordinal(coef, self.positions[:, None, :])
        return {"emb": emb, "pos": pos, "ctx": ctx, "pre": pre, "h": h, "coef": coef,
                "logits": logits.transpose(0, 1).masked_fill(~self.valid, NEG)}

    def head(self, index: int, ctx: torch.Tensor, size: int,
             seen: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of token column `index` (its `size` tokens) from a context (batch x t*e)
        whose not-yet-sampled token columns are zero; `seen` (indices into t*e) skips the
        zero part of the product."""
        if seen is None:
            h = F.relu(ctx @ self.w1[index] + self.b1[index])
        else:
            h = F.relu(ctx[:, seen] @ self.w1[index, seen] + self.b1[index])
        pos = self.positions[index, :size]
        return (h @ self.w2[index, :, :size] + self.b2[index, :size]
                + self._ordinal(h @ self.w_ord[index], pos))

    @staticmethod
    def _ordinal(coef: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """slope * position - curvature * position^2 (coef: ... x 2)."""
        return coef[..., :1] * pos - coef[..., 1:] * pos * pos

    def embed_column(self, index: int, tokens: torch.Tensor) -> torch.Tensor:
        return (self.embed(tokens + self.offsets[index])
                + self.positions[index, tokens][:, None] * self.direction[index])


def token_nll(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of every token (rows x token columns)."""
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1),
                          reduction="none")
    return nll.view(tokens.shape)


def token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the rows: summed over token columns, mean over rows."""
    return token_nll(logits, tokens).sum(1).mean()
