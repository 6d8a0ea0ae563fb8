"""The shadow-model attack (Stadler et al. 2022) on real Adult rows: against an argn that
memorises its 200 rows it always tells whether an outlier was in them; differential privacy
takes that away; the time bound and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synth.attacks import shadow_attack
from synth.errors import ConfigError

DATA = Path(__file__).resolve().parents[2] / "data"
OVERFIT = {"epochs": 40, "val_fraction": 0.0, "hidden": 64}


@pytest.fixture(scope="module")
def population() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = pd.read_csv(DATA / "adult_test.csv.gz").dropna().reset_index(drop=True)
    target = ref.sort_values(["capital_gain", "age"], ascending=False).head(1)
    return ref.drop(target.index).reset_index(drop=True), target


def test_memorising_model_gives_its_members_away_and_dp_does_not(population):
    ref, target = population
    leaky = shadow_attack("argn", OVERFIT, ref, target, rows=200, runs=8)  # 1.0 at 8 and 16
    assert leaky["shadow_auc"] >= 0.8 and leaky["runs"] == 8 and not leaky["bounded"]
    private = shadow_attack("argn", {"hidden": 64, "batch_size": 32,
                                     "dp": {"epsilon": 1.0, "epochs": 3}}, ref, target,
                            rows=200, runs=12,  # 6 in, 6 out: 1/924 to separate by luck
                            metadata=json.loads((DATA / "adult_metadata.json").read_text()))
    assert private["shadow_auc"] < leaky["shadow_auc"]


def test_time_bound_and_bad_input(population):
    ref, target = population
    with pytest.raises(ConfigError, match="only 0 runs fit in max_seconds"):
        shadow_attack("gaussian_copula", {}, ref, target, rows=100, runs=8, max_seconds=0)
    with pytest.raises(ConfigError, match="target must be one row"):
        shadow_attack("gaussian_copula", {}, ref, ref.head(2))
    with pytest.raises(ConfigError, match="runs >= 4"):
        shadow_attack("gaussian_copula", {}, ref, target, runs=2)
