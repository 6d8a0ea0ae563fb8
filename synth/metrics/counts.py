"""Pass 2 of the mergeable fidelity statistics, on a Plan made from the pass-1 scans:

- continuous columns: counts below, at and between the real data's distinct values (the
  `edges`), which give both empirical CDFs at every point where the KS distance can peak;
- discrete columns: counts per value of the shared vocabulary (+ overflow, + null);
- continuous pairs: co-moments (n, means, centred second moments) over rows where both are set;
- other pairs: a sparse contingency table; a continuous column in a mixed pair is cut into 10
  equal-width bins of its own data set's range (the SDMetrics convention).

Counts add and co-moments merge exactly (Chan et al.), so `count(A ∪ B) == merge_counts(
count(A), count(B))` up to float rounding of the moments."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from synth.data.metadata import Metadata
from synth.metrics.columns import codes_in, compared_columns, continuous_values
from synth.metrics.scan import Scan

PAIR_BINS = 10
DENSE_CELLS = 4_000_000
Pair = tuple[str, str]


@dataclass
class Plan:
    """What pass 2 counts against: edges, vocabularies and pair bins per data set."""

    shapes: dict[str, str]
    edges: dict[str, np.ndarray]
    exact: dict[str, bool]
    vocab: dict[str, pd.Index]
    bins: dict[str, dict[str, np.ndarray]]  # role ('real'/'synthetic') -> column -> edges
    pairs: list[Pair] = field(default_factory=list)

    def width(self, name: str) -> int:
        """Number of codes of a column in a contingency table."""
        if self.shapes[name] == "continuous":
            return PAIR_BINS + 2
        return len(self.vocab[name]) + 2


def make_plan(md: Metadata, real: Scan, synthetic: Scan) -> Plan:
    shapes = compared_columns(md)
    edges, exact, vocab, bins = {}, {}, {}, {"real": {}, "synthetic": {}}
    for name, shape in shapes.items():
        if shape == "continuous":
            edges[name] = np.sort(real[name].values.astype("float64"))
            exact[name] = real[name].complete
            for role, sc in (("real", real), ("synthetic", synthetic)):
                bins[role][name] = _pair_bins(sc[name].lo, sc[name].hi)
        else:
            values = pd.Index(np.concatenate([real[name].values, synthetic[name].values]))
            vocab[name] = values[~values.duplicated()]
            # exact whenever every real value is in the vocabulary: synthetic values outside it
            # have zero real mass, so lumping them changes no TV distance
            exact[name] = real[name].complete
    pairs = list(itertools.combinations(shapes, 2))
    return Plan(shapes, edges, exact, vocab, bins, pairs)


def _pair_bins(lo: float, hi: float) -> np.ndarray:
    """numpy.histogram_bin_edges(x) for 10 bins (a constant column spans +-0.5)."""
    if not np.isfinite(lo):
        return np.linspace(0.0, 1.0, PAIR_BINS + 1)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, PAIR_BINS + 1)


@dataclass
class Counts:
    rows: int
    nulls: dict[str, int]
    hist: dict[str, np.ndarray]
    cats: dict[str, np.ndarray]
    moments: dict[Pair, np.ndarray]
    tables: dict[Pair, tuple[np.ndarray, np.ndarray]]  # (sorted cell keys, counts)


def count(df: pd.DataFrame | pa.Table, md: Metadata, plan: Plan, role: str) -> Counts:
    """Pass-2 statistics of a block of rows of the `role` ('real'/'synthetic') data set."""
    values, codes = {}, {}
    out = Counts(len(df), {}, {}, {}, {}, {})
    for name, shape in plan.shapes.items():
        if shape == "continuous":
            x = continuous_values(df[name], md.columns[name])
            values[name] = x
            out.nulls[name] = int(np.isnan(x).sum())
            out.hist[name] = _edge_hist(x, plan.edges[name])
            codes[name] = np.digitize(x, plan.bins[role][name])  # nan -> last code
        else:
            vocab = plan.vocab[name]
            code = codes_in(df[name], vocab)  # + overflow (not in the vocabulary), + null
            codes[name] = code
            out.nulls[name] = int((code == len(vocab) + 1).sum())
            out.cats[name] = np.bincount(code, minlength=len(vocab) + 2)
    for a, b in plan.pairs:
        if plan.shapes[a] == plan.shapes[b] == "continuous":
            out.moments[(a, b)] = _moments(values[a], values[b])
        else:
            keys = codes[a].astype(np.int64) * plan.width(b) + codes[b]
            out.tables[(a, b)] = _table(keys, plan.width(a) * plan.width(b))
    return out


def _edge_hist(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in slots [<e0, =e0, (e0,e1), =e1, ..., =e_last, >e_last] (nulls skipped)."""
    x = x[~np.isnan(x)]
    i = np.searchsorted(edges, x, side="left")
    at = np.zeros(len(x), dtype=bool)
    inside = i < len(edges)
    at[inside] = edges[i[inside]] == x[inside]
    return np.bincount(2 * i + at, minlength=2 * len(edges) + 1).astype(np.int64)


def _moments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) == 0:
        return np.zeros(6)
    mx, my = x.mean(), y.mean()
    dx, dy = x - mx, y - my
    return np.array([len(x), mx, my, dx @ dx, dy @ dy, dx @ dy])


def merge_moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = a[0], b[0]
    if na == 0 or nb == 0:
        return (b if na == 0 else a).copy()
    n = na + nb
    dx, dy = b[1] - a[1], b[2] - a[2]
    w = na * nb / n
    return np.array([n, a[1] + dx * nb / n, a[2] + dy * nb / n, a[3] + b[3] + dx * dx * w,
                     a[4] + b[4] + dy * dy * w, a[5] + b[5] + dx * dy * w])


def _table(keys: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse (key, count) of the keys: a dense bincount when the table is small (linear
    time), a sort otherwise."""
    if cells <= DENSE_CELLS:
        dense = np.bincount(keys, minlength=cells)
        nz = np.flatnonzero(dense)
        return nz.astype(np.int64), dense[nz].astype(np.int64)
    return _sparse_counts(keys, np.ones(len(keys), dtype=np.int64))


def _sparse_counts(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=weights, minlength=len(uniq)).astype(np.int64)


def merge_counts(a: Counts, b: Counts) -> Counts:
    """The counts of the union of the two row sets."""
    tables = {}
    for pair, (ka, ca) in a.tables.items():
        kb, cb = b.tables[pair]
        tables[pair] = _sparse_counts(np.concatenate([ka, kb]), np.concatenate([ca, cb]))
    return Counts(a.rows + b.rows, {k: v + b.nulls[k] for k, v in a.nulls.items()},
                  {k: v + b.hist[k] for k, v in a.hist.items()},
                  {k: v + b.cats[k] for k, v in a.cats.items()},
                  {k: merge_moments(v, b.moments[k]) for k, v in a.moments.items()}, tables)
