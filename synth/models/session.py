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
    """This rank's random state as checkpointable values (a JSON string and a byte tensor)."""
    return {"numpy": json.dumps(rng.bit_generator.state), "torch": torch.get_rng_state()}


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = json.loads(state["numpy"])
    torch.set_rng_state(state["torch"])


class TrainingSession(ABC):
    """One model's training on one shard. `epoch` counts finished epochs."""

    epoch: int = 0

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
