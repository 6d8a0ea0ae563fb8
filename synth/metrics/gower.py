"""Gower distance for mixed tables: the mean over columns of |a - b| / range for continuous
columns (range of the reference data, clipped at 1) and of a != b for discrete ones; a null
against a value counts 1, two nulls 0. Used by the privacy metrics and the joint Wasserstein
distance. Pairwise blocks run in torch, in chunks, so memory stays bounded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from synth.data.metadata import Metadata
from synth.metrics.columns import compared_columns, continuous_values, discrete_values

_NULL = 1.0e6  # a scaled null sits >= 1 away from every value (the cost clips at 1)
CHUNK_CELLS = 4_000_000


@dataclass
class Encoded:
    """Rows ready for Gower distances: scaled continuous values and discrete codes."""

    num: torch.Tensor  # float32 (n, p_num)
    cat: torch.Tensor  # int64 (n, p_cat)

    def __len__(self) -> int:
        return self.num.shape[0]

    @property
    def width(self) -> int:
        return self.num.shape[1] + self.cat.shape[1]


def encode(frames: list[pd.DataFrame], md: Metadata, reference: pd.DataFrame) -> list[Encoded]:
    """Encode several frames on one scale (the reference's ranges) and one code book."""
    shapes = compared_columns(md)
    cont = [c for c, s in shapes.items() if s == "continuous"]
    disc = [c for c, s in shapes.items() if s == "discrete"]
    scale = {}
    for c in cont:
        x = continuous_values(reference[c], md.columns[c])
        lo, hi = (np.nanmin(x), np.nanmax(x)) if np.isfinite(x).any() else (0.0, 1.0)
        scale[c] = (lo, (hi - lo) or 1.0)
    sizes = [len(f) for f in frames]
    codes = {}
    for c in disc:
        values = np.concatenate([discrete_values(f[c]) for f in frames])
        codes[c] = pd.factorize(values, use_na_sentinel=False)[0]
    out, start = [], 0
    for f, n in zip(frames, sizes, strict=True):
        num = np.empty((n, len(cont)), dtype=np.float32)
        for j, c in enumerate(cont):
            x = (continuous_values(f[c], md.columns[c]) - scale[c][0]) / scale[c][1]
            num[:, j] = np.where(np.isnan(x), _NULL, x)
        cat = np.stack([codes[c][start:start + n] for c in disc], 1) if disc else \
            np.empty((n, 0), dtype=np.int64)
        out.append(Encoded(torch.from_numpy(num), torch.from_numpy(cat.astype(np.int64))))
        start += n
    return out


def _block(q: Encoded, r: Encoded, rows: slice) -> torch.Tensor:
    num = (q.num[rows, None, :] - r.num[None, :, :]).abs_().clamp_(max=1.0).sum(-1)
    cat = (q.cat[rows, None, :] != r.cat[None, :, :]).sum(-1, dtype=torch.float32)
    return (num + cat) / max(q.width, 1)


def _chunks(q: Encoded, r: Encoded):
    step = max(1, CHUNK_CELLS // max(len(r) * max(q.width, 1), 1))
    for start in range(0, len(q), step):
        yield slice(start, min(start + step, len(q)))


def nearest(query: Encoded, reference: Encoded, k: int = 2) -> np.ndarray:
    """(n_query, k) distances to the k closest reference rows, ascending."""
    k = min(k, len(reference))
    parts = [torch.topk(_block(query, reference, s), k, dim=1, largest=False).values
             for s in _chunks(query, reference)]
    return torch.cat(parts).numpy().astype(np.float64)


def pairwise(query: Encoded, reference: Encoded) -> np.ndarray:
    """The full (n_query, n_reference) distance matrix (use on bounded subsamples)."""
    return torch.cat([_block(query, reference, s) for s in _chunks(query, reference)]).numpy()
