"""argn's tokens under differential privacy, from declared metadata and noisy histograms.

A numeric column whose declared range holds few integers (decimals 0, at most `exact_values`
of them) has every integer as a token: nothing is read from the rows. Any other numeric column
releases one noisy histogram (synth/dp/histogram.py; the noise std is `stats_noise` x sqrt(k)
for k such columns, the accountant's noise multiplier for this release); a candidate point
whose count reaches `point_share` of the rows becomes a token of its own, and the quantile
bins and their fine quantile functions are read off the histogram's CDF (linear within a
cell): post-processing of the one release."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import CategoricalCodec, NumericCodec
from synth.data.transformer import DataTransformer
from synth.dp.histogram import NoisyHistogram
from synth.models.argn.tokens import FINE, NumericTokens, Tokenizer
from synth.models.private import column_histograms


def needs_histogram(state: dict[str, Any], exact_values: int) -> bool:
    lo, hi = state["min"], state["max"]
    return not (state["decimals"] == 0 and hi - lo + 1 <= exact_values)


def private_tokenizer(data: pd.DataFrame, tr: DataTransformer, cfg: Any, stats_noise: float,
                      seed: int) -> Tokenizer:
    """The tokenizer of a declared transformer, read off the one noisy release of the numeric
    columns that need a histogram (`released(tr, cfg)`; synth.models.private makes it)."""
    hists = column_histograms(data, tr, released(tr, cfg), stats_noise, seed)
    out = Tokenizer([c for c, k in tr.codecs.items()
                     if isinstance(k, NumericCodec | CategoricalCodec)])
    for name in out.columns:
        codec = tr.codecs[name]
        if isinstance(codec, NumericCodec):
            out.numeric[name] = private_numeric(hists.get(name), codec.state, cfg, len(data),
                                                stats_noise * np.sqrt(max(len(hists), 1)))
        else:
            out.levels[name] = codec.n_levels  # type: ignore[attr-defined]
    return out


def released(tr: DataTransformer, cfg: Any) -> list[str]:
    """The numeric columns whose histograms the tokens are read from."""
    return [c for c, k in tr.codecs.items()
            if isinstance(k, NumericCodec) and needs_histogram(k.state, cfg.exact_values)]


def private_numeric(hist: NoisyHistogram | None, state: dict[str, Any], cfg: Any, rows: int,
                    std: float) -> NumericTokens:
    """One column's tokens: every integer of a short declared range, else points and bins read
    off its noisy histogram (`std` its noise: the point threshold stays above 3 std)."""
    lo, hi = float(state["min"]), float(state["max"])
    nullable = bool(state.get("nullable"))
    width = cfg.sub_bins * FINE + 1
    if hist is None:
        return NumericTokens(np.arange(lo, hi + 1), nullable, np.zeros(0),
                             np.zeros((0, width)))
    keep = hist.point_counts >= max(cfg.point_share * rows, 3 * std)
    edges, fine = _bins(hist.cells, hist.merged(keep), cfg.bins, width)
    return NumericTokens(hist.candidates[keep], nullable, edges, fine)


def _bins(cells: np.ndarray, hist: np.ndarray, bins: int, width: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bin edges and each bin's quantile function from a histogram's CDF."""
    lo, hi = cells[0], cells[-1]
    if hist.sum() <= 0:  # nothing survived the noise: spread evenly over the range
        hist = np.ones(len(hist))
    cdf = np.concatenate([[0.0], np.cumsum(hist)]) / hist.sum()
    quantile = lambda u: np.interp(u, cdf, cells)  # noqa: E731
    edges = np.unique(quantile(np.linspace(0, 1, bins + 1)))
    if len(edges) == 1:
        edges = np.array([lo, hi])
    levels = np.interp(edges, cells, cdf)  # each edge's CDF level
    fine = np.stack([quantile(np.linspace(levels[i], levels[i + 1], width))
                     for i in range(len(edges) - 1)])
    fine[:, 0], fine[:, -1] = edges[:-1], edges[1:]
    return edges, fine
