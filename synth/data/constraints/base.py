"""What every constraint is: a rule on the user's rows, and a reversible rewrite of the table
the model learns (the *model table*) that makes the rule hold by construction.

A constraint reads user columns, may replace some of them in the model table by columns of its
own (named `<column>#<type>`), and turns generated model rows back into user rows that obey it.
Only a rule with no such rewrite (a custom `is_valid` filter) drops generated rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synth.data.codecs import NumericCodec
from synth.data.metadata import ColumnMeta, Metadata
from synth.errors import MetadataError
from synth.registry import Registry

CONSTRAINTS: Registry = Registry("constraint")
VIOLATIONS = ("error", "drop", "fix")


class Constraint(ABC):
    """One declared rule. Subclasses set `type`, parse their spec in `__init__` (errors name
    the constraint and the field), and implement valid / forward / reverse."""

    type: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()  # spec keys besides type, violations
    can_fix: ClassVar[bool] = False
    filters: ClassVar[bool] = False  # True: generated rows are checked and dropped

    def __init__(self, spec: dict[str, Any], md: Metadata, index: int) -> None:
        self.spec, self.md, self.index = dict(spec), md, index
        self.label = (f"constraint #{index + 1}" if index >= 0
                      else f"list column {spec.get('column')!r}")  # added for a list column
        unknown = sorted(set(spec) - {"type", "violations", *self.keys})
        if unknown:
            self.fail(f"unknown key {unknown[0]!r}; valid keys: {', '.join(self.keys)}")
        self.violations = spec.get("violations", "error")
        if self.violations not in VIOLATIONS:
            self.fail(f"violations must be one of {', '.join(VIOLATIONS)}, got "
                      f"{self.violations!r}")
        if self.violations == "fix" and not self.can_fix:
            self.fail("cannot fix a breaking row (there is no one right repair); use "
                      "violations 'drop' or 'error'")
        self.codecs: dict[str, NumericCodec] = {}  # fitted on the user's numeric columns

    # ----------------------------------------------------------------- spec helpers
    def fail(self, message: str) -> None:
        raise MetadataError(f"{self.label} ({self.type}): {message}")

    def column(self, key: str, kinds: tuple[str, ...] = ("numerical", "datetime")) -> str:
        name = self.spec.get(key)
        if not isinstance(name, str):
            self.fail(f"{key!r} must name a column")
        if name not in self.md.columns:
            self.fail(f"{key} {name!r} is not a column; columns: {', '.join(self.md.columns)}")
        if self.md.kind(name) not in kinds:
            self.fail(f"column {name!r} is {self.md.kind(name)}; {self.type} needs "
                      f"{' or '.join(kinds)}")
        return name

    def column_list(self, key: str, kinds: tuple[str, ...], least: int) -> list[str]:
        names = self.spec.get(key)
        if not isinstance(names, list) or len(names) < least or len(set(names)) != len(names):
            self.fail(f"{key!r} must list at least {least} different columns")
        for name in names:
            if name not in self.md.columns:
                self.fail(f"{name!r} is not a column; columns: {', '.join(self.md.columns)}")
            if self.md.kind(name) not in kinds:
                self.fail(f"column {name!r} is {self.md.kind(name)}; {self.type} needs "
                          f"{' or '.join(kinds)} columns")
        return list(names)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.spec.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{key!r} must be true or false, got {value!r}")
        return value

    # ----------------------------------------------------------------- the rule
    @property
    @abstractmethod
    def reads(self) -> list[str]:
        """User columns the rule involves."""

    @property
    def replaces(self) -> list[str]:
        """User columns that the model table holds in another form (none: the rule is met
        without rewriting, or by dropping rows)."""
        return []

    def model_columns(self) -> dict[str, ColumnMeta]:
        """The columns this constraint adds to the model table, with their kinds."""
        return {}

    def describe(self) -> str:
        return f"{self.type}({', '.join(self.reads)})"

    def fit(self, df: pd.DataFrame) -> None:
        """Learn what forward/reverse need from the valid training rows."""
        for name in self.reads:
            if self.md.kind(name) in ("numerical", "datetime"):
                codec = NumericCodec(name, self.md.columns[name])
                codec.fit(df[name])
                self.codecs[name] = codec

    @abstractmethod
    def valid(self, df: pd.DataFrame) -> np.ndarray:
        """Bool per row: does it obey the rule (rows with a null in a column the rule compares
        obey it, as in SDV, unless the rule says otherwise)."""

    def fix(self, df: pd.DataFrame, bad: np.ndarray) -> pd.DataFrame:
        """The rows with `bad` repaired (only where can_fix)."""
        raise NotImplementedError

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        return df

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        return df

    # ----------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        return {"codecs": {k: c.to_json() for k, c in self.codecs.items()}}

    def load(self, state: dict[str, Any]) -> None:
        for name, codec_state in state.get("codecs", {}).items():
            codec = NumericCodec(name, self.md.columns[name])
            codec.load_json(codec_state, {})
            self.codecs[name] = codec

    # ----------------------------------------------------------------- numbers
    def floats(self, df: pd.DataFrame, name: str) -> np.ndarray:
        codec = self.codecs.get(name) or NumericCodec(name, self.md.columns[name])  # unfitted:
        return codec.to_float(df[name])  # reading needs only the kind and format

    def unit(self, name: str) -> float:
        """The grid a column's values live on (0: no regular grid)."""
        st = self.codecs[name].state
        if self.md.kind(name) == "datetime":
            return 86400.0 if st.get("date_only") else 1.0
        return 0.0 if st.get("decimals") is None else 10.0 ** -st["decimals"]

    def restore(self, name: str, values: np.ndarray) -> pd.Series:
        """Floats as the user's column (its dtype, grid and format), never clipped."""
        null = np.isnan(values)
        filled = np.where(null, 0.0, values)
        return self.codecs[name].restore(filled, null if null.any() else None, clip=False)


def to_const(c: Constraint, key: str, column: str) -> float | None:
    """A constant bound of `column` (a number, or a datetime string for datetime columns)."""
    value = c.spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        c.fail(f"{key} must be a number, got {value!r}")
    codec = NumericCodec(column, c.md.columns[column])
    try:
        out = float(codec.to_float(pd.Series([value], name=column))[0])
    except Exception:  # noqa: BLE001 - any parse failure is the spec's value
        out = float("nan")
    if not np.isfinite(out):
        c.fail(f"{key} {value!r} is not a {c.md.kind(column)} value of column {column!r}")
    return out


def on_grid(x: np.ndarray, unit: float, up: bool) -> np.ndarray:
    """x moved onto the grid of `unit`: up (ceil) or down (floor); unit 0 leaves it."""
    if unit <= 0:
        return x
    k = np.ceil(x / unit - 1e-9) if up else np.floor(x / unit + 1e-9)
    return k * unit


def above(x: np.ndarray, unit: float, strict: bool) -> np.ndarray:
    """The least grid value >= x (> x when strict)."""
    if unit <= 0:
        return np.nextafter(x, np.inf) if strict else x
    k = np.floor(x / unit + 1e-9) + 1 if strict else np.ceil(x / unit - 1e-9)
    return k * unit


def below(x: np.ndarray, unit: float, strict: bool) -> np.ndarray:
    """The greatest grid value <= x (< x when strict)."""
    return -above(-x, unit, strict)
