"""The one seeding rule of every model's sampling, and the argument checks that go with it.

A seed names one infinite stream of rows (or images). Row r of the stream is the same whatever
call, chunk, file or worker produces it, so `sample(n, seed, start=s)` equals rows s..s+n of
`sample(s + n, seed)`, and a Ray Data part file, a Serve response and an in-process call agree:
- the stream is cut into segments of SEGMENT_ROWS rows; segment s is the first SEGMENT_ROWS
  rows that meet the conditions among blocks drawn from generators keyed by (seed, s, block);
- without conditions every block is kept whole, so a part that starts inside a segment starts
  at its block; with rejection conditions it regenerates the segment's earlier blocks (at most
  SEGMENT_ROWS rows of extra work per part: make rows_per_file a multiple of it to avoid that).
Segment 0 keeps the keys (seed, block) of sampler version 1, so samples of up to SEGMENT_ROWS
rows are the same as before the rule; SAMPLER_VERSION changes whenever a seed's rows do."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import numpy as np
import torch

from synth.errors import DataError

SAMPLER_VERSION = 2
SEGMENT_ROWS = 65_536
_SEGMENT_TAG = 2**33  # keeps (seed, tag + segment, block) apart from (seed, block) keys
_GROUP_TAG = 2**32  # per-row conditions: (seed, tag, table segment, group words)


def derive_seed(*words: int) -> int:
    """A 63-bit seed derived from non-negative integers (e.g. seed, stream, block)."""
    state = np.random.SeedSequence([int(w) for w in words]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def block_seed(seed: int, block: int, segment: int = 0) -> int:
    """The seed of block `block` of segment `segment` of the stream of `seed`."""
    if segment == 0:
        return derive_seed(seed, block)
    return derive_seed(seed, _SEGMENT_TAG + segment, block)


def block_generator(seed: int, block: int, segment: int = 0) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(block_seed(seed, block, segment))
    return gen


def group_seed(seed: int, table_segment: int, conditions: dict[str, Any]) -> int:
    """The stream of one group of per-row conditions (equal condition values) within one
    SEGMENT_ROWS window of the conditions table: keyed by the values, not by group order."""
    text = repr(sorted((str(k), str(v)) for k, v in conditions.items()))
    digest = hashlib.sha256(text.encode()).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in (0, 4)]
    return derive_seed(seed, _GROUP_TAG, table_segment, *words)


def check_rows(num_rows: Any, what: str = "num_rows") -> int:
    """A positive int, or a DataError naming the argument."""
    if isinstance(num_rows, bool) or not isinstance(num_rows, int | np.integer) or num_rows < 1:
        raise DataError(f"{what} must be a positive integer, got {num_rows!r}")
    return int(num_rows)


def check_start(start: Any) -> int:
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise DataError(f"start must be a non-negative integer, got {start!r}")
    return int(start)


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def resolve_seed(seed: Any) -> int:
    """The seed given (checked), or a fresh random one when it is None."""
    return secrets.randbits(62) if seed is None else check_seed(seed)
