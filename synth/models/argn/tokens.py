"""Columns as discrete tokens, and back. A categorical column is one token (its level code, nulls
a level of their own). A numeric or datetime column is one or two tokens:
- its first token is an exact value (a column with few distinct values has every value as a
  token; otherwise values at least `point_share` of the rows hold, such as 0 or a round
  number, are tokens of their own), the null token, or a quantile bin of the other values;
- for a bin, a second token picks one of `sub_bins` quantile slices within it, and the value is
  drawn inside that slice from the bin's quantile function, kept at FINE times the slices'
  resolution (piecewise uniform between those quantiles, so a slice that reaches an outlier
  does not spread its rows evenly up to it), then rounded to the column's decimals by its
  codec.
So repeated values come back exactly, and a range condition restricts the tokens to those
that overlap the range and the final draw to the range itself.
Ids and free text have no tokens: the transformer generates them at decode time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import OTHER, CategoricalCodec, NumericCodec
from synth.data.transformer import DataTransformer
from synth.errors import ConditionError

FINE = 8  # quantiles kept per slice for drawing a value inside it


@dataclass
class NumericTokens:
    """Token layout of one numeric column: [points..., null?, bins...], then sub-bins."""

    points: np.ndarray  # exact values, sorted
    has_null: bool
    edges: np.ndarray  # bin edges of the other values (len bins + 1; empty: no bins)
    fine: np.ndarray  # bins x (sub_bins * FINE + 1): each bin's quantile function

    @property
    def sub_edges(self) -> np.ndarray:
        """bins x (sub_bins + 1): the slice edges (every FINE-th quantile)."""
        return self.fine[:, ::FINE]

    @property
    def bins(self) -> int:
        return max(len(self.edges) - 1, 0)

    @property
    def first_bin(self) -> int:
        return len(self.points) + int(self.has_null)

    @property
    def null_token(self) -> int:
        return len(self.points) if self.has_null else -1

    @property
    def vocab(self) -> list[int]:
        head = [self.first_bin + self.bins]
        return head + [self.sub_edges.shape[1] - 1] if self.bins else head

    def encode(self, x: np.ndarray) -> np.ndarray:
        """values (NaN: null) -> n x len(vocab) tokens."""
        out = np.zeros((len(x), len(self.vocab)), dtype=np.int64)
        null = np.isnan(x)
        point = np.searchsorted(self.points, x)
        is_point = ~null & (point < len(self.points))
        is_point[is_point] = self.points[point[is_point]] == x[is_point]
        out[is_point, 0] = point[is_point]
        out[null, 0] = max(self.null_token, 0)
        rest = ~null & ~is_point
        if self.bins and rest.any():
            b = np.clip(np.searchsorted(self.edges, x[rest], "right") - 1, 0, self.bins - 1)
            out[rest, 0] = self.first_bin + b
            out[rest, 1] = self._sub(b, x[rest])
        elif rest.any():  # a value between the exact ones (only in a conditions table)
            out[rest, 0] = np.abs(self.points[None, :] - x[rest, None]).argmin(axis=1)
        return out

    def _sub(self, b: np.ndarray, x: np.ndarray) -> np.ndarray:
        sub = np.zeros(len(x), dtype=np.int64)
        width = self.sub_edges.shape[1] - 1
        for k in np.unique(b):
            sel = b == k
            sub[sel] = np.clip(np.searchsorted(self.sub_edges[k], x[sel], "right") - 1, 0,
                               width - 1)
        return sub

    def decode(self, first: np.ndarray, sub: np.ndarray | None, u: np.ndarray,
               low: float = -np.inf, high: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """(values, null flags) of tokens; `u` uniforms place a value inside its slice, which is
        cut to [low, high] (a range condition)."""
        values = np.full(len(first), np.nan)
        null = first == self.null_token
        is_point = first < len(self.points)
        values[is_point] = self.points[first[is_point]]
        is_bin = first >= self.first_bin
        if is_bin.any():
            values[is_bin] = self._within(first[is_bin] - self.first_bin, sub[is_bin],
                                          u[is_bin], low, high)
        return values, null

    def _within(self, b: np.ndarray, s: np.ndarray, u: np.ndarray, low: float, high: float
                ) -> np.ndarray:
        """Values inside slice s of bin b: a position in the bin's slice (narrowed to the
        positions of [low, high]) through the bin's quantile function."""
        slices = self.fine.shape[1] // FINE
        start, stop = s / slices, (s + 1) / slices
        if low > -np.inf or high < np.inf:  # narrow to the positions of [low, high]
            grid = np.linspace(0.0, 1.0, self.fine.shape[1])
            for k in np.unique(b):
                sel, q = b == k, self.fine[k]
                if low > -np.inf:
                    start[sel] = np.maximum(start[sel], np.interp(low, q, grid))
                if high < np.inf:
                    stop[sel] = np.minimum(stop[sel], np.interp(high, q, grid))
        at = (start + u * np.maximum(stop - start, 0.0)) * (self.fine.shape[1] - 1)
        i = np.minimum(at.astype(np.int64), self.fine.shape[1] - 2)
        lo, hi = self.fine[b, i], self.fine[b, i + 1]
        out = lo + (at - i) * (hi - lo)  # the quantile function, linear between its points
        return np.clip(out, np.maximum(low, self.fine[b, 0]), np.minimum(high, self.fine[b, -1]))

    def allowed(self, low: float, high: float) -> tuple[np.ndarray, np.ndarray | None]:
        """Token masks of a range: first tokens (points inside, bins that overlap; never null)
        and, per bin, the sub-bins that overlap."""
        first = np.zeros(self.vocab[0], dtype=bool)
        first[:len(self.points)] = (self.points >= low) & (self.points <= high)
        if not self.bins:
            return first, None
        first[self.first_bin:] = (self.edges[:-1] <= high) & (self.edges[1:] >= low)
        sub = (self.sub_edges[:, :-1] <= high) & (self.sub_edges[:, 1:] >= low)
        return first, sub

    def positions(self) -> list[np.ndarray]:
        """Each token's place in the column's order, in [-1, 1] (the null token 0): the first
        token's by the rank of its value (a point's value, a bin's middle), a slice's within
        its bin; what gives a numeric token's embedding its ordinal part."""
        values = np.concatenate([self.points, [np.nan] if self.has_null else [],
                                 (self.edges[:-1] + self.edges[1:]) / 2 if self.bins else []])
        ok = ~np.isnan(values)
        rank = np.zeros(len(values))
        rank[ok] = np.argsort(np.argsort(values[ok], kind="stable"), kind="stable")
        first = np.where(ok, _spread(rank, int(ok.sum())), 0.0)
        if not self.bins:
            return [first]
        width = self.sub_edges.shape[1] - 1
        return [first, _spread(np.arange(width, dtype=np.float64), width)]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "numeric", "has_null": self.has_null}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"points": self.points, "edges": self.edges, "fine": self.fine}


