"""Bounds on a numeric or datetime column: `positive`, `negative`, `inequality` (a < b or
a <= b) and `range` (between constants, other columns, or one of each).

The model table holds the bounded column as a distance from its bound (one bound: log1p of the
distance in a typical step, so exact repeats such as end == start come back exactly) or as its
position between two bounds (0 at the low one, 1 at the high one: a model's numeric columns
stay within their training range, so no logit is needed, and a logit's tails at values on a
bound would squash every other value for models that scale by the range); a column upper bound
of a column lower bound becomes a distance too. Reversing puts the value back on its column's
grid and inside its bounds, so every generated row obeys the rule. A null value obeys it; a
value whose column bound is null breaks it (there is nothing to measure it from)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.constraints.base import (
    CONSTRAINTS,
    Constraint,
    above,
    below,
    to_const,
)
from synth.data.metadata import ColumnMeta

NUMERIC = ("numerical", "datetime")


class Bounds(Constraint):
    """x >= low and/or x <= high (> / < when strict); each bound a constant or a column."""

    can_fix = True

    def setup(self, x: str, low: float | str | None, high: float | str | None,
              strict: bool) -> None:
        self.x, self.low, self.high, self.strict = x, low, high, strict
        for bound in (low, high):
            if isinstance(bound, str) and self.md.kind(bound) != self.md.kind(x):
                self.fail(f"{x!r} is {self.md.kind(x)} but its bound {bound!r} is "
                          f"{self.md.kind(bound)}: compare columns of one kind")
            if bound == x:
                self.fail(f"{x!r} cannot bound itself")
        if isinstance(low, float) and isinstance(high, float) and not low < high:
            self.fail(f"low ({self.spec.get('low')!r}) must be below high "
                      f"({self.spec.get('high')!r})")
        # between two bounds of which one is generated, the interval on x's grid can be empty
        self.filters = None not in (low, high) and (isinstance(low, str) or isinstance(high, str))
        self.scale: dict[str, float] = {}

    @property
    def reads(self) -> list[str]:
        return [self.x] + [b for b in (self.low, self.high) if isinstance(b, str)]

    @property
    def replaces(self) -> list[str]:
        return [self.x] + ([self.high] if self._both_columns else [])

    @property
    def _both_columns(self) -> bool:
        return isinstance(self.low, str) and isinstance(self.high, str)

    def model_columns(self) -> dict[str, ColumnMeta]:
        return {f"{c}#{self.type}": ColumnMeta("numerical") for c in self.replaces}

    def describe(self) -> str:
        op = "<" if self.strict else "<="
        parts = [self._shown("low", self.low), self.x, self._shown("high", self.high)]
        return f"{self.type}({f' {op} '.join(p for p in parts if p is not None)})"

    def _shown(self, key: str, bound: float | str | None) -> str | None:
        if bound is None or isinstance(bound, str):
            return bound
        return str(self.spec.get(key, f"{bound:g}"))  # as declared (a date stays a date)

    # ----------------------------------------------------------------- the rule
    def _bound(self, df: pd.DataFrame, bound: float | str | None) -> np.ndarray | None:
        if bound is None:
            return None
        if isinstance(bound, str):
            return self.floats(df, bound)
        return np.full(len(df), bound)

    def _limits(self, df: pd.DataFrame, x_unit: float
                ) -> tuple[np.ndarray, np.ndarray]:
        """The least and greatest valid value of x per row, on x's grid (nan: null bound)."""
        lo, hi = self._bound(df, self.low), self._bound(df, self.high)
        n = len(df)
        least = above(lo, x_unit, self.strict) if lo is not None else np.full(n, -np.inf)
        most = below(hi, x_unit, self.strict) if hi is not None else np.full(n, np.inf)
        return least, most

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        x = self.floats(df, self.x)
        ok = np.isnan(x)
        with np.errstate(invalid="ignore"):
            lo, hi = self._bound(df, self.low), self._bound(df, self.high)
            inside = np.ones(len(df), dtype=bool)
            if lo is not None:
                inside &= (x > lo) if self.strict else (x >= lo)
            if hi is not None:
                inside &= (x < hi) if self.strict else (x <= hi)
        return ok | inside

    def fix(self, df: pd.DataFrame, bad: np.ndarray) -> pd.DataFrame:
        """x moved to the nearest valid value; rows with no valid value stay broken."""
        x = self.floats(df, self.x)
        least, most = self._limits(df, self.unit(self.x))
        fixed = np.where(bad, np.clip(x, least, np.maximum(least, most)), x)
        out = df.copy()
        out[self.x] = self.restore(self.x, fixed).to_numpy()
        return out

    # ----------------------------------------------------------------- the rewrite
    def fit(self, df: pd.DataFrame) -> None:
        super().fit(df)
        if self.low is None or self.high is None:  # one bound: the typical distance
            bound = self.low if self.low is not None else self.high
            dist = np.abs(self.floats(df, self.x) - self._bound(df, bound))
            self.scale[self.x] = _typical(dist, self.unit(self.x))
        if self._both_columns:
            dist = self.floats(df, self.high) - self.floats(df, self.low)
            self.scale[self.high] = _typical(dist, self.unit(self.high))

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        x = self.floats(df, self.x)
        out = df.drop(columns=self.replaces)
        if self.low is None or self.high is None:
            bound = self.low if self.low is not None else self.high
            dist = np.abs(x - self._bound(df, bound))
            out[f"{self.x}#{self.type}"] = np.log1p(dist / self.scale[self.x])
            return out
        lo, hi = self._bound(df, self.low), self._bound(df, self.high)
        if self._both_columns:
            out[f"{self.high}#{self.type}"] = np.log1p(np.maximum(hi - lo, 0) /
                                                       self.scale[self.high])
        out[f"{self.x}#{self.type}"] = _position(x, lo, hi)
        return out

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.drop(columns=list(self.model_columns()))
        if self._both_columns:  # the upper bound first: x lies between the two
            dist = np.expm1(np.maximum(df[f"{self.high}#{self.type}"].to_numpy(float), 0))
            lo = self.floats(df, self.low)
            hi = _round(lo + dist * self.scale[self.high], self.unit(self.high))
            hi = np.maximum(hi, above(lo, self.unit(self.high), False))
            out[self.high] = self.restore(self.high, hi).to_numpy()
        y = df[f"{self.x}#{self.type}"].to_numpy(float)
        unit = self.unit(self.x)
        least, most = self._limits(out, unit)
        if self.low is None or self.high is None:
            sign = 1.0 if self.low is not None else -1.0
            base = least if self.low is not None else most
            bound = self._bound(out, self.low if self.low is not None else self.high)
            x = _round(bound + sign * np.expm1(np.maximum(y, 0)) * self.scale[self.x], unit)
            x = np.maximum(x, base) if sign > 0 else np.minimum(x, base)
        else:
            lo, hi = self._bound(out, self.low), self._bound(out, self.high)
            x = _round(lo + np.clip(y, 0, 1) * (hi - lo), unit)
            x = np.minimum(np.maximum(x, least), most)
        out[self.x] = self.restore(self.x, x).to_numpy()
        return out

    def state(self) -> dict[str, Any]:
        return {**super().state(), "scale": dict(self.scale)}

    def load(self, state: dict[str, Any]) -> None:
        super().load(state)
        self.scale = {k: float(v) for k, v in state.get("scale", {}).items()}


