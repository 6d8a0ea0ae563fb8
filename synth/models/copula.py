"""Gaussian copula: each column's marginal (empirical quantiles for numbers, frequency
intervals for categories) mapped to a standard normal score; their dependence is one
correlation matrix. Conditions are sampled from the conditional distribution itself:
each condition is an interval of its normal score, drawn from the truncated multivariate
normal by Gibbs sweeps, and the free scores from the Gaussian conditional given them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from scipy import special, stats

from synth.config import require
from synth.data.codecs import CategoricalCodec
from synth.models.base import BLOCK_ROWS, Synthesizer
from synth.models.conditions import Condition
from synth.models.registry import register_synthesizer
from synth.store import load_npz, npz_bytes

EPS = 1e-6


@dataclass(frozen=True)
class CopulaConfig:
    quantiles: int = 1001  # size of each numeric marginal's quantile table (bounded memory)
    max_fit_rows: int = 200_000  # correlation estimated on at most this many rows
    gibbs_sweeps: int = 20
    seed: int = 0
    max_categories: int = 500
    max_tail_values: int = 10_000

    def validate(self) -> None:
        require(self.quantiles >= 11, "quantiles must be >= 11")
        require(self.gibbs_sweeps >= 1, "gibbs_sweeps must be >= 1")

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {"quantiles": {"type": "choice", "values": [101, 1001, 4001]}}


def ndtri(u: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(u, EPS, 1 - EPS))


@register_synthesizer("gaussian_copula")
class GaussianCopula(Synthesizer):
    name = "gaussian_copula"
    config_cls = CopulaConfig
    weight_file_names: ClassVar[list[str]] = ["copula.npz"]

    mode_normalize = False  # the copula reads plain codec values

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.arrays: dict[str, np.ndarray] = {}


    # ----------------------------------------------------------------- fit
    def _fit_model(self, data: pd.DataFrame) -> None:
        tr, cfg = self.transformer, self.config
        rng = np.random.default_rng(cfg.seed)
        if len(data) > cfg.max_fit_rows:
            data = data.iloc[rng.choice(len(data), cfg.max_fit_rows, replace=False)]
        grid = np.linspace(0, 1, cfg.quantiles)
        scores, arrays = [], {"grid": grid}
        for j, name in enumerate(tr.numeric_columns):
            x = tr.codecs[name].to_float(data[name])
            ok = ~np.isnan(x)
            arrays[f"q{j}"] = np.quantile(x[ok], grid)
            u = np.full(len(x), 0.5)
            u[ok] = stats.rankdata(x[ok]) / (ok.sum() + 1)
            scores.append(ndtri(u))
        for j, name in enumerate(tr.categorical_columns):
            codec: CategoricalCodec = tr.codecs[name]
            edges = np.concatenate([[0.0], np.cumsum(codec.probs)])
            edges[-1] = 1.0
            arrays[f"e{j}"] = edges
            codes = codec.encode(data[name])
            u = edges[codes] + rng.random(len(codes)) * (edges[codes + 1] - edges[codes])
            scores.append(ndtri(u))
        z = np.stack(scores, axis=1)
        corr = np.corrcoef(z, rowvar=False) if z.shape[1] > 1 else np.ones((1, 1))
        arrays["corr"] = _nearest_correlation(np.nan_to_num(corr))
        arrays["null_rate"] = np.array([tr.codecs[c].state["null_rate"]
                                        for c in tr.numeric_columns])
        self.arrays = arrays

    # ----------------------------------------------------------------- sample
    def _plan(self, conds: list[Condition]) -> dict[int, tuple[float, float]]:
        """Score-space interval of every condition: {score index: (low, high)}."""
        tr, a = self.transformer, self.arrays
        nums, cats = tr.numeric_columns, tr.categorical_columns
        box: dict[int, tuple[float, float]] = {}
        for c in conds:
            if c.column in cats:
                if c.code is None:
                    continue  # a tail value: rejection
                j = cats.index(c.column)
                e = a[f"e{j}"]
                lo, hi = ndtri(np.array([e[c.code], e[c.code + 1]]))
                box[len(nums) + j] = (float(lo), float(hi))
            else:
                j = nums.index(c.column)
                low = c.value if c.op == "eq" else c.low
                high = c.value if c.op == "eq" else c.high
                box[j] = self._numeric_interval(j, low, high)
        return box

    def _numeric_interval(self, j: int, low: float | None, high: float | None
                          ) -> tuple[float, float]:
        q, grid = self.arrays[f"q{j}"], self.arrays["grid"]
        lo = -np.inf if low is None else float(ndtri(np.interp(low, q, grid, left=0, right=1)))
        if high is None:
            return lo, np.inf
        # a value with a point mass (many equal values) owns an interval of probability
        right = np.searchsorted(q, high, side="right")
        u_hi = grid[min(right, len(grid) - 1)] if right and q[right - 1] == high else np.interp(
            high, q, grid)
        return lo, max(float(ndtri(np.array(u_hi))), lo)

    def _block(self, gen: torch.Generator, plan: dict[int, tuple[float, float]],
               rows: int = BLOCK_ROWS):
        corr = self.arrays["corr"]
        d = len(corr)
        z = torch.randn(rows, d, generator=gen, dtype=torch.float64).numpy()
        u_gibbs = torch.rand(self.config.gibbs_sweeps, rows, max(len(plan), 1),
                             generator=gen, dtype=torch.float64).numpy()
        if plan:
            z = _conditional_normal(z, corr, plan, u_gibbs)
        else:
            z = z @ np.linalg.cholesky(corr + 1e-12 * np.eye(d)).T
        null_u = torch.rand(rows, len(self.transformer.numeric_columns), generator=gen,
                            dtype=torch.float64).numpy()
        return self._decode_scores(z, null_u)

    def _decode_scores(self, z: np.ndarray, null_u: np.ndarray):
        tr, a = self.transformer, self.arrays
        u = special.ndtr(z)
        n_num = len(tr.numeric_columns)
        numeric = np.stack([np.interp(u[:, j], a["grid"], a[f"q{j}"]) for j in range(n_num)],
                           axis=1) if n_num else np.zeros((len(z), 0))
        null = null_u < a["null_rate"][None, :]
        cats = np.stack([np.minimum(np.searchsorted(a[f"e{j}"], u[:, n_num + j], side="right") - 1,
                                    len(a[f"e{j}"]) - 2)
                         for j in range(len(tr.categorical_columns))], axis=1) \
            if tr.categorical_columns else np.zeros((len(z), 0), dtype=np.int64)
        return numeric, null, cats

    # ----------------------------------------------------------------- weights
    def _weight_files(self) -> dict[str, bytes]:
        return {"copula.npz": npz_bytes(self.arrays)}

    def _load_weights(self, files: dict[str, bytes], path: str) -> None:
        arrays = load_npz(files["copula.npz"], f"{path}/copula.npz")
        tr = self.transformer
        n_num, cats = len(tr.numeric_columns), tr.categorical_columns
        expected = {"corr": (n_num + len(cats),) * 2, "null_rate": (n_num,)}
        expected.update({f"e{j}": (tr.codecs[c].n_levels + 1,) for j, c in enumerate(cats)})
        expected.update({f"q{j}": arrays.get("grid", np.zeros(0)).shape for j in range(n_num)})
        for key, shape in expected.items():
            if key not in arrays or arrays[key].shape != shape:
                raise ValueError(f"copula.npz: {key} does not match the transformer's columns")
        self.arrays = arrays


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues and renormalize the diagonal: a valid correlation matrix."""
    corr = (corr + corr.T) / 2
    w, v = np.linalg.eigh(corr)
    fixed = (v * np.maximum(w, 1e-6)) @ v.T
    s = np.sqrt(np.diag(fixed))
    return fixed / s[:, None] / s[None, :]


