"""One column's noisy histogram over its declared range (the Gaussian mechanism): the exact
counts of its candidate points (the declared min and max, and 0 when in range) and the counts
of the other values in cells (one per integer when few enough, else equal cells, as many as the
rows can fill above the noise: grid_for), each with N(0, std²) noise; counts under 3 std are
zeroed so that empty cells do not fill up with noise. Every row adds 1 to exactly one count, so
a release over k columns has L2 sensitivity sqrt(k): the caller's std is its noise multiplier
x sqrt(k). Everything read off the result (quantile bins, mixture modes, samples) is
post-processing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = 1024  # cells of a continuous column over its declared range


@dataclass
class NoisyHistogram:
    cells: np.ndarray  # cell edges (len counts + 1)
    counts: np.ndarray  # noisy, thresholded counts of the values that are no candidate
    candidates: np.ndarray  # the candidate points
    point_counts: np.ndarray  # their noisy, thresholded counts

    def cell_of(self, value: float) -> int:
        return int(min(max(np.searchsorted(self.cells, value, "right") - 1, 0),
                       len(self.counts) - 1))

    def merged(self, keep: np.ndarray) -> np.ndarray:
        """The cell counts with the counts of the candidates not kept as points put back into
        their cells."""
        out = self.counts.copy()
        for c, n in zip(self.candidates[~keep], self.point_counts[~keep], strict=True):
            out[self.cell_of(c)] += n
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n values drawn from the histogram (uniform within a cell, points exact)."""
        mass = np.concatenate([self.point_counts, self.counts])
        if mass.sum() <= 0:
            return rng.uniform(self.cells[0], self.cells[-1], n)
        pick = rng.choice(len(mass), n, p=mass / mass.sum())
        k = len(self.candidates)
        out = np.empty(n)
        is_point = pick < k
        out[is_point] = self.candidates[pick[is_point]]
        cell = pick[~is_point] - k
        out[~is_point] = rng.uniform(self.cells[cell], self.cells[cell + 1])
        return out


def cells_for(lo: float, hi: float, decimals: int | None, grid: int = GRID) -> np.ndarray:
    if decimals == 0 and hi - lo + 1 <= grid:
        return np.arange(lo - 0.5, hi + 1.0)  # one cell per integer
    return np.linspace(lo, hi, grid + 1)


def grid_for(rows: int, std: float) -> int:
    """Cells over the range: as many as leave an even spread of the rows at 10 noise stds a
    cell (a finer grid would drown in noise), between 16 and GRID; the row count is public."""
    return int(np.clip(rows / (10 * std), 16, GRID))


def noisy_histogram(x: np.ndarray, lo: float, hi: float, decimals: int | None, std: float,
                    rng: np.random.Generator) -> NoisyHistogram:
    """The release for one column (x: its values, NaN for nulls, which are not counted)."""
    ok = np.clip(x[~np.isnan(x)], lo, hi)
    candidates = np.unique([lo, hi, *([0.0] if lo <= 0 <= hi else [])])
    at = np.isin(ok, candidates)
    points = np.array([(ok == c).sum() for c in candidates], dtype=np.float64)
    points += rng.normal(0, std, len(candidates))
    cells = cells_for(lo, hi, decimals, grid_for(len(x), std))
    counts = np.histogram(ok[~at], cells)[0].astype(np.float64)
    counts += rng.normal(0, std, len(counts))
    cut = 3 * std
    counts[counts < cut] = 0.0
    points[points < cut] = 0.0
    return NoisyHistogram(cells, counts, candidates, points)
