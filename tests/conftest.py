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
