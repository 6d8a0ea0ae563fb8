"""Orders between numeric columns that hold in every training row (credit's Amount <= Price)
are found and kept by argn; orders that the columns' ranges alone make, columns with nulls and
columns a declared constraint names are left alone. Real credit rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synth
from synth.data.constraints.detect import detect_orders, independent_break_share
from synth.data.metadata import detect_metadata

DATA = Path(__file__).resolve().parents[2] / "data" / "credit_data.parquet"


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_parquet(DATA).dropna().sample(1500, random_state=0).reset_index(drop=True)


def test_the_one_relation_in_credit_is_found(credit):
    found = detect_orders(credit, detect_metadata(credit))
    # Seniority <= Age holds too, but independent columns would break it in 1-2% of row
    # pairs only; Time <= Amount holds by the ranges alone
    assert found == [{"type": "inequality", "low": "Amount", "high": "Price",
                      "violations": "fix"}]


def test_orders_of_ranges_nulls_declared_columns_and_tiny_tables_are_left_alone(credit):
    df = credit[["Amount", "Price", "Age"]].copy()
    df["Big"] = df["Age"] * 1000  # Age <= Big by the ranges alone
    md = detect_metadata(df)
    assert [(c["low"], c["high"]) for c in detect_orders(df, md)] == [("Amount", "Price")]
    declared = detect_metadata(df, {"constraints": [
        {"type": "positive", "column": "Price"}]})
    assert detect_orders(df, declared) == []
    with_null = df.copy()
    with_null.loc[3, "Amount"] = np.nan
    assert detect_orders(with_null, detect_metadata(with_null)) == []
    assert detect_orders(df.head(20), detect_metadata(df.head(20))) == []
    assert independent_break_share(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    assert independent_break_share(np.array([2.0, 4.0]), np.array([1.0, 3.0])) == 0.75


def test_argn_keeps_the_order_and_the_model_says_so(credit, tmp_path):
    kept = synth.create_synthesizer("argn", epochs=3, seed=0).fit(credit)
    assert any(c.get("high") == "Price" for c in kept.metadata.constraints)
    rows = kept.sample(1500, seed=1)
    assert (rows["Price"] >= rows["Amount"]).all()
    kept.save(str(tmp_path / "m"))
    again = synth.load_synthesizer(str(tmp_path / "m")).sample(1500, seed=1)
    pd.testing.assert_frame_equal(again, rows)
    off = synth.create_synthesizer("argn", epochs=3, seed=0, detect_orders=False).fit(credit)
    assert off.metadata.constraints == []
    assert (off.sample(1500, seed=1)["Price"] < off.sample(1500, seed=1)["Amount"]).any()
