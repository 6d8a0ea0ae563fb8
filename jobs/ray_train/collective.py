"""Sums, gathers and broadcasts over the ranks of a Ray Train run (torch.distributed; no-ops
for one worker), and the checksums the tests and the training record use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch


class Collective:
    def __init__(self, world: int) -> None:
        self.world = world

    def sum(self, values: np.ndarray) -> np.ndarray:
        if self.world == 1:
            return values
        t = torch.as_tensor(np.asarray(values, dtype=np.float64))
        torch.distributed.all_reduce(t)
        return t.numpy()

    def gather(self, obj: Any) -> list[Any]:
        if self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        if self.world == 1:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]


def digest(df: pd.DataFrame) -> int:
    """Order-free fingerprint of a set of rows: the sum of their hashes modulo 2**64 (the
    digests of disjoint shards add up to the digest of the whole table)."""
    if len(df) == 0:
        return 0
    return int(pd.util.hash_pandas_object(df, index=False).to_numpy().sum(dtype=np.uint64))


def image_digest(images: np.ndarray) -> int:
    """Order-dependent checksum of a shard of images (the byte sum)."""
    return int(np.frombuffer(images.tobytes(), dtype=np.uint8).sum(dtype=np.uint64))


def param_digest(session: Any) -> float:
    """A checksum of this rank's trainable parameters (DDP keeps them identical on every
    rank; normalization running statistics are per-rank buffers and are left out)."""
    state = session.state_dict()
    tensors = [t for key, sd in sorted(state.items()) if key[:3] != "opt" and isinstance(sd, dict)
               for name, t in sorted(sd.items()) if torch.is_tensor(t) and t.is_floating_point()
               and "running_" not in name]
    return float(sum(t.double().sum().item() * (i + 1) for i, t in enumerate(tensors)))
