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

from synth.data.constraints import (  # noqa: F401 - fill the registry
    bounds,
    custom,
    discrete,
    lists,
)
from synth.data.constraints.base import CONSTRAINTS, Constraint
from synth.data.constraints.sdv import from_sdv
from synth.data.metadata import ColumnMeta, Metadata
from synth.data.schema import Codec, TableSchema, new_codec
from synth.errors import DataError, MetadataError

EXAMPLES = 3  # breaking rows quoted in an error


class Checked:
    """A rule on a column that an earlier rule already rewrites: not a rewrite itself, but a
    check at the point of the chain where the column still has its own form (generated rows
    that break it are drawn again)."""

    filters = True
    replaces: list[str] = []

    def __init__(self, item: Constraint) -> None:
        self.item, self.label, self.index = item, item.label, item.index
        self.violations, self.type = item.violations, item.type

    @property
    def reads(self) -> list[str]:
        return self.item.reads

    def model_columns(self) -> dict[str, ColumnMeta]:
        return {}

    def describe(self) -> str:
        return self.item.describe()

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        return self.item.valid(df)

    def fit(self, df: pd.DataFrame) -> None:
        self.item.fit(df)

    def fix(self, df: pd.DataFrame, bad: np.ndarray) -> pd.DataFrame:
        return self.item.fix(df, bad)

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        return df

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        return df

    def state(self) -> dict[str, Any]:
        return self.item.state()

    def load(self, state: dict[str, Any]) -> None:
        self.item.load(state)


