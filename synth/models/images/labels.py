"""Attributes of a conditional image model: each a categorical column, one-hot encoded and
concatenated into the condition vector; the joint combinations seen in training (with counts)
to draw the attributes a request leaves open."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from synth.errors import ConditionError, DataError

MAX_LEVELS = 200
COUNT = "__count__"  # the count column of LabelCodec.fit_counts


def check_attributes(attributes: list[str], label_columns: list[str]) -> None:
    """DataError unless every attribute is one of the label columns."""
    missing = [a for a in attributes if a not in label_columns]
    if missing:
        raise DataError(f"attribute {missing[0]!r} is not a label column; label columns: "
                        f"{', '.join(map(str, label_columns)) or '(none)'}")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class LabelCodec:
    def __init__(self, values: dict[str, list[Any]] | None = None,
                 combos: np.ndarray | None = None, counts: np.ndarray | None = None) -> None:
        self.values = values or {}
        self.combos = combos if combos is not None else np.zeros((1, 0), dtype=np.int64)
        self.counts = counts if counts is not None else np.ones(1)

    @classmethod
    def fit(cls, labels: pd.DataFrame, attributes: list[str]) -> LabelCodec:
        check_attributes(attributes, list(labels.columns))
        if not attributes:
            return cls(counts=np.array([float(len(labels))]))
        counts = labels[attributes].value_counts(dropna=False, sort=False)
        return cls.fit_counts(counts.reset_index(name=COUNT), attributes)

    @classmethod
    def fit_counts(cls, table: pd.DataFrame, attributes: list[str]) -> LabelCodec:
        """A codec from counted combinations: one row per (partial) count, the attribute
        columns and COUNT; rows of the same combination add up (counts from many blocks)."""
        values = {}
        for a in attributes:
            if table[a].isna().any():
                raise DataError(f"attribute {a!r} has missing values; fill or drop them")
            levels = sorted({_plain(v) for v in table[a]}, key=lambda v: (str(type(v)), v))
            if len(levels) > MAX_LEVELS:
                raise DataError(f"attribute {a!r} has {len(levels)} values (at most "
                                f"{MAX_LEVELS}): condition on a coarser column")
            values[a] = levels
        codec = cls(values)
        combos, inverse = np.unique(codec.encode(table), axis=0, return_inverse=True)
        codec.combos = combos
        codec.counts = np.bincount(inverse.ravel(), weights=table[COUNT].to_numpy(np.float64),
                                   minlength=len(combos))
        return codec

    @property
    def attributes(self) -> list[str]:
        return list(self.values)

    @property
    def dim(self) -> int:
        return sum(len(v) for v in self.values.values())

    def encode(self, labels: pd.DataFrame) -> np.ndarray:
        """Label rows -> int codes, N x attributes."""
        out = np.zeros((len(labels), len(self.values)), dtype=np.int64)
        for j, (a, levels) in enumerate(self.values.items()):
            lookup = {v: i for i, v in enumerate(levels)}
            out[:, j] = [lookup[_plain(v)] for v in labels[a]]
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({a: [levels[c] for c in codes[:, j]]
                             for j, (a, levels) in enumerate(self.values.items())})

    def onehot(self, codes: torch.Tensor) -> torch.Tensor:
        parts = [torch.nn.functional.one_hot(codes[:, j], len(levels)).float()
                 for j, levels in enumerate(self.values.values())]
        return torch.cat(parts, dim=1) if parts else torch.zeros(len(codes), 0)

    def code_of(self, attribute: str, value: Any) -> int:
        if attribute not in self.values:
            raise ConditionError(f"unknown attribute {attribute!r} in conditions; attributes: "
                                 f"{', '.join(self.values) or '(none: unconditional model)'}")
        levels = self.values[attribute]
        for i, level in enumerate(levels):
            if level == value or str(level) == str(value):
                return i
        shown = ", ".join(repr(v) for v in levels[:20])
        raise ConditionError(f"value {value!r} of attribute {attribute!r} never occurs in the "
                             f"training data; valid values: {shown}")

    def draw(self, fixed: dict[str, Any], n: int, gen: torch.Generator) -> torch.Tensor:
        """n code rows: `fixed` attributes as given, the others drawn from the training
        combinations that agree with them (or their marginals if none does)."""
        want = {list(self.values).index(a): self.code_of(a, v) for a, v in fixed.items()}
        match = np.ones(len(self.combos), dtype=bool)
        for j, code in want.items():
            match &= self.combos[:, j] == code
        if match.any():
            weights = torch.as_tensor(self.counts * match, dtype=torch.float64)
            rows = torch.multinomial(weights, n, replacement=True, generator=gen)
            out = torch.as_tensor(self.combos)[rows]
        else:  # an unseen combination: the rest from their marginals
            rows = torch.multinomial(torch.as_tensor(self.counts), n * max(len(self.values), 1),
                                     replacement=True, generator=gen).view(n, -1)
            out = torch.stack([torch.as_tensor(self.combos)[rows[:, j], j]
                               for j in range(len(self.values))], dim=1)
        for j, code in want.items():
            out[:, j] = code
        return out.long()

    def to_json(self) -> dict[str, Any]:
        return {"values": self.values, "combos": self.combos.tolist(),
                "counts": self.counts.tolist()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LabelCodec:
        counts = np.asarray(doc["counts"], dtype=np.float64)
        combos = np.asarray(doc["combos"], dtype=np.int64).reshape(len(counts), len(doc["values"]))
        return cls(doc["values"], combos, counts)
