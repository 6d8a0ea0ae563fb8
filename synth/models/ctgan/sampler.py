"""Training-by-sampling (CTGAN): conditional vectors and the real rows that match them,
vectorized over the batch (the reference draws real rows one by one in Python)."""

from __future__ import annotations

import numpy as np
import torch

from synth.data.transformer import Span


class CondSampler:
    """Category index of every row for each conditional span, grouped for O(1) row draws.

    Global category g = (span j, level c) is numbered span by span, which is also the layout
    of the conditional vector. `counts` may come from the whole table while `data` is one
    shard: conditional vectors then follow the *global* frequencies and a category absent
    from this shard falls back to a random row of the shard."""

    def __init__(self, data: np.ndarray, spans: list[Span], log_frequency: bool = True,
                 counts: np.ndarray | None = None) -> None:
        self.n_rows = len(data)
        self.dims = np.array([s.dim for s in spans], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.dims)]).astype(np.int64)
        self.cond_dim = int(self.offsets[-1])
        self.n_spans = len(spans)
        order, local = [], np.zeros(self.cond_dim, dtype=np.int64)
        for j, s in enumerate(spans):
            codes = data[:, s.start:s.start + s.dim].argmax(axis=1)
            order.append(np.argsort(codes, kind="stable") if len(codes) else codes)
            local[self.offsets[j]:self.offsets[j + 1]] = np.bincount(codes, minlength=s.dim)
        self.row_order = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
        self.row_count = local
        ptr = np.zeros(self.cond_dim, dtype=np.int64)
        for j in range(self.n_spans):  # span j's rows are run j of row_order, sorted by level
            seg = local[self.offsets[j]:self.offsets[j + 1]]
            ptr[self.offsets[j]:self.offsets[j + 1]] = j * self.n_rows + np.concatenate(
                [[0], np.cumsum(seg)[:-1]])
        self.row_ptr = ptr
        freq = (local if counts is None else np.asarray(counts)).astype(np.float64)
        self.counts = freq  # global category counts (saved with the model)
        self.train_cum = self._cumulative(np.log1p(freq) if log_frequency else freq)
        self.sample_probs = self._within_span(freq) / max(self.n_spans, 1)

    def _within_span(self, weights: np.ndarray) -> np.ndarray:
        out = weights.copy()
        for j in range(self.n_spans):
            part = out[self.offsets[j]:self.offsets[j + 1]]
            out[self.offsets[j]:self.offsets[j + 1]] = part / max(part.sum(), 1e-12)
        return out

    def _cumulative(self, weights: np.ndarray) -> np.ndarray:
        """(spans, max_dim) cumulative probabilities, padded with 1."""
        probs = self._within_span(weights)
        width = int(self.dims.max()) if self.n_spans else 1
        cum = np.ones((self.n_spans, width))
        for j in range(self.n_spans):
            cum[j, : self.dims[j]] = np.cumsum(probs[self.offsets[j]:self.offsets[j + 1]])
        return cum

    def sample_train(self, batch: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(span, level, global category) per row: a span uniformly, then a level by
        log-frequency. None when the table has no conditional span."""
        if self.n_spans == 0:
            return None
        span = rng.integers(0, self.n_spans, size=batch)
        u = rng.random(batch)[:, None]
        level = np.minimum((self.train_cum[span] < u).sum(axis=1), self.dims[span] - 1)
        return span, level, self.offsets[span] + level

    def sample_rows(self, category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random row of the shard holding each requested global category."""
        count = self.row_count[category]
        pick = self.row_ptr[category] + np.floor(rng.random(len(category)) * count).astype(
            np.int64)
        rows = self.row_order[np.minimum(pick, len(self.row_order) - 1)]
        missing = count == 0
        rows[missing] = rng.integers(0, self.n_rows, size=int(missing.sum()))
        return rows

    def onehot(self, category: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
        cat = torch.as_tensor(category, device=device)
        out = torch.zeros(len(cat), self.cond_dim, device=device)
        out[torch.arange(len(cat), device=device), cat] = 1.0
        return out

    def sample_original(self, batch: int, gen: torch.Generator) -> torch.Tensor:
        """Global categories by their real frequencies (used when sampling unconditionally)."""
        probs = torch.as_tensor(self.sample_probs)
        return torch.multinomial(probs, batch, replacement=True, generator=gen)