class ConstraintSet:
    def __init__(self, md: Metadata) -> None:
        self.md = md
        self.items: list[Any] = []  # Constraint or Checked, in chain order
        self.codecs: dict[str, Codec] = {}  # of the replaced user columns (conditions, types)
        current, every = dict(md.columns), dict(md.columns)
        replaced: dict[str, int] = {}  # column -> position of the rule that rewrites it
        for index, spec in _ordered(md):
            kind = spec.get("type")
            if kind not in CONSTRAINTS:
                raise MetadataError(f"constraint #{index + 1}: unknown type {kind!r}; valid "
                                    f"types: {', '.join(CONSTRAINTS.names())}")
            seen = Metadata({**current, **{c: every[c] for c in replaced}})
            item = CONSTRAINTS.get(kind)(spec, seen, index)
            taken = [c for c in item.reads if c in replaced]
            if taken:  # a column another rule rewrites: this one is checked, rows that break
                #        it drawn again, where that column still has its own form
                first = min(replaced[c] for c in taken)
                self.items.insert(first, Checked(item))
                replaced = {c: p + (p >= first) for c, p in replaced.items()}
                continue
            replaced.update({c: len(self.items) for c in item.replaces})
            for col in item.replaces:
                current.pop(col, None)
            added = item.model_columns()
            clash = sorted(set(added) & set(every))
            if clash:
                raise MetadataError(f"column {clash[0]!r} is also the name of a constraint's "
                                    "model column; rename it")
            current.update(added)
            every.update(added)
            self.items.append(item)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def filters(self) -> bool:
        """Generated rows may be dropped (a rule with no rewrite that makes it hold)."""
        return any(item.filters for item in self.items)

    @property
    def replaced(self) -> set[str]:
        return {c for item in self.items for c in item.replaces}

    @property
    def read(self) -> set[str]:
        """Every user column a rule reads (list columns' own rules included)."""
        return {c for item in self.items for c in item.reads}

    # ----------------------------------------------------------------- training rows
    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        """Check (and drop or fix) the training rows and learn each rule, rule by rule on the
        table as the rules before it left it; returns the model table."""
        user = df.reset_index(drop=True)
        rows, kept = user, np.arange(len(user))
        for item in self.items:
            _present(item, rows)
            rows, keep = self._check(item, rows)
            kept = kept[keep]
            item.fit(rows)
            rows = item.forward(rows).reset_index(drop=True)
        user = user.iloc[kept].reset_index(drop=True)
        self.codecs = {c: _fit_codec(c, self.md.columns[c], user[c]) for c in self.md.columns
                       if c in self.replaced}
        return rows

    def to_model(self, df: pd.DataFrame) -> pd.DataFrame:
        """A shard's user rows as model rows, checked (dropped or fixed) as fit checked."""
        rows = df.reset_index(drop=True)
        for item in self.items:
            rows = item.forward(self._check(item, rows)[0]).reset_index(drop=True)
        return rows

    def _check(self, item: Constraint, df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """(the rows that obey the rule, repaired where it says fix; which rows were kept)."""
        bad = ~item.valid(df)
        if not bad.any():
            return df, np.ones(len(df), dtype=bool)
        count = int(bad.sum())
        if item.violations == "error":
            rows = np.flatnonzero(bad)[:EXAMPLES]
            shown = "; ".join(f"row {r}: " + ", ".join(f"{c}={_plain(df[c].iloc[r])!r}"
                                                     for c in item.reads) for r in rows)
            raise DataError(f"{item.label} {item.describe()}: {count} of {len(df)} training "
                            f"rows break it ({shown}); fix the data, or declare "
                            '"violations": "drop" (or "fix") on the constraint')
        if item.violations == "fix":
            item.fit(df)  # the columns' grids and dtypes, which a repair keeps
            df = item.fix(df, bad)
            bad = ~item.valid(df)
        if len(df) - int(bad.sum()) < 2:
            raise DataError(f"{item.label} {item.describe()}: {count} of {len(df)} training "
                            "rows break it, leaving too few to learn from")
        if bad.any():
            warnings.warn(f"{item.label} {item.describe()}: dropped {int(bad.sum())} of "
                          f"{len(df)} training rows that break it", UserWarning, stacklevel=4)
        return df[~bad].reset_index(drop=True), ~bad

    # ----------------------------------------------------------------- tables
    def model_metadata(self, user_md: Metadata) -> Metadata:
        """The kinds of the model table's columns."""
        cols: dict[str, ColumnMeta] = dict(user_md.columns)
        for item in self.items:
            for name in item.replaces:
                cols.pop(name, None)
            cols.update(item.model_columns())
        return Metadata(cols)

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

    def _walk(self, df: pd.DataFrame) -> list[tuple[Constraint, pd.DataFrame]]:
        """Each rule with the table as the rules before it left it (user rows: a rule on a
        list's elements sees them as columns)."""
        out, rows = [], df.reset_index(drop=True)
        for item in self.items:
            out.append((item, rows))
            rows = item.forward(rows).reset_index(drop=True)
        return out

    def valid(self, df: pd.DataFrame) -> np.ndarray:
        ok = np.ones(len(df), dtype=bool)
        for item, rows in self._walk(df):
            ok &= item.valid(rows)
        return ok

    def validity(self, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
        """How many synthetic rows obey each rule, the rules learned from the real rows that
        obey them (for evaluation: real data that breaks a rule is not an error here)."""
        rows = real.reset_index(drop=True)
        for item in self.items:
            obeys = rows[item.valid(rows)].reset_index(drop=True)
            item.fit(obeys if len(obeys) else rows)
            rows = item.forward(rows).reset_index(drop=True)
        broken = self.violations(synthetic)
        return {"rows": len(synthetic), "broken": broken,
                "valid": float(self.valid(synthetic).mean()) if len(synthetic) else 1.0}

    def violations(self, df: pd.DataFrame) -> dict[str, int]:
        """Rows breaking each rule, by its description."""
        return {f"{i.label} {i.describe()}": int((~i.valid(rows)).sum())
                for i, rows in self._walk(df)}

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


def _ordered(md: Metadata) -> list[tuple[int, dict[str, Any]]]:
    """(index, spec) of every rule: list columns first (declared, then one per undeclared
    list column, index -1), then the others in declared order."""
    specs = [(i, from_sdv(raw, i)) for i, raw in enumerate(md.constraints)]
    declared = [(i, s) for i, s in specs if s.get("type") == "list"]
    named = {s.get("column") for _, s in declared}
    auto = [(-1, {"type": "list", "column": c}) for c, m in md.columns.items()
            if m.kind == "list" and c not in named]
    return declared + auto + [(i, s) for i, s in specs if s.get("type") != "list"]


def _present(item: Constraint, rows: pd.DataFrame) -> None:
    missing = [c for c in item.reads if c not in rows.columns]
    if missing:
        raise DataError(f"{item.label} {item.describe()}: column {missing[0]!r} does not exist "
                        "in the data (a list element past the longest list?)")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _new_codec(name: str, meta: ColumnMeta) -> Codec:
    return new_codec(name, meta, max_categories=100_000)  # conditions: every level known


def _fit_codec(name: str, meta: ColumnMeta, series: pd.Series) -> Codec:
    codec = _new_codec(name, meta)
    codec.fit(series)
    return codec