def _conditional_normal(z: np.ndarray, corr: np.ndarray, box: dict[int, tuple[float, float]],
                        u: np.ndarray) -> np.ndarray:
    """Rows of N(0, corr) given that score i lies in box[i]: Gibbs sweeps over the boxed
    scores (each full conditional a truncated normal, drawn by inverse CDF), then the free
    scores from the Gaussian conditional. `z` holds standard normals for the free part."""
    idx = np.array(sorted(box))
    free = np.array([i for i in range(len(corr)) if i not in box], dtype=np.int64)
    lo = np.array([box[i][0] for i in idx])
    hi = np.array([box[i][1] for i in idx])
    s_cc = corr[np.ix_(idx, idx)]
    prec = np.linalg.inv(s_cc)
    zc = np.tile(np.clip(0.0, lo, hi), (len(z), 1))
    for sweep in range(u.shape[0]):
        for k in range(len(idx)):
            cond_var = 1.0 / prec[k, k]
            others = np.delete(np.arange(len(idx)), k)
            mean = -cond_var * (zc[:, others] @ prec[k, others]) if len(others) else 0.0
            sd = np.sqrt(cond_var)
            a, b = special.ndtr((lo[k] - mean) / sd), special.ndtr((hi[k] - mean) / sd)
            p = a + u[sweep, :, k] * (b - a)
            zc[:, k] = np.where(b - a > 0, mean + sd * special.ndtri(np.clip(p, 1e-300, 1 - 1e-16)),
                                np.clip(mean, lo[k], hi[k]))
    out = np.empty_like(z)
    out[:, idx] = zc
    if len(free):
        s_fc = corr[np.ix_(free, idx)]
        gain = s_fc @ prec
        cov = corr[np.ix_(free, free)] - gain @ s_fc.T
        chol = np.linalg.cholesky(cov + 1e-9 * np.eye(len(free)))
        out[:, free] = zc @ gain.T + z[:, free] @ chol.T
    return out
