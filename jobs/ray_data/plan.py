"""Which rows each part file of a streaming sample holds, and under which conditions.

Three kinds of conditions:
- none, or fixed (`{"sex": "Female"}`): one group of N rows;
- a table with a `count` (or `_count`) column: one group per table row, each with the
  conditions of its other (non-null) cells. Without `--rows` the counts are exact; with it they
  are weights, scaled to N by largest remainder (a class balance: `count` 1 and 1 is 50/50);
- any other table: per-row conditions, output row r meets row r of the table (N = its rows).

A group's rows are cut into files of `rows_per_file`; a file never spans two groups, so each
file is one `sample` call: the rows `offset`..`offset + rows` of its group's stream (the
seeding rule of synth.models.seeding), starting at global row `first` (ids are numbered from
it). A group's stream is the job's seed (one group) or derived from (seed, group) (a counts
table), so neither `rows_per_file` nor the number of workers changes a row, and the one-file
output (`--output x.parquet`, one part) holds the same rows as a prefix of parts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import ConditionError
from synth.models.seeding import derive_seed

COUNT_COLUMNS = ("_count", "count")


@dataclass(frozen=True)
class Part:
    index: int
    rows: int
    first: int  # global row number of the file's first row
    group: int = -1  # fixed conditions: index into SamplePlan.groups
    start: int = -1  # per-row conditions: first row of the conditions table
    offset: int = 0  # the part's first row within its group's stream


@dataclass
class SamplePlan:
    parts: list[Part]
    groups: list[dict[str, Any] | None] = field(default_factory=list)
    table: pd.DataFrame | None = None  # per-row conditions
    run: Any = None  # how _run.json records the conditions
    counted: bool = False  # groups from a counts table: each group its own stream

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def conditions_of(self, part: Part) -> dict[str, Any] | pd.DataFrame | None:
        """The part's conditions; a per-row table up to the part's last row (the model's
        `start` reads the rows it needs from it)."""
        if self.table is not None:
            return self.table.iloc[:part.start + part.rows]
        return self.groups[part.group]

    def sample_args(self, part: Part, seed: int) -> dict[str, Any]:
        """The `model.sample(**args)` call that draws the part's rows."""
        group_seed = derive_seed(seed, part.group) if self.counted else seed
        return {"num_rows": part.rows, "conditions": self.conditions_of(part),
                "seed": group_seed, "start": part.offset}


def count_column(table: pd.DataFrame, model_columns: list[str]) -> str | None:
    """The counts column of a conditions table (`count` only when it is no model column)."""
    for name in COUNT_COLUMNS:
        if name in table.columns and name not in model_columns:
            return name
    return None


def make_plan(conditions: dict | pd.DataFrame | None, rows: int | None, rows_per_file: int,
              model_columns: list[str]) -> SamplePlan:
    if isinstance(conditions, pd.DataFrame):
        counts = count_column(conditions, model_columns)
        if counts is not None:
            return _group_plan(conditions, counts, rows, rows_per_file)
        return _row_plan(conditions, rows, rows_per_file)
    if rows is None:
        raise ConditionError("rows is required: --rows N")
    return SamplePlan(_cut([rows], rows_per_file), [conditions], run=conditions)


def _cut(group_rows: list[int], rows_per_file: int) -> list[Part]:
    parts, first = [], 0
    for group, n in enumerate(group_rows):
        for start in range(0, n, rows_per_file):
            size = min(rows_per_file, n - start)
            parts.append(Part(len(parts), size, first, group=group, offset=start))
            first += size
    return parts


def _group_plan(table: pd.DataFrame, counts_col: str, rows: int | None, rows_per_file: int
                ) -> SamplePlan:
    counts = _counts(table[counts_col], counts_col)
    cells = table.drop(columns=[counts_col])
    groups = [{c: _plain(v) for c, v in row.items() if not _is_null(v)}
              for row in cells.to_dict(orient="records")]
    wanted = counts if rows is None else allocate(rows, counts)
    keep = [i for i, n in enumerate(wanted) if n > 0]
    groups, wanted = [groups[i] for i in keep], [int(wanted[i]) for i in keep]
    run = [{"conditions": g, "rows": n} for g, n in zip(groups, wanted, strict=True)]
    return SamplePlan(_cut(wanted, rows_per_file), groups, run=run, counted=True)


def _counts(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64")
    if np.isnan(values).any() or (values < 0).any() or (values != np.round(values)).any():
        raise ConditionError(f"the conditions table's {name!r} column must hold whole numbers "
                             ">= 0 (rows per group)")
    if values.sum() <= 0:
        raise ConditionError(f"the conditions table's {name!r} column sums to 0: no rows asked")
    return values.astype("int64")


def allocate(rows: int, weights: np.ndarray) -> np.ndarray:
    """`rows` split in proportion to `weights` (largest remainder; ties to the first group)."""
    share = rows * weights / weights.sum()
    out = np.floor(share).astype("int64")
    rest = rows - int(out.sum())
    order = np.argsort(-(share - out), kind="stable")
    out[order[:rest]] += 1
    return out


def _row_plan(table: pd.DataFrame, rows: int | None, rows_per_file: int) -> SamplePlan:
    if table.empty:
        raise ConditionError("the conditions table has no rows")
    if rows is not None and rows != len(table):
        raise ConditionError(f"--rows ({rows}) must equal the conditions table's rows "
                             f"({len(table)}): one output row per conditions row; or add a "
                             "'count' column to give rows per group")
    parts = [Part(i, min(rows_per_file, len(table) - start), start, start=start, offset=start)
             for i, start in enumerate(range(0, len(table), rows_per_file))]
    digest = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    digest.update(repr(list(table.columns)).encode())
    return SamplePlan(parts, table=table.reset_index(drop=True),
                      run={"table_rows": len(table), "table_sha256": digest.hexdigest()})


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
