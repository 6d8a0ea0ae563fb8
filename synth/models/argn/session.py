"""ARGN training over one shard of token rows: each epoch walks a fresh permutation of the
shard in per-worker batches (cycling when the shard is short of the global step count); every
row gets a column order, the table's own for `fixed_order_share` of the rows and a random one
for the rest, so the heads learn every conditional the sampler may ask for."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synth.models.argn.network import token_loss
from synth.models.loop import ProgressHooks
from synth.models.session import OneNetworkSession, Reduce, Shard, TrainingSession, Wrap, bare


def token_counts(tokens: np.ndarray, vocab: list[int]) -> np.ndarray:
    """How often each token occurs in each token column (token columns x largest vocabulary):
    summed over the shards, the heads start from the marginals."""
    out = np.zeros((len(vocab), max(vocab)), dtype=np.float64)
    for i, v in enumerate(vocab):
        out[i, :v] = np.bincount(tokens[:, i], minlength=v)[:v]
    return out


class ARGNSession(OneNetworkSession):
    def __init__(self, model: Any, shard: Shard, wrap: Wrap, reduce: Reduce,
                 device: torch.device) -> None:
        self.begin(model, shard)
        tokens = np.asarray(shard.data, dtype=np.int64)
        net = model.new_network()
        net.start_from_marginals(reduce(token_counts(tokens, net.vocab)))
        self.x = torch.as_tensor(tokens, device=device)
        self.net = wrap(net.to(device))
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.cfg.lr,
                                     weight_decay=self.cfg.weight_decay)
        self.columns = len(model.tokens.columns)

    def _ranks(self, rows: int) -> torch.Tensor:
        ranks = torch.rand(rows, self.columns, generator=self.gen).argsort(dim=1)
        fixed = torch.rand(rows, generator=self.gen) < self.cfg.fixed_order_share
        ranks[fixed] = torch.arange(self.columns)
        return ranks.to(self.x.device)

    def batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.x[idx]
        return token_loss(self.net(x, self._ranks(len(x))), x)


class HeldOutLikelihood(ProgressHooks):
    """In-process validation: the log-likelihood of held-out token rows (in the table's
    column order) after every epoch; the loop stops when `patience` epochs bring no
    improvement and keeps the best epoch's weights."""

    def __init__(self, name: str, cfg: Any, valid: np.ndarray) -> None:
        super().__init__(name, cfg.epochs, cfg.progress)
        self.valid = torch.as_tensor(valid, dtype=torch.long)

    def validate(self, session: TrainingSession) -> float:
        net = bare(session.net)  # type: ignore[attr-defined]
        was = net.training
        net.eval()
        with torch.no_grad():
            x = self.valid.to(session.x.device)  # type: ignore[attr-defined]
            ranks = torch.arange(net.column_of.max() + 1, device=x.device).expand(len(x), -1)
            score = -float(token_loss(net(x, ranks), x))
        net.train(was)
        return score
