"""What one sampling call may cost: rejection spends a budget proportional to the rows asked,
per-row conditions work per group in small blocks, numeric equalities follow the documented
tolerance (exact on integers, never overwritten), and a time budget ends the work."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import synth
from synth.budget import Budget, check_budget
from synth.errors import BudgetExceeded, ConditionError
from synth.models import base
from synth.models.conditions import EQ_TOLERANCE
from synth.models.rejection import rejection_budget


def test_a_too_rare_equality_fails_within_a_budget_proportional_to_the_rows(fitted):
    model = fitted("ctgan")  # fnlwgt is an integer over ~1.4M values: 1 exact value is rare
    with pytest.raises(ConditionError, match="too rare"):
        model.sample(5, conditions={"fnlwgt": 123457}, seed=0)
    # whole blocks: the budget plus at most one block (the old bound: 500k rows)
    assert model.rejected_rows <= rejection_budget(5, base.BLOCK_ROWS) + base.BLOCK_ROWS


def test_per_row_groups_cost_follows_their_rows(fitted, monkeypatch):
    """60 groups of 5 rows: each group generates blocks of GROUP_BLOCK_ROWS, not of BLOCK_ROWS
    (the old cost: >= 2048 rows per group, 32k on a group whose first block missed)."""
    model = fitted("ctgan")
    generated = []
    real = model._generate

    def counting(seed, segment, first, k, plan, rows=base.BLOCK_ROWS):
        generated.append(k * rows)
        return real(seed, segment, first, k, plan, rows)

    monkeypatch.setattr(model, "_generate", counting)
    table = pd.DataFrame({"education": [e for e in ["Bachelors", "HS-grad", "Masters",
                                                    "Some-college"] for _ in range(5)]})
    out = model.sample(len(table), conditions=table, seed=1)
    assert (out["education"] == table["education"]).all()
    assert sum(generated) <= 4 * 2 * base.GROUP_BLOCK_ROWS  # 4 groups, at most 2 calls each
    ages = pd.DataFrame({"age": [20 + i % 30 for i in range(90)]})
    generated.clear()
    got = model.sample(90, conditions=ages, seed=1)
    assert (got["age"].to_numpy() == ages["age"].to_numpy()).all()  # integers: exact
    assert sum(generated) <= 30 * rejection_budget(3, base.GROUP_BLOCK_ROWS)


def test_float_equality_is_met_within_the_documented_tolerance_never_overwritten(adult_small):
    rng = np.random.default_rng(0)
    data = adult_small[["age", "sex"]].head(1500).assign(score=rng.normal(size=1500))
    model = synth.create_synthesizer("tvae", epochs=5, batch_size=250).fit(data)
    out = model.sample(20, conditions={"score": 0.25}, seed=3)
    span = data["score"].max() - data["score"].min()
    assert (np.abs(out["score"] - 0.25) <= EQ_TOLERANCE * span + 1e-9).all()
    assert out["score"].nunique() > 1  # the model's own values, not the asked one written in
    ints = model.sample(10, conditions={"age": 40}, seed=3)
    assert (ints["age"] == 40).all()


def test_a_time_budget_ends_sampling_and_cancel_stops_it(fitted):
    model = fitted("gaussian_copula")
    with pytest.raises(BudgetExceeded, match="time budget"), Budget(1e-6).active():
        model.sample(200_000, seed=0)
    budget = Budget()
    budget.cancel()
    with pytest.raises(BudgetExceeded, match="cancelled"), budget.active():
        list(model.iter_sample(50_000, seed=0, chunk_rows=4096))
    assert len(model.sample(100, seed=0)) == 100  # no budget active: nothing stops it


def test_a_budget_applies_only_to_its_own_thread():
    errors: list[Exception] = []

    def other() -> None:
        try:
            check_budget()
        except BudgetExceeded as exc:  # pragma: no cover - the defect this guards against
            errors.append(exc)

    spent = Budget()
    spent.cancel()
    with spent.active():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        with pytest.raises(BudgetExceeded):
            check_budget()
    assert not errors
    with pytest.raises(ValueError):
        Budget(0)