def _spread(rank: np.ndarray, count: int) -> np.ndarray:
    return 2.0 * rank / (count - 1) - 1.0 if count > 1 else np.zeros_like(rank)


def fit_numeric(x: np.ndarray, bins: int, sub_bins: int, exact_values: int,
                point_share: float, rare_min_count: int = 0) -> NumericTokens:
    """Exact values: all of a column with few distinct ones, else those held by point_share of
    the rows; with rare protection only values seen at least rare_min_count times (the others
    fall into bins and come back as draws within them)."""
    null = np.isnan(x)
    ok = x[~null]
    values, counts = np.unique(ok, return_counts=True)
    if len(values) <= exact_values:
        points = values[counts >= rare_min_count]
    else:
        points = values[counts >= max(point_share * len(x), 2, rare_min_count)]
    rest = ok[~np.isin(ok, points)]
    edges, fine = np.zeros(0), np.zeros((0, sub_bins * FINE + 1))
    if len(rest):
        edges = np.unique(np.quantile(rest, np.linspace(0, 1, bins + 1)))
        if len(edges) == 1:
            edges = np.array([edges[0], edges[0]])
        k = len(edges) - 1
        which = np.clip(np.searchsorted(edges, rest, "right") - 1, 0, k - 1)
        grid = np.linspace(0, 1, sub_bins * FINE + 1)
        fine = np.stack([np.quantile(rest[which == i], grid) if (which == i).any()
                         else np.linspace(edges[i], edges[i + 1], len(grid))
                         for i in range(k)])
        fine[:, 0], fine[:, -1] = edges[:-1], edges[1:]
    return NumericTokens(points, bool(null.any()), edges, fine)


