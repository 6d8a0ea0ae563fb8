"""Constraints declared in metadata hold in every generated row, for every table family, on
real rows (diamonds, Adult): bounds between columns and constants, fixed combinations, one-hot
groups, increments and custom rules; training rows that break a rule get an error naming it
and the count (or are dropped / fixed); conditions, seeds, save/load and SDV's dicts work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synth
from synth.data.arrow import arrow_schema, to_arrow
from synth.data.constraints import ConstraintSet
from synth.data.metadata import Metadata
from synth.errors import ConditionError, DataError, MetadataError

DATA = Path(__file__).resolve().parents[2] / "data"
TINY = {"ctgan": {"epochs": 2, "batch_size": 200}, "tvae": {"epochs": 2, "batch_size": 200},
        "gaussian_copula": {}, "argn": {"epochs": 2, "batch_size": 256},
        "binary_diffusion": {"epochs": 2, "dim": 32, "sample_steps": 4, "batch_size": 200},
        "potnet": {"epochs": 2}}
CUTS = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
RULES = [
    {"type": "inequality", "low": "z", "high": "x", "strict": True},
    {"type": "range", "column": "depth", "low": 43, "high": 79},
    {"type": "positive", "column": "price", "strict": True},
    {"type": "range", "column": "y", "low_column": "z", "high_column": "top"},
    {"type": "fixed_combinations", "columns": ["color", "clarity"]},
    {"type": "one_hot", "columns": [f"is_{c}" for c in CUTS]},
    {"type": "fixed_increments", "column": "price_band", "increment": 250},
]


@pytest.fixture(scope="module")
def gems() -> pd.DataFrame:
    """1,500 real diamonds (the few with z = 0 or z >= x left out), the cut as one-hot columns,
    `top` a real upper bound of y (x + 1 mm) and the price in bands of 250."""
    d = pd.read_parquet(DATA / "diamonds.parquet").sample(6000, random_state=0)
    d = d[(d.z > 0) & (d.z < d.x) & (d.z <= d.y) & (d.y <= d.x + 1)]
    d = d.head(1500).reset_index(drop=True)
    for cut in CUTS:
        d[f"is_{cut}"] = (d["cut"] == cut).astype(int)
    d = d.drop(columns="cut")
    d["top"] = (d["x"] + 1).round(2)
    d["price_band"] = (d["price"] // 250 * 250).astype("int64")
    return d


@pytest.fixture(scope="module")
def fitted_gems(gems):
    cache = {}

    def get(family):
        if family not in cache:
            cache[family] = synth.create_synthesizer(family, **TINY[family]).fit(
                gems, {"constraints": RULES})
        return cache[family]

    return get


@pytest.mark.parametrize("family", sorted(TINY))
def test_every_family_keeps_every_rule_in_every_row(family, fitted_gems, gems):
    model = fitted_gems(family)
    out = model.sample(3000, seed=3)
    assert list(out.columns) == list(gems.columns)
    assert out.dtypes.to_dict() == gems.dtypes.to_dict()
    assert model.constraints.violations(out) == {
        f"constraint #{i + 1} {item.describe()}": 0
        for i, item in enumerate(model.constraints.items)}
    assert (out.z < out.x).all() and out.depth.between(43, 79).all() and (out.price > 0).all()
    assert ((out.y >= out.z) & (out.y <= out.top)).all()
    assert (out[[f"is_{c}" for c in CUTS]].sum(axis=1) == 1).all()
    assert (out.price_band % 250 == 0).all()
    real_pairs = set(map(tuple, gems[["color", "clarity"]].drop_duplicates().to_numpy()))
    assert set(map(tuple, out[["color", "clarity"]].drop_duplicates().to_numpy())) <= real_pairs
    assert model.rejected_rows == 0  # every rule is a rewrite: nothing is generated twice


def test_conditions_seeds_save_and_schema(fitted_gems, gems, tmp_path):
    model = fitted_gems("gaussian_copula")
    out = model.sample(2000, seed=1)
    assert model.sample(1500, seed=1, batch_size=500).equals(out.iloc[:1500])
    model.save(str(tmp_path / "m"))
    again = synth.load_synthesizer(str(tmp_path / "m"))
    assert again.sample(2000, seed=1).equals(out)
    assert json.loads((tmp_path / "m" / "constraints.json").read_text())["metadata"][
        "constraints"] == RULES
    # a condition on a rewritten column is met by rejection, one on a kept column natively
    cond = again.sample(300, conditions={"x": {"min": 5.0, "max": 6.0}, "carat": {"min": 0.5}},
                       seed=2)
    assert cond.x.between(5, 6).all() and (cond.carat >= 0.5).all() and (cond.z < cond.x).all()
    table = pd.DataFrame({"color": ["E", "J", None], "is_Ideal": [1, None, 0]})
    per_row = again.sample(3, conditions=table, seed=2)
    assert per_row.color.iloc[0] == "E" and per_row.color.iloc[1] == "J"
    assert per_row.is_Ideal.iloc[0] == 1 and per_row.is_Ideal.iloc[2] == 0
    with pytest.raises(ConditionError, match="never occurs"):
        again.sample(5, conditions={"color": "Z"})
    report = synth.evaluate(gems, out, metadata={"constraints": RULES},
                            metrics=("fidelity",))
    assert report.scores["constraints_valid"] == 1.0  # and a model without the rules breaks
    free = synth.create_synthesizer("gaussian_copula").fit(gems).sample(2000, seed=1)
    loose = synth.evaluate(gems, free, metadata={"constraints": RULES}, metrics=("fidelity",))
    assert loose.scores["constraints_valid"] < 0.9
    assert loose.details["constraints"]["broken"][
        "constraint #6 one_hot(is_Fair, is_Good, is_Very Good, is_Premium, is_Ideal)"] > 0
    from serving.catalog import describe_files

    described = describe_files(str(tmp_path / "m"), "gems", 1)  # what the HTTP API shows
    assert [c["name"] for c in described["columns"]] == list(gems.columns)
    schema = arrow_schema(again.schema)  # the user's columns, not the model table's
    assert schema.names == list(gems.columns)
    assert to_arrow(out, again.schema).num_rows == 2000


def test_strict_rules_on_integer_and_date_grids():
    days = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(400) % 50, unit="D")
    df = pd.DataFrame({"start": days, "end": days + pd.to_timedelta(np.arange(400) % 3 + 1,
                                                                     unit="D"),
                       "a": np.arange(400) % 7, "b": np.arange(400) % 7 + np.arange(400) % 2 + 1})
    rules = [{"type": "inequality", "low": "start", "high": "end", "strict": True},
             {"type": "inequality", "low": "a", "high": "b", "strict": True}]
    model = synth.create_synthesizer("gaussian_copula").fit(df, {"constraints": rules})
    out = model.sample(5000, seed=0)
    assert (out.end > out.start).all() and (out.b > out.a).all()  # >= one day, one unit apart
    assert ((out.end - out.start) >= pd.Timedelta(days=1)).all() and out.b.dtype == "int64"
    assert ((out.end - out.start) == pd.Timedelta(days=1)).mean() > 0.1  # the edge comes back


def test_breaking_training_rows_are_named_counted_dropped_or_fixed(gems):
    broken = gems.copy()
    broken.loc[:9, "z"] = broken.loc[:9, "x"] + 0.5
    rule = {"type": "inequality", "low": "z", "high": "x", "strict": True}
    with pytest.raises(DataError, match=r"constraint #1 inequality\(z < x\): 10 of 1500 "
                                        r"training rows break it \(row 0: z=.*violations"):
        synth.create_synthesizer("gaussian_copula").fit(broken, {"constraints": [rule]})
    with pytest.warns(UserWarning, match="dropped 10 of 1500"):
        cs = ConstraintSet(_md(broken, [{**rule, "violations": "drop"}]))
        assert len(cs.fit(broken)) == 1490
    cs = ConstraintSet(_md(broken, [{"type": "range", "column": "depth", "low": 58,
                                     "high": 64, "violations": "fix"}]))
    fixed = cs.reverse(cs.fit(gems))  # the rows the model learns, back in the user's form
    assert len(fixed) == 1500 and fixed.depth.between(58, 64).all()
    assert (fixed.depth == 58).sum() == (gems.depth <= 58).sum()  # moved to the bound
    with pytest.raises(MetadataError, match="cannot fix"):
        ConstraintSet(_md(gems, [{"type": "one_hot", "columns": ["is_Fair", "is_Good"],
                                  "violations": "fix"}]))


def _md(df: pd.DataFrame, rules: list[dict]) -> Metadata:
    from synth.data.metadata import detect_metadata

    return detect_metadata(df, {"constraints": rules})


@pytest.mark.parametrize("rule, message", [
    ({"type": "inequality", "low": "z", "high": "nope"}, "'nope' is not a column"),
    ({"type": "inequality", "low": "z", "high": "color"}, "color' is categorical"),
    ({"type": "positive", "column": "x", "strict": "yes"}, "'strict' must be true or false"),
    ({"type": "range", "column": "depth", "low": 80, "high": 40}, "low .* must be below high"),
    ({"type": "range", "column": "depth"}, "give a bound"),
    ({"type": "wobbly", "column": "x"}, "unknown type 'wobbly'; valid types: custom, "),
    ({"type": "fixed_increments", "column": "x", "increment": 0}, "positive number"),
    ({"type": "positive", "column": "x", "size": 3}, "unknown key 'size'"),
    ({"constraint_class": "Unique", "constraint_parameters": {"column_names": ["x"]}},
     "SDV constraint_class 'Unique' is not supported"),
    ({"type": "custom", "columns": ["x"], "is_valid": "no_such_module:f"}, "cannot be imported"),
])
def test_a_bad_rule_gets_an_error_naming_it(gems, rule, message):
    with pytest.raises(MetadataError, match=message):
        ConstraintSet(_md(gems, [rule]))


def test_a_second_rule_on_a_rewritten_column_is_checked(gems):
    """x is learned as a distance above z, so `x <= 9` cannot be a rewrite too: it is checked
    where x still has its own form, and generated rows that break it are drawn again."""
    rules = [{"type": "inequality", "low": "z", "high": "x"},
             {"type": "range", "column": "x", "high": 9}]
    model = synth.create_synthesizer("gaussian_copula").fit(gems, {"constraints": rules})
    assert [i.filters for i in model.constraints.items] == [True, False]
    out = model.sample(3000, seed=2)
    assert (out.z <= out.x).all() and (out.x <= 9).all()
    assert model.sample(1000, seed=2, batch_size=300).equals(out.iloc[:1000])


def test_sdv_dicts_read_as_ours(gems):
    sdv = [{"constraint_class": "Inequality", "constraint_parameters": {
               "low_column_name": "z", "high_column_name": "x", "strict_boundaries": True}},
           {"constraint_class": "ScalarInequality", "constraint_parameters": {
               "column_name": "depth", "relation": ">=", "value": 43}},
           {"constraint_class": "ScalarRange", "constraint_parameters": {
               "column_name": "table", "low_value": 40, "high_value": 100,
               "strict_boundaries": False}},
           {"constraint_class": "FixedCombinations", "constraint_parameters": {
               "column_names": ["color", "clarity"]}}]
    cs = ConstraintSet(_md(gems, sdv))
    assert [i.describe() for i in cs.items] == [
        "inequality(z < x)", "range(43 <= depth)", "range(40 <= table <= 100)",
        "fixed_combinations(color, clarity)"]


def dear_enough(df: pd.DataFrame) -> np.ndarray:
    """A custom filter (importable as tests.unit.test_constraints:dear_enough): at least 2,000
    per carat, which 89% of the real diamonds cost."""
    return (df["price"] / df["carat"] >= 2000).to_numpy()


def test_custom_filter_and_reversible_pair(gems):
    rules = [{"type": "custom", "columns": ["price", "carat"], "violations": "drop",
              "is_valid": "tests.unit.test_constraints:dear_enough"},
             {"type": "custom", "columns": ["price"], "transform": lambda d: np.log(d)
              .rename(columns={"price": "log_price"}),
              "reverse": lambda d: np.exp(d).round().astype("int64")
              .rename(columns={"log_price": "price"})}]
    with pytest.warns(UserWarning, match="dropped 1"):  # the real rows below 2,000 a carat
        model = synth.create_synthesizer("gaussian_copula").fit(gems, {"constraints": rules})
    out = model.sample(1000, seed=4)
    assert dear_enough(out).all() and model.rejected_rows > 0  # the filter rejects
    assert model.sample(700, seed=4, batch_size=100).equals(out.iloc[:700])
    assert out.price.dtype == "int64" and (out.price > 0).all()
    with pytest.raises(MetadataError, match="is a Python function"):
        model.save("unused")