def _typical(dist: np.ndarray, unit: float) -> float:
    """A typical positive distance (the median), at least one grid step."""
    d = dist[np.isfinite(dist) & (dist > 0)]
    typical = float(np.median(d)) if len(d) else 1.0
    return max(typical, unit, 1e-12)


def _round(x: np.ndarray, unit: float) -> np.ndarray:
    return np.round(x / unit) * unit if unit > 0 else x


def _position(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Where x lies between lo (0) and hi (1); 0.5 when they are equal."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(hi > lo, (x - lo) / (hi - lo), 0.5), 0, 1)


@CONSTRAINTS.register("positive")
class Positive(Bounds):
    """{"type": "positive", "column": "x", "strict": false}: x >= 0 (x > 0 when strict)."""

    type = "positive"
    keys = ("column", "strict")

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        self.setup(self.column("column", ("numerical",)), 0.0, None, self.flag("strict"))


@CONSTRAINTS.register("negative")
class Negative(Bounds):
    """{"type": "negative", "column": "x", "strict": false}: x <= 0 (x < 0 when strict)."""

    type = "negative"
    keys = ("column", "strict")

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        self.setup(self.column("column", ("numerical",)), None, 0.0, self.flag("strict"))


@CONSTRAINTS.register("inequality")
class Inequality(Bounds):
    """{"type": "inequality", "low": "start", "high": "end", "strict": false}: start <= end
    (start < end when strict)."""

    type = "inequality"
    keys = ("low", "high", "strict")

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        low, high = self.column("low", NUMERIC), self.column("high", NUMERIC)
        self.setup(high, low, None, self.flag("strict"))

    def describe(self) -> str:
        return f"inequality({self.low} {'<' if self.strict else '<='} {self.x})"

    @property
    def reads(self) -> list[str]:
        return [str(self.low), self.x]


@CONSTRAINTS.register("range")
class Range(Bounds):
    """{"type": "range", "column": "x", "low": 0, "high": 10, "strict": false}; a bound may be
    another column instead: "low_column" / "high_column". At least one bound."""

    type = "range"
    keys = ("column", "low", "high", "low_column", "high_column", "strict")

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        x = self.column("column", NUMERIC)
        bounds: list[float | str | None] = []
        for side in ("low", "high"):
            if side in spec and f"{side}_column" in spec:
                self.fail(f"give {side!r} (a constant) or {side + '_column'!r}, not both")
            if f"{side}_column" in spec:
                bounds.append(self.column(f"{side}_column", NUMERIC))
            else:
                bounds.append(to_const(self, side, x))
        if bounds == [None, None]:
            self.fail("give a bound: low / high (constants) or low_column / high_column")
        self.setup(x, bounds[0], bounds[1], self.flag("strict"))
