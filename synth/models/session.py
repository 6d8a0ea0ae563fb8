"""Training as epochs over one shard of data, so that `model.fit` in one process, every Ray
Train worker and every Tune trial run the same code (synth.models.loop runs the epochs; jobs/
supplies the distributed pieces):

- `Shard`: this worker's encoded rows, the global row count, rank and world size;
- `wrap`: what to do with each network before training (DDP via ray.train.torch.prepare_model
  in the job; nothing locally);
- `reduce`: sum an array over all ranks (all-reduce in the job; identity locally), used for
  the global category counts of training-by-sampling.

Batch: `batch_size` is per worker, so the global batch is batch_size x world size; an epoch
is global_rows // global_batch steps on every rank (the same count everywhere, or DDP would
hang). Learning rates are not rescaled with the world size: the models use Adam, whose step
size does not grow with the batch the way SGD's does."""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from synth.models.seeding import derive_seed

Wrap = Callable[[nn.Module], nn.Module]
Reduce = Callable[[np.ndarray], np.ndarray]


def pick_device(name: str) -> torch.device:
    """A model config's `device`: auto (CUDA when there is one) | cpu | cuda | cuda:N."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def run_on(device: torch.device | None, net: nn.Module, *inputs: torch.Tensor | None
           ) -> torch.Tensor:
    """`net(*inputs)` on the sampling device (None or CPU: where it is), returned on the CPU;
    None inputs pass through."""
    if device is None or device.type == "cpu":
        return net(*inputs)
    return net(*[x if x is None else x.to(device, non_blocking=True) for x in inputs]).cpu()


def no_wrap(module: nn.Module) -> nn.Module:
    return module


def no_reduce(values: np.ndarray) -> np.ndarray:
    return values


def bare(module: nn.Module) -> nn.Module:
    """The module inside a DDP (or similar) wrapper."""
    return getattr(module, "module", module)


@dataclass
class Shard:
    """This worker's training data: encoded rows (tables), or images with their label codes."""

    data: Any  # tables: encoded rows (float32 array); images: N x C x S x S float tensor
    global_rows: int  # rows (images) of all shards together
    rank: int = 0
    world: int = 1
    device: torch.device | None = None
    codes: Any = None  # images: N x attributes label codes (long tensor)


