"""Shared fixtures: real data (Adult, credit), small fitted models shared per session."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from jobs.common import LOCAL_RAY_ENV

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

for key, value in LOCAL_RAY_ENV.items():  # loopback-only Ray, no usage stats
    os.environ.setdefault(key, value)
# Ray Train's controller polls its workers every 2 s: a tiny test run spends much of its time
# waiting on that poll (a 2-worker run: 23 s -> 17 s at 0.2 s). Inherited by every Ray the
# tests start, subprocesses included; the product keeps Ray's default.
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return pd.read_csv(DATA / "adult_train.csv.gz")


@pytest.fixture(scope="session")
def adult_small(adult: pd.DataFrame) -> pd.DataFrame:
    return adult.sample(4000, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def credit() -> pd.DataFrame:
    return pd.read_parquet(DATA / "credit_data.parquet")


FAST_PARAMS = {
    "ctgan": {"epochs": 30, "batch_size": 500},
    "tvae": {"epochs": 80, "batch_size": 500},
    "gaussian_copula": {},
    "argn": {"epochs": 5, "batch_size": 256},
    "binary_diffusion": {"epochs": 30, "dim": 64, "sample_steps": 10, "lr": 1e-3,
                         "batch_size": 128},
    "potnet": {"epochs": 40},
}


@pytest.fixture(scope="session")
def fitted(adult_small: pd.DataFrame):
    """One fitted model per family on real Adult rows (cached for the session)."""
    import synth

    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = synth.create_synthesizer(name, **FAST_PARAMS[name]).fit(adult_small)
        return cache[name]

    return get
