"""Rejection sampling's bookkeeping: how many blocks to generate next, when to give up (a
condition or filtering constraint met by fewer than MIN_ACCEPTANCE of the generated rows is
an error naming it, never an unbounded loop), and re-chunking accepted rows."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd

from synth.errors import ConditionError

MIN_ACCEPTANCE = 1e-3  # below this share of accepted rows, rejection sampling gives up


def rechunk(frames: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """The same rows in frames of exactly `size` rows (the last one: the rest)."""
    held: list[pd.DataFrame] = []
    count = 0
    for df in frames:
        held.append(df)
        count += len(df)
        while count >= size:
            joined = pd.concat(held, ignore_index=True)
            yield joined.iloc[:size].reset_index(drop=True)
            held, count = [joined.iloc[size:]], count - size
    if count:
        yield pd.concat(held, ignore_index=True)


def rejection_budget(n: int, block: int) -> int:
    """Generated rows that rejection may spend on n rows: one block, then 3/MIN_ACCEPTANCE per
    row plus a margin of 8/MIN_ACCEPTANCE, so a condition met by MIN_ACCEPTANCE of the rows
    almost never fails by chance (1 row: P < 2e-5)."""
    return block + math.ceil((3 * n + 8) / MIN_ACCEPTANCE)


def blocks_next(need: int, accepted: int, tried: int, rows: int, most: int,
                 budget: int | None) -> int:
    """Blocks for the next network call: enough for `need` more rows at the acceptance seen
    so far (doubling what was tried while nothing was accepted), never past the budget."""
    if not tried:
        k = 1 if budget is not None else math.ceil(need / rows)
    elif accepted == 0:
        k = max(1, tried // rows)
    else:
        k = math.ceil(need * tried / (accepted * rows))
    if budget is not None:
        k = min(k, math.ceil(max(budget - tried, 1) / rows))
    return max(1, min(most, k))


def check_acceptance(conds: list[Any], got: int, tried: int, n: int, block: int,
                      cs: Any) -> None:
    """Give up once rejection has spent its budget (`_rejection_budget`), or earlier, on a
    large request, once 50/MIN_ACCEPTANCE rows show an acceptance below half of MIN_ACCEPTANCE
    (by chance: P < 1e-4)."""
    if got >= n:
        return
    early = tried >= 50 / MIN_ACCEPTANCE and got < tried * MIN_ACCEPTANCE / 2
    if early or tried >= rejection_budget(n, block):
        names = ", ".join([c.column for c in conds] + [
            f"constraint {i.describe()}" for i in cs.items if i.filters])
        raise ConditionError(
            f"conditions on {names} are met by only {got} of {tried} generated rows "
            f"(acceptance {got / tried:.2%}, {n} asked); they are too rare for this model to "
            "sample. Relax them (a range instead of a value), or use a model that conditions "
            "on them natively (argn, gaussian_copula)")