@dataclass
class Tokenizer:
    """Every modelled column of a fitted transformer as token columns."""

    columns: list[str]  # modelled columns, in the transformer's order
    numeric: dict[str, NumericTokens] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)  # categorical column -> levels
    # rare protection: categorical column -> the level codes that keep a token of their own;
    # every other level shares one last token, decoded as the RARE placeholder (code -1)
    kept: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def fit(cls, data: pd.DataFrame, tr: DataTransformer, cfg: Any) -> Tokenizer:
        out = cls([c for c, k in tr.codecs.items()
                   if isinstance(k, NumericCodec | CategoricalCodec)])
        for name in out.columns:
            codec = tr.codecs[name]
            if isinstance(codec, NumericCodec):
                out.numeric[name] = fit_numeric(codec.to_float(data[name]), cfg.bins,
                                                cfg.sub_bins, cfg.exact_values, cfg.point_share,
                                                cfg.rare_min_count)
                continue
            out.levels[name] = codec.n_levels
            if cfg.rare_min_count:
                counts = np.bincount(codec.encode(data[name]), minlength=codec.n_levels)
                common = [i for i, v in enumerate(codec.levels) if v is None or (
                    v != OTHER and counts[i] >= cfg.rare_min_count)]
                if len(common) < codec.n_levels:
                    out.kept[name] = np.asarray(common, dtype=np.int64)
        return out

    def vocab(self, column: str) -> list[int]:
        if column in self.numeric:
            return self.numeric[column].vocab
        if column in self.kept:
            return [len(self.kept[column]) + 1]
        return [self.levels[column]]

    def level_token(self, column: str, code: int) -> int | None:
        """The token of a categorical level (None: pooled as rare)."""
        if column not in self.kept:
            return code
        hit = np.flatnonzero(self.kept[column] == code)
        return int(hit[0]) if len(hit) else None

    def level_codes(self, column: str, tokens: np.ndarray) -> np.ndarray:
        """Level codes of a categorical column's tokens (-1: the rare placeholder)."""
        if column not in self.kept:
            return tokens
        kept = self.kept[column]
        return np.where(tokens < len(kept), kept[np.minimum(tokens, len(kept) - 1)], -1)

    @property
    def first_token(self) -> dict[str, int]:
        """The index of each column's first token column."""
        out, k = {}, 0
        for c in self.columns:
            out[c] = k
            k += len(self.vocab(c))
        return out

    @property
    def token_columns(self) -> list[tuple[str, int]]:
        """(column, vocabulary size) of every token, columns in order."""
        return [(c, v) for c in self.columns for v in self.vocab(c)]

    def positions(self) -> np.ndarray:
        """token columns x largest vocabulary: every numeric token's ordinal position
        (NumericTokens.positions), 0 for categories."""
        cols = self.token_columns
        out = np.zeros((len(cols), max(v for _, v in cols)))
        for c, i in self.first_token.items():
            if c in self.numeric:
                for k, pos in enumerate(self.numeric[c].positions()):
                    out[i + k, :len(pos)] = pos
        return out

    def encode(self, data: pd.DataFrame, tr: DataTransformer) -> np.ndarray:
        parts = []
        for name in self.columns:
            codec = tr.codecs[name]
            if name in self.numeric:
                parts.append(self.numeric[name].encode(codec.to_float(data[name])))
            else:
                parts.append(self._level_tokens(name, codec.encode(data[name]))[:, None])
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(data), 0), np.int64)

    def _level_tokens(self, column: str, codes: np.ndarray) -> np.ndarray:
        if column not in self.kept:
            return codes
        kept = self.kept[column]
        lookup = np.full(self.levels[column], len(kept), dtype=np.int64)  # pooled by default
        lookup[kept] = np.arange(len(kept))
        return lookup[codes]

    def check_against(self, tr: DataTransformer) -> None:
        """ValueError unless these tokens describe the transformer's columns (a model
        directory assembled from two models)."""
        numeric, levels = set(tr.numeric_columns), {
            c: tr.codecs[c].n_levels for c in tr.categorical_columns}  # type: ignore[union-attr]
        if set(self.numeric) != numeric or self.levels != levels:
            raise ValueError("the tokens do not describe the transformer's columns")

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        doc = {"columns": self.columns, "levels": self.levels, "kept": sorted(self.kept),
               "numeric": {c: t.to_json() for c, t in self.numeric.items()}}
        arrays = {f"{c}::{k}": v for c, t in self.numeric.items() for k, v in t.arrays().items()}
        arrays.update({f"{c}::kept": v for c, v in self.kept.items()})
        return doc, arrays

    @classmethod
    def from_state(cls, doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Tokenizer:
        numeric = {c: NumericTokens(arrays[f"{c}::points"], bool(spec["has_null"]),
                                    arrays[f"{c}::edges"], arrays[f"{c}::fine"])
                   for c, spec in doc["numeric"].items()}
        kept = {c: arrays[f"{c}::kept"].astype(np.int64) for c in doc.get("kept", [])}
        return cls(list(doc["columns"]), numeric, {k: int(v) for k, v in doc["levels"].items()},
                   kept)


def value_tokens(tokens: NumericTokens, column: str, value: float) -> list[int]:
    """The tokens of an equality condition's value (which must be one the column can take)."""
    row = tokens.encode(np.array([value]))[0]
    first = int(row[0])
    if first < len(tokens.points) and tokens.points[first] != value:
        raise ConditionError(f"value {value:g} of column {column!r} never occurs in the "
                             "training data, and the column takes only the values it saw")
    return [int(t) for t in row]
