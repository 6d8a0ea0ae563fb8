"""Rules on values rather than order: `fixed_combinations` (only the combinations of these
columns that occur in training), `one_hot` (exactly one of these 0/1 columns is 1) and
`fixed_increments` (a column moves in steps of k).

Each becomes one model column the model cannot misuse: the combination's index, the name of
the hot column, the count of steps; reversing expands it into the user's columns."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import _json_value
from synth.data.constraints.base import CONSTRAINTS, Constraint
from synth.data.metadata import ColumnMeta

DISCRETE = ("categorical", "boolean", "numerical")


def _missing(v: Any) -> bool:
    return v is None or (not isinstance(v, list | tuple | dict) and bool(pd.isna(v)))


def _cast(values: list[Any], dtype: str, name: str) -> pd.Series:
    series = pd.Series(np.array(values, dtype=object), name=name)
    if series.notna().all() and dtype.startswith(("int", "uint", "float", "bool")):
        try:
            return series.astype(dtype)
        except (TypeError, ValueError):
            return series
    return series


class _Group(Constraint):
    """A rule on a group of columns that the model learns as one categorical column."""

    keys = ("columns",)

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        self.columns = self.column_list("columns", DISCRETE, 2)
        self.dtypes: dict[str, str] = {}
        self.name = "+".join(self.columns) + f"#{self.type}"

    @property
    def reads(self) -> list[str]:
        return list(self.columns)

    @property
    def replaces(self) -> list[str]:
        return list(self.columns)

    def model_columns(self) -> dict[str, ColumnMeta]:
        return {self.name: ColumnMeta("categorical")}


@CONSTRAINTS.register("fixed_combinations")
class FixedCombinations(_Group):
    """{"type": "fixed_combinations", "columns": ["education", "education_num"]}."""

    type = "fixed_combinations"

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        self.combos: list[list[Any]] = []

    def _keys(self, df: pd.DataFrame) -> list[str]:
        rows = df[self.columns].astype(object).itertuples(index=False, name=None)
        return [json.dumps([None if _missing(v) else _json_value(v) for v in row], default=str)
                for row in rows]

    def fit(self, df: pd.DataFrame) -> None:
        self.dtypes = {c: str(df[c].dtype) for c in self.columns}
        keys = pd.Series(self._keys(df))
        self.combos = [json.loads(k) for k in keys.value_counts(sort=True).index]

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        if not self.combos:  # before fit, every row is a combination that occurs
            return np.ones(len(df), dtype=bool)
        known = {json.dumps(c, default=str) for c in self.combos}
        return np.array([k in known for k in self._keys(df)], dtype=bool)

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        index = {json.dumps(c, default=str): i for i, c in enumerate(self.combos)}
        codes = [index.get(k, -1) for k in self._keys(df)]  # unseen: the encoder's fallback
        out = df.drop(columns=self.columns)
        out[self.name] = np.asarray(codes, dtype=np.int64)
        return out

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        codes = pd.to_numeric(df[self.name], errors="coerce").fillna(0).astype(int).to_numpy()
        codes = np.clip(codes, 0, len(self.combos) - 1)
        out = df.drop(columns=[self.name])
        for j, col in enumerate(self.columns):
            out[col] = _cast([self.combos[c][j] for c in codes], self.dtypes[col], col).to_numpy()
        return out

    def state(self) -> dict[str, Any]:
        return {"combos": self.combos, "dtypes": self.dtypes}

    def load(self, state: dict[str, Any]) -> None:
        self.combos, self.dtypes = state["combos"], state["dtypes"]


@CONSTRAINTS.register("one_hot")
class OneHot(_Group):
    """{"type": "one_hot", "columns": ["is_a", "is_b", "is_c"]}: 0/1 (or boolean) columns of
    which exactly one is 1 in every row."""

    type = "one_hot"

    def _matrix(self, df: pd.DataFrame) -> np.ndarray:
        cols = [pd.to_numeric(df[c].astype(object).map(
            lambda v: float(v) if isinstance(v, bool | int | float | np.number) else np.nan),
            errors="coerce").to_numpy(float) for c in self.columns]
        return np.stack(cols, axis=1)

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        m = self._matrix(df)
        binary = np.isin(m, (0.0, 1.0)).all(axis=1)
        return binary & (np.nansum(m, axis=1) == 1)

    def fit(self, df: pd.DataFrame) -> None:
        self.dtypes = {c: str(df[c].dtype) for c in self.columns}

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        hot = np.argmax(self._matrix(df) == 1, axis=1)
        out = df.drop(columns=self.columns)
        out[self.name] = np.asarray(self.columns, dtype=object)[hot]
        return out

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        hot = df[self.name].astype(object).to_numpy()
        out = df.drop(columns=[self.name])
        for col in self.columns:
            bits = (hot == col)
            dtype = self.dtypes.get(col, "int64")
            out[col] = bits if dtype == "bool" else bits.astype(
                dtype if dtype.startswith(("int", "uint", "float")) else "int64")
        return out

    def state(self) -> dict[str, Any]:
        return {"dtypes": self.dtypes}

    def load(self, state: dict[str, Any]) -> None:
        self.dtypes = dict(state["dtypes"])


@CONSTRAINTS.register("fixed_increments")
class FixedIncrements(Constraint):
    """{"type": "fixed_increments", "column": "counter", "increment": 5}: every value is a
    whole multiple of the increment."""

    type = "fixed_increments"
    keys = ("column", "increment")
    can_fix = True

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        self.x = self.column("column", ("numerical",))
        step = spec.get("increment")
        if isinstance(step, bool) or not isinstance(step, int | float) or not step > 0:
            self.fail(f"increment must be a positive number, got {step!r}")
        self.step = float(step)
        self.name = f"{self.x}#fixed_increments"

    @property
    def reads(self) -> list[str]:
        return [self.x]

    @property
    def replaces(self) -> list[str]:
        return [self.x]

    def model_columns(self) -> dict[str, ColumnMeta]:
        return {self.name: ColumnMeta("numerical")}

    def describe(self) -> str:
        return f"fixed_increments({self.x} in steps of {self.spec['increment']})"

    def _steps(self, df: pd.DataFrame) -> np.ndarray:
        return self.floats(df, self.x) / self.step

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        k = self._steps(df)
        return np.isnan(k) | (np.abs(k - np.round(k)) <= 1e-6 * np.maximum(1, np.abs(k)))

    def fix(self, df: pd.DataFrame, bad: np.ndarray) -> pd.DataFrame:
        k = self._steps(df)
        out = df.copy()
        out[self.x] = self.restore(self.x, np.where(bad, np.round(k), k) * self.step).to_numpy()
        return out

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        k = np.round(self._steps(df))  # whole steps: the model table's integer column
        out = df.drop(columns=[self.x])
        out[self.name] = pd.array(np.where(np.isnan(k), np.nan, k)).astype("Int64") \
            if np.isnan(k).any() else k.astype(np.int64)
        return out

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        k = np.round(pd.to_numeric(df[self.name], errors="coerce").to_numpy(float))
        out = df.drop(columns=[self.name])
        out[self.x] = self.restore(self.x, k * self.step).to_numpy()
        return out
