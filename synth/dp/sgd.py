"""DP-SGD (Abadi et al. 2016) for a network whose loss is a sum of per-row terms, on one shard
or across data-parallel workers.

Each step: every row of this worker's shard joins the batch with probability q (Poisson
sampling, as the accountant assumes; the union over workers is then a Poisson sample of the
whole table at rate q); per-row gradients are clipped to L2 norm C and summed (`Clipped`: a
model's own ghost-norm pass, or `vmap_clipped`, torch.func per-row gradients for any network);
Gaussian noise is added; the result is divided by the expected global batch q x N (a public
constant) and the optimizer steps on it.

Across W workers the noise must be that of one Gaussian of std σC on the global sum: each
worker adds N(0, σ²C²/W) to its local sum and the sums are all-reduced (torch.distributed,
summing), so the global noise is a sum of W independent Gaussians, N(0, σ²C²), and one row,
which lives on one worker, moves the global sum by at most C: the sensitivity the accountant
assumes. DDP's gradient averaging is bypassed: the network runs unwrapped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

# rows (tensors split along dim 0) -> the summed loss; leaves in every parameter's .grad the
# sum over the rows of each row's gradient clipped to the norm C
Clipped = Callable[[tuple[torch.Tensor, ...]], float]


@dataclass
class DPStep:
    net: nn.Module  # the bare network (not a DDP wrapper)
    opt: torch.optim.Optimizer
    clipped: Clipped
    max_grad_norm: float
    noise: float  # noise multiplier σ
    q: float  # Poisson sampling rate
    global_rows: int
    world: int = 1

    def sample(self, rows: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """This step's batch: each of the shard's `rows` rows with probability q."""
        return torch.nonzero(torch.rand(rows, generator=gen) < self.q).squeeze(1).to(device)

    def step(self, rows: tuple[torch.Tensor, ...], gen: torch.Generator,
             public: Callable[[], None] | None = None) -> float:
        """One DP-SGD step on `rows` (possibly none); returns their mean loss. `public`
        adds (backward) the gradient of a loss term that reads no real row (a GAN critic's
        score of generated rows): no clipping or noise needed, DDP-averaged by the caller."""
        loss = self.clipped(rows)
        grads = [p.grad for p in self.net.parameters() if p.requires_grad]
        self.noise_and_reduce(grads, gen)  # type: ignore[arg-type]
        expected = self.q * self.global_rows
        for g in grads:
            g /= expected  # type: ignore[operator]
        if public is not None:
            public()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return loss / max(len(rows[0]), 1)

    def noise_and_reduce(self, grads: list[torch.Tensor], gen: torch.Generator) -> None:
        """Add this worker's share of the noise, then sum over the workers."""
        std = self.noise * self.max_grad_norm / self.world ** 0.5
        for g in grads:
            g += torch.randn(g.shape, generator=gen, dtype=g.dtype).to(g.device) * std
        if self.world > 1:
            import torch.distributed as dist

            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            start = 0
            for g in grads:
                g.copy_(flat[start:start + g.numel()].view_as(g))
                start += g.numel()


def vmap_clipped(net: nn.Module, row_loss: Callable[..., torch.Tensor], max_norm: float,
                 chunk: int = 64) -> Clipped:
    """Clipped gradient sums from torch.func per-row gradients, for any network:
    `row_loss(call, *rows)` is the loss of a batch of one row, `call(*args)` runs the
    network."""
    def clipped(rows: tuple[torch.Tensor, ...]) -> float:
        params = {k: v.detach() for k, v in net.named_parameters() if v.requires_grad}
        buffers = dict(net.named_buffers())
        total = {k: torch.zeros_like(v) for k, v in params.items()}

        def one(p: dict[str, torch.Tensor], *row: torch.Tensor) -> torch.Tensor:
            def call(*args: torch.Tensor) -> torch.Tensor:
                return functional_call(net, (p, buffers), args)

            return row_loss(call, *[r[None] for r in row])

        per_row = vmap(grad(one), in_dims=(None, *[0] * len(rows)), randomness="different")
        loss = 0.0
        for part in zip(*[r.split(chunk) for r in rows], strict=True):
            grads = per_row(params, *part)
            b = len(part[0])
            norms = torch.sqrt(sum(g.reshape(b, -1).pow(2).sum(1) for g in grads.values()))
            scale = (max_norm / (norms + 1e-12)).clamp(max=1.0)
            for k, g in grads.items():
                total[k] += torch.einsum("b,b...->...", scale, g)
            with torch.no_grad():
                loss += float(row_loss(net, *part)) * b
        for k, p in net.named_parameters():
            if k in total:
                p.grad = total[k]
        return loss

    return clipped
