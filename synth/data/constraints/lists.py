"""`list`: a list-valued column learned element-wise (synth.data.lists). Every column of kind
`list` gets one automatically; declare `{"type": "list", "column": "boxes", "max_length": 8}`
to cap it. Element i is the model column `boxes[i]` (later constraints may name it), a
variable length the column `boxes#length`; a generated list takes its length from that
column (an element the model left missing within it takes the element's median) and comes
back in the column's own format."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.constraints.base import CONSTRAINTS, Constraint
from synth.data.lists import MAX_LENGTH, ListCodec
from synth.data.metadata import ColumnMeta
from synth.errors import DataError


@CONSTRAINTS.register("list")
class ListColumn(Constraint):
    type = "list"
    keys = ("column", "max_length")

    def __init__(self, spec: dict[str, Any], md: Any, index: int) -> None:
        super().__init__(spec, md, index)
        self.x = self.column("column", ("list",))
        cap = spec.get("max_length")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int)
                                or not 1 <= cap <= MAX_LENGTH):
            self.fail(f"max_length must be a whole number in 1..{MAX_LENGTH}, got {cap!r}")
        self.cap: int | None = cap
        self.codec = ListCodec(self.x, md.columns[self.x])
        self.width: int | None = None  # elements learned (after fit)
        self.fill: list[float] = []  # each element's median

    @property
    def reads(self) -> list[str]:
        return [self.x]

    @property
    def replaces(self) -> list[str]:
        return [self.x]

    @property
    def _fixed(self) -> bool:
        return bool(self.codec.state.get("fixed", False))

    def model_columns(self) -> dict[str, ColumnMeta]:
        width = self.width if self.width is not None else (self.cap or MAX_LENGTH)
        cols = {f"{self.x}[{i}]": ColumnMeta("numerical") for i in range(width)}
        if self.width is None or not self._fixed:
            cols[f"{self.x}#length"] = ColumnMeta("numerical")
        return cols

    def describe(self) -> str:
        return f"list({self.x})"

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        return np.ones(len(df), dtype=bool)

    def fit(self, df: pd.DataFrame) -> None:
        self.codec.fit(df[self.x])
        longest = int(self.codec.state["max_length"])
        if self.cap is not None and longest > self.cap:
            raise DataError(f"{self.label}: column {self.x!r} holds lists of {longest} "
                            f"elements, more than its max_length {self.cap}")
        self.width = max(longest, 1)
        self.codec.state["max_length"] = self.width
        items = self.codec.elements(df[self.x])[0]
        with np.errstate(all="ignore"):  # an element a generated list lacks within its length
            self.fill = [float(np.nanmedian(items[:, i])) if np.isfinite(items[:, i]).any()
                         else 0.0 for i in range(self.width)]

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        items, lengths, null = self.codec.elements(df[self.x])
        out = df.drop(columns=[self.x])
        for i in range(self.width or 0):
            out[f"{self.x}[{i}]"] = items[:, i] if i < items.shape[1] else np.nan
        if not self._fixed:
            out[f"{self.x}#length"] = np.where(null, np.nan, np.minimum(lengths, self.width))
        return out

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        width = self.width or 0
        items = np.stack([pd.to_numeric(df[f"{self.x}[{i}]"], errors="coerce").to_numpy(float)
                          for i in range(width)], axis=1) if width else np.zeros((len(df), 0))
        missing = np.isnan(items)
        if self._fixed:
            lengths, null = np.full(len(df), width), missing.all(axis=1)
        else:  # the length decides; an element missing within it takes its typical value
            raw = pd.to_numeric(df[f"{self.x}#length"], errors="coerce").to_numpy(float)
            null = np.isnan(raw)
            lengths = np.clip(np.round(np.nan_to_num(raw)), 0, width).astype(int)
        items = np.where(missing, np.asarray(self.fill)[None, :width], items)
        out = df.drop(columns=list(self.model_columns()))
        out[self.x] = self.codec.join(items, lengths, null).to_numpy()
        return out

    def state(self) -> dict[str, Any]:
        return {"codec": self.codec.to_json(), "width": self.width, "fill": self.fill}

    def load(self, state: dict[str, Any]) -> None:
        self.codec.load_json(state["codec"], {})
        self.width, self.fill = state["width"], list(state["fill"])