def steps_per_epoch(shard: Shard, batch_size: int) -> int:
    return max(shard.global_rows // (batch_size * shard.world), 1)


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """This rank's random state as checkpointable values (a JSON string and byte tensors):
    numpy's, torch's CPU generator and, once CUDA is in use, every CUDA device's (dropout and
    noise drawn on the GPU), so a resumed run continues the same random streams."""
    state = {"numpy": json.dumps(rng.bit_generator.state), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = json.loads(state["numpy"])
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@torch.no_grad()
def ema_update(ema: nn.Module, live: nn.Module, decay: float) -> None:
    """Move `ema`'s weights toward `live`'s by 1 - decay; buffers (batch-norm statistics) are
    the live network's."""
    for e, p in zip(ema.parameters(), live.parameters(), strict=True):
        e.lerp_(p.detach(), 1 - decay)
    for e, b in zip(ema.buffers(), live.buffers(), strict=True):
        e.copy_(b)


class TrainingSession(ABC):
    """One model's training on one shard. `epoch` counts finished epochs. `loop_state` holds
    what the training loop keeps across epochs besides the networks (the best validation's
    weights under `keep_best`); checkpoints save it with the session."""

    epoch: int = 0

    @property
    def loop_state(self) -> dict[str, Any]:
        if "_loop_state" not in self.__dict__:
            self._loop_state: dict[str, Any] = {}
        return self._loop_state

    @abstractmethod
    def run_epoch(self) -> dict[str, float]:
        """Train one epoch; returns its metrics (losses, rows seen by all ranks)."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizers and the epoch counter (this rank's RNG: `rng_state`)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    @abstractmethod
    def rng_state(self) -> dict[str, Any]: ...

    @abstractmethod
    def set_rng_state(self, state: dict[str, Any]) -> None: ...

    @abstractmethod
    def snapshot(self) -> Any:
        """A copy of the model with the current weights (on CPU), for validation while
        training continues."""

    @abstractmethod
    def finish(self) -> None:
        """Install the trained weights into the model (unwrapped, on CPU, eval mode)."""

    def grid(self) -> np.ndarray | None:
        """Fixed-noise samples as one uint8 image grid (image models), else None: checkpoints
        and in-process snapshots carry it."""
        return None


class ShuffledRows:
    """For sessions that walk a fresh permutation of the shard's rows every epoch (cycling
    when the shard is short of the global step count): the seeded generators, the epoch's row
    order and their checkpointable state."""

    gen: torch.Generator
    rng: np.random.Generator

    def seed_rows(self, seed: int, rank: int) -> None:
        self.gen = torch.Generator().manual_seed(derive_seed(seed, rank, 1))
        self.rng = np.random.default_rng(derive_seed(seed, rank, 2))  # checkpointed

    def epoch_order(self, rows: int, need: int, device: torch.device) -> torch.Tensor:
        """`need` row indices: whole permutations of the `rows` rows, cut to length."""
        laps = -(-need // max(rows, 1))
        order = torch.cat([torch.randperm(rows, generator=self.gen) for _ in range(laps)])
        return order[:need].to(device)

    def rng_state(self) -> dict[str, Any]:
        return {**rng_state(self.rng), "perm": self.gen.get_state()}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state)
        self.gen.set_state(state["perm"])


class OneNetworkSession(ShuffledRows, TrainingSession):
    """A session that trains one network with one optimizer over shuffled rows (argn, potnet,
    binary_diffusion): each epoch walks a fresh permutation of the shard in per-worker batches
    and steps on `batch_loss`; the trained network goes to the model's `network`. Subclasses
    build `net` (wrapped), `opt` and `x` (the rows, on the device) and may use `start_epoch` /
    `after_step` and `extra_state` / `load_extra_state` / `trained_network`."""

    model: Any
    cfg: Any
    shard: Shard
    net: nn.Module
    opt: torch.optim.Optimizer
    x: torch.Tensor

    def begin(self, model: Any, shard: Shard) -> None:
        """Seed this rank (network init, row order) before the subclass builds its network."""
        self.model, self.cfg, self.shard = model, model.config, shard
        torch.manual_seed(derive_seed(self.cfg.seed, shard.rank))
        self.seed_rows(self.cfg.seed, shard.rank)
        self.steps = steps_per_epoch(shard, self.cfg.batch_size)
        self.epoch = 0

    @abstractmethod
    def batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        """The loss of the rows `idx` of this shard."""

    def start_epoch(self) -> None:
        """Before an epoch's first step (learning-rate schedules, decaying penalties)."""

    def after_step(self) -> None:
        """After every optimizer step (e.g. an EMA of the weights)."""

    def run_epoch(self) -> dict[str, float]:
        batch = self.cfg.batch_size
        need = self.steps * batch
        order = self.epoch_order(len(self.x), need, self.x.device)
        self.start_epoch()
        self.net.train()
        total = 0.0
        for idx in order.split(batch):
            loss = self.batch_loss(idx)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.after_step()
            total += float(loss.detach())
        self.epoch += 1
        return {"epoch": self.epoch, "loss": total / self.steps, "rows": need * self.shard.world}

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what `extra_state` saved."""

    def state_dict(self) -> dict[str, Any]:
        return {"network": bare(self.net).state_dict(), "opt": self.opt.state_dict(),
                "epoch": self.epoch, **self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        bare(self.net).load_state_dict(state["network"])
        self.opt.load_state_dict(state["opt"])
        self.epoch = int(state["epoch"])
        self.load_extra_state(state)

    def trained_network(self) -> nn.Module:
        """The network sampling uses (the live one; an EMA copy where there is one)."""
        return bare(self.net)

    def snapshot(self) -> Any:
        model = copy.copy(self.model)
        model.network = copy.deepcopy(self.trained_network()).cpu().eval()
        return model

    def finish(self) -> None:
        self.model.network = self.trained_network().cpu().eval()
