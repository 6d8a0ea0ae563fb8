"""ARGN training over one shard of token rows: each epoch walks a fresh permutation of the
shard in per-worker batches (cycling when the shard is short of the global step count); every
row gets a column order, the table's own for `fixed_order_share` of the rows and for the rest
a random subset of the columns moved to the front: the orders the sampler uses (condition
columns first), so the heads learn every conditional it may ask for."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synth.dp.sgd import DPStep
from synth.models.argn.network import token_loss, token_nll
from synth.models.argn.private import clipped_backward
from synth.models.loop import ProgressHooks
from synth.models.private import PrivateSteps
from synth.models.session import OneNetworkSession, Reduce, Shard, TrainingSession, Wrap, bare


def token_counts(tokens: np.ndarray, vocab: list[int]) -> np.ndarray:
    """How often each token occurs in each token column (token columns x largest vocabulary):
    summed over the shards, the heads start from the marginals."""
    out = np.zeros((len(vocab), max(vocab)), dtype=np.float64)
    for i, v in enumerate(vocab):
        out[i, :v] = np.bincount(tokens[:, i], minlength=v)[:v]
    return out


def draw_ranks(rows: int, columns: int, fixed_share: float, gen: torch.Generator
               ) -> torch.Tensor:
    """Each row's column order (rows x columns: each column's rank), as the sampler forms
    them: a subset of the columns first (each column in it with a per-row probability drawn
    uniformly, so every subset size occurs), then the others, both in the table's order;
    `fixed_share` of the rows keep the table's order."""
    share = torch.rand(rows, 1, generator=gen)
    front = torch.rand(rows, columns, generator=gen) < share
    front[torch.rand(rows, generator=gen) < fixed_share] = False
    key = (~front).long() * columns + torch.arange(columns)  # front first, table order within
    return key.argsort(dim=1).argsort(dim=1)


class ARGNSession(PrivateSteps, OneNetworkSession):
    def __init__(self, model: Any, shard: Shard, wrap: Wrap, reduce: Reduce,
                 device: torch.device) -> None:
        self.begin(model, shard)
        tokens = np.asarray(shard.data, dtype=np.int64)
        net = model.new_network()
        if self.cfg.dp is None:  # (the token counts are the real rows': not under dp)
            net.start_from_marginals(reduce(token_counts(tokens, net.vocab)))
        self.x = torch.as_tensor(tokens, device=device)
        self.net = wrap(net.to(device))
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.cfg.lr,
                                     weight_decay=self.cfg.weight_decay)
        self.columns = len(model.tokens.columns)
        if self.begin_private(model, shard) is not None:
            bare_net, norm = bare(self.net), self.cfg.dp.max_grad_norm
            self.dp = DPStep(bare_net, self.opt,
                             lambda rows: clipped_backward(bare_net, rows[0], rows[1], norm),
                             norm, self.budget.noise, self.budget.q, shard.global_rows,
                             shard.world)

    def run_epoch(self) -> dict[str, float]:
        if self.dp is None:
            return super().run_epoch()
        self.net.train()
        total = 0.0
        for _ in range(self.steps):
            idx = self.dp.sample(len(self.x), self.gen, self.x.device)
            x = self.x[idx]
            total += self.dp.step((x, self._ranks(len(x))), self.gen)
            self.dp_steps += 1
        self.epoch += 1
        return self.private_metrics(loss=total / self.steps)

    def statistics(self) -> str:
        return ("declared metadata; tokens from one Gaussian histogram release"
                if self.budget.stats_noise is not None else self.STATISTICS)

    def extra_state(self) -> dict[str, Any]:
        return {"dp_steps": self.dp_steps} if self.dp is not None else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.dp_steps = int(state.get("dp_steps", 0))

    def finish(self) -> None:
        super().finish()
        self.keep_privacy()

    def _ranks(self, rows: int) -> torch.Tensor:
        return draw_ranks(rows, self.columns, self.cfg.fixed_order_share,
                          self.gen).to(self.x.device)

    def batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.x[idx]
        return token_loss(self.net(x, self._ranks(len(x))), x)


HEAD_PARAMS = ("w1", "b1", "w2", "b2", "w_ord")  # the parameters each head has a slice of


class HeldOutLikelihood(ProgressHooks):
    """In-process validation after every epoch: the log-likelihood of held-out token rows in
    column orders drawn as training draws them (once, seeded: the same orders every epoch),
    head by head. A head whose held-out loss got worse goes back to its best weights: heads
    that see many columns (late in the table's order) start to memorise rows after a few
    epochs, while the conditionals of the condition-first orders (p(age | sex)) still learn;
    one stop for all would cut those short. The loop stops when `patience` epochs bring no
    better total."""

    def __init__(self, name: str, cfg: Any, valid: np.ndarray, columns: int) -> None:
        super().__init__(name, cfg.epochs, cfg.progress)
        self.valid = torch.as_tensor(valid, dtype=torch.long)
        gen = torch.Generator().manual_seed(cfg.seed + 7919)
        self.ranks = draw_ranks(len(valid), columns, cfg.fixed_order_share, gen)
        self.best: torch.Tensor | None = None  # per head
        self.saved: dict[str, torch.Tensor] = {}

    def validate(self, session: TrainingSession) -> float:
        net = bare(session.net)  # type: ignore[attr-defined]
        was = net.training
        net.eval()
        with torch.no_grad():
            x = self.valid.to(session.x.device)  # type: ignore[attr-defined]
            ranks = self.ranks.to(x.device)
            loss = head_losses(net, x, ranks)
            if self.best is not None:
                worse = loss > self.best
                if worse.any():
                    for name in HEAD_PARAMS:
                        getattr(net, name).data[worse] = self.saved[name][worse].to(x.device)
                    loss = head_losses(net, x, ranks)
            better = loss <= self.best if self.best is not None else torch.ones_like(
                loss, dtype=torch.bool)
            self.best = loss if self.best is None else torch.minimum(loss, self.best)
            for name in HEAD_PARAMS:
                value = getattr(net, name).data.detach().cpu()
                self.saved[name] = value.clone() if name not in self.saved else torch.where(
                    better.view(-1, *[1] * (value.dim() - 1)).cpu(), value, self.saved[name])
        net.train(was)
        return -float(loss.sum())


def head_losses(net: Any, x: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of each token column's head (token columns)."""
    return token_nll(net(x, ranks), x).mean(0)
