"""`custom`: a rule written by the user as Python functions.

    {"type": "custom", "columns": ["lat", "lon"],
     "transform": "mypkg.geo:to_model", "reverse": "mypkg.geo:from_model",
     "is_valid": "mypkg.geo:on_land"}

`transform(frame of columns) -> frame` gives the model columns (any names) and `reverse`
turns them back; `is_valid(frame) -> bools` marks rows that obey the rule: generated rows that
do not are dropped (rejection), training rows that do not are an error or dropped. Functions are
named by import path ("module:function") so a saved model names them and loading imports
them again; a Python callable works too, but such a model cannot be saved. Paths come from the
metadata the model's owner wrote, never from a request."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synth.data.constraints.base import CONSTRAINTS, Constraint
from synth.data.metadata import ColumnMeta, detect_column
from synth.errors import MetadataError


def resolve(c: Constraint, key: str) -> Callable | None:
    ref = c.spec.get(key)
    if ref is None or callable(ref):
        return ref
    if not isinstance(ref, str) or ":" not in ref:
        c.fail(f"{key} must be a function or its import path 'module:function', got {ref!r}")
    module, _, name = ref.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        c.fail(f"{key} {ref!r} cannot be imported: {exc}")
    if not callable(fn):
        c.fail(f"{key} {ref!r} is not a function")
    return fn


@CONSTRAINTS.register("custom")
class Custom(Constraint):
    type = "custom"
    keys = ("columns", "transform", "reverse", "is_valid")

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        kinds = ("numerical", "datetime", "categorical", "boolean", "text", "id")
        self.columns = self.column_list("columns", kinds, 1)
        self.to_model, self.from_model = resolve(self, "transform"), resolve(self, "reverse")
        self.is_valid = resolve(self, "is_valid")
        if (self.to_model is None) != (self.from_model is None):
            self.fail("give both transform and reverse (a reversible pair), or neither")
        if self.to_model is None and self.is_valid is None:
            self.fail("give a transform/reverse pair, an is_valid filter, or both")
        self.filters = self.is_valid is not None
        self.added: dict[str, ColumnMeta] = {}

    @property
    def reads(self) -> list[str]:
        return list(self.columns)

    @property
    def replaces(self) -> list[str]:
        return list(self.columns) if self.to_model is not None else []

    def model_columns(self) -> dict[str, ColumnMeta]:
        return dict(self.added)

    def describe(self) -> str:
        named = self.spec.get("is_valid") or self.spec.get("transform")
        return f"custom({', '.join(self.columns)}: {getattr(named, '__name__', named)})"

    def fit(self, df: pd.DataFrame) -> None:
        if self.to_model is None:
            return
        model = self._call(self.to_model, df, "transform")
        clash = sorted(set(model.columns) & (set(self.md.columns) - set(self.columns)))
        if clash:
            self.fail(f"transform returns column {clash[0]!r}, which is already a column")
        self.added = {str(c): detect_column(model[c]) for c in model.columns}
        for meta in self.added.values():
            if meta.kind in ("id", "text"):
                meta.kind = "categorical"  # the model learns what the transform made

    def _call(self, fn: Callable, df: pd.DataFrame, what: str) -> pd.DataFrame:
        try:
            out = fn(df[self.columns].copy() if what == "transform" else df.copy())
        except Exception as exc:  # noqa: BLE001 - the user's function: say whose error it is
            raise MetadataError(f"{self.label} (custom): {what} raised "
                                f"{type(exc).__name__}: {exc}") from None
        if not isinstance(out, pd.DataFrame) or len(out) != len(df):
            self.fail(f"{what} must return a DataFrame with one row per input row")
        return out.reset_index(drop=True)

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        if self.is_valid is None:
            return np.ones(len(df), dtype=bool)
        try:
            ok = np.asarray(self.is_valid(df.copy()), dtype=bool)
        except Exception as exc:  # noqa: BLE001 - the user's function
            raise MetadataError(f"{self.label} (custom): is_valid raised "
                                f"{type(exc).__name__}: {exc}") from None
        if ok.shape != (len(df),):
            self.fail("is_valid must return one bool per row")
        return ok

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        if self.to_model is None:
            return df
        model = self._call(self.to_model, df, "transform")
        out = df.drop(columns=self.columns).reset_index(drop=True)
        for col in self.added:
            out[col] = model[col].to_numpy()
        return out

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        if self.from_model is None:
            return df
        user = self._call(self.from_model, df[list(self.added)], "reverse")
        missing = [c for c in self.columns if c not in user.columns]
        if missing:
            self.fail(f"reverse must return the columns {self.columns}; {missing[0]!r} is "
                      "missing")
        out = df.drop(columns=list(self.added)).reset_index(drop=True)
        for col in self.columns:
            out[col] = user[col].to_numpy()
        return out

    def state(self) -> dict[str, Any]:
        for key in ("transform", "reverse", "is_valid"):
            if callable(self.spec.get(key)):
                self.fail(f"{key} is a Python function: a model that must be saved names it "
                          "by import path 'module:function'")
        return {"added": {c: m.kind for c, m in self.added.items()}}

    def load(self, state: dict[str, Any]) -> None:
        self.added = {c: ColumnMeta(k) for c, k in state.get("added", {}).items()}
