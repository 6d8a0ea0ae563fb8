"""The constraints of one table, in declared order: the user's table <-> the model table.

`forward` rewrites constraint by constraint; `reverse` undoes them in the opposite order. A
column that one constraint replaces cannot be read by a later one (it no longer exists in the
user's form there). Training rows that break a rule are an error naming the rule and the count,
or are dropped / fixed when the constraint says `"violations": "drop"` / `"fix"`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import CategoricalCodec, IdCodec, NumericCodec, TextCodec
from synth.data.constraints import bounds, custom, discrete  # noqa: F401 - fill the registry
from synth.data.constraints.base import CONSTRAINTS, Constraint
from synth.data.constraints.sdv import from_sdv
from synth.data.metadata import ColumnMeta, Metadata
from synth.data.schema import Codec, TableSchema
from synth.errors import DataError, MetadataError

EXAMPLES = 3  # breaking rows quoted in an error


class ConstraintSet:
    def __init__(self, md: Metadata) -> None:
        self.md = md
        self.items: list[Constraint] = []
        self.codecs: dict[str, Codec] = {}  # of the replaced user columns (conditions, types)
        replaced: dict[str, int] = {}
        for i, raw in enumerate(md.constraints):
            spec = from_sdv(raw, i)
            kind = spec.get("type")
            if kind not in CONSTRAINTS:
                raise MetadataError(f"constraint #{i + 1}: unknown type {kind!r}; valid types: "
                                    f"{', '.join(CONSTRAINTS.names())}")
            item = CONSTRAINTS.get(kind)(spec, md, i)
            for col in item.reads:
                if col in replaced:
                    item.fail(f"column {col!r} is already rewritten by constraint "
                              f"#{replaced[col] + 1}; declare one rule per column, or "
                              "this one first")
            replaced.update({c: i for c in item.replaces})
            self.items.append(item)
        names = [c for item in self.items for c in item.model_columns()]
        clash = sorted(set(names) & set(md.columns))
        if clash:
            raise MetadataError(f"column {clash[0]!r} is also the name of a constraint's model "
                                "column; rename it")

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def filters(self) -> bool:
        """Generated rows may be dropped (a rule with no rewrite that makes it hold)."""
        return any(item.filters for item in self.items)

    @property
    def replaced(self) -> set[str]:
        return {c for item in self.items for c in item.replaces}

    # ----------------------------------------------------------------- training rows
    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        """Check (and drop or fix) the training rows, learn each rule's state; returns the
        rows the model learns from."""
        df = df.reset_index(drop=True)
        for item in self.items:
            df = self._check(item, df)
            item.fit(df)
        self.codecs = {c: _fit_codec(c, self.md.columns[c], df[c]) for c in self.md.columns
                       if c in self.replaced}
        return df

    def clean(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of a shard checked (dropped or fixed) as fit checked the training rows."""
        if not self.items:
            return df
        df = df.reset_index(drop=True)
        for item in self.items:
            df = self._check(item, df)
        return df

    def _check(self, item: Constraint, df: pd.DataFrame) -> pd.DataFrame:
        bad = ~item.valid(df)
        if not bad.any():
            return df
        count = int(bad.sum())
        if item.violations == "error":
            rows = np.flatnonzero(bad)[:EXAMPLES]
            shown = "; ".join(f"row {r}: " + ", ".join(f"{c}={_plain(df[c].iloc[r])!r}"
                                                     for c in item.reads) for r in rows)
            raise DataError(f"constraint #{item.index + 1} {item.describe()}: {count} of "
                            f"{len(df)} training rows break it ({shown}); fix the data, or "
                            'declare "violations": "drop" (or "fix") on the constraint')
        if item.violations == "fix":
            item.fit(df)  # the columns' grids and dtypes, which a repair keeps
            df = item.fix(df, bad)
            bad = ~item.valid(df)
        kept = df[~bad].reset_index(drop=True)
        if len(kept) < 2:
            raise DataError(f"constraint #{item.index + 1} {item.describe()}: {count} of "
                            f"{len(df)} training rows break it, leaving too few to learn from")
        if bad.any():
            warnings.warn(f"constraint #{item.index + 1} {item.describe()}: dropped "
                          f"{int(bad.sum())} of {len(df)} training rows that break it",
                          UserWarning, stacklevel=4)
        return kept

    # ----------------------------------------------------------------- tables
    def model_metadata(self, user_md: Metadata) -> Metadata:
        """The kinds of the model table's columns."""
        cols: dict[str, ColumnMeta] = dict(user_md.columns)
        for item in self.items:
            for name in item.replaces:
                cols.pop(name, None)
            cols.update(item.model_columns())
        return Metadata(cols)

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        """User rows (valid ones: see fit) as model rows."""
        if not self.items:
            return df
        df = df.reset_index(drop=True)
        for item in self.items:
            df = item.forward(df)
        return df

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        """Generated model rows as user rows, in the user's column order."""
        if not self.items:
            return df
        for item in reversed(self.items):
            df = item.reverse(df)
        return df[list(self.md.columns)]

    def schema(self, tr: Any) -> TableSchema:
        """The user's columns, given the transformer (`tr.codecs`) of the model table."""
        return TableSchema({c: self.codecs[c] if c in self.codecs else tr.codecs[c]
                            for c in self.md.columns}, self.md)

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        ok = np.ones(len(df), dtype=bool)
        for item in self.items:
            ok &= item.valid(df)
        return ok

    def validity(self, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
        """How many synthetic rows obey each rule, the rules learned from the real rows that
        obey them (for evaluation: real data that breaks a rule is not an error here)."""
        for item in self.items:
            obeys = real[item.valid(real)].reset_index(drop=True)
            item.fit(obeys if len(obeys) else real)
        broken = self.violations(synthetic)
        return {"rows": len(synthetic), "broken": broken,
                "valid": float(self.valid(synthetic).mean()) if len(synthetic) else 1.0}

    def violations(self, df: pd.DataFrame) -> dict[str, int]:
        """Rows breaking each rule, by its description."""
        return {f"#{i.index + 1} {i.describe()}": int((~i.valid(df)).sum()) for i in self.items}

    # ----------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        items = [i.state() for i in self.items]
        codecs = {c: {"json": k.to_json(), "arrays": {a: np.asarray(v).tolist() for a, v in
                                                       getattr(k, "arrays", dict)().items()}}
                  for c, k in self.codecs.items()}
        return {"metadata": self.md.to_dict(), "items": items, "codecs": codecs}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ConstraintSet:
        self = cls(Metadata.from_dict(state["metadata"]))
        for item, item_state in zip(self.items, state["items"], strict=True):
            item.load(item_state)
        for name, saved in state.get("codecs", {}).items():
            codec = _new_codec(name, self.md.columns[name])
            codec.load_json(saved["json"], {a: np.asarray(v) for a, v in saved["arrays"].items()})
            self.codecs[name] = codec
        return self


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _new_codec(name: str, meta: ColumnMeta) -> Codec:
    if meta.kind in ("numerical", "datetime"):
        return NumericCodec(name, meta)
    if meta.kind == "id":
        return IdCodec(name, meta)
    if meta.kind == "text":
        return TextCodec(name, meta)
    return CategoricalCodec(name, meta, max_categories=100_000)


def _fit_codec(name: str, meta: ColumnMeta, series: pd.Series) -> Codec:
    codec = _new_codec(name, meta)
    codec.fit(series)
    return codec
