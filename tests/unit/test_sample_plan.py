"""The streaming sample plan (which rows, conditions, seed and ids each part file gets) and the
typed Arrow schema of generated rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from jobs.ray_data.plan import allocate, make_plan
from synth.errors import ConditionError

COLUMNS = ["age", "sex", "income"]


def test_fixed_conditions_cut_into_files_with_global_offsets():
    plan = make_plan({"sex": "Female"}, 2500, 1000, COLUMNS)
    assert [(p.index, p.rows, p.first) for p in plan.parts] == [(0, 1000, 0), (1, 1000, 1000),
                                                               (2, 500, 2000)]
    assert plan.conditions_of(plan.parts[2]) == {"sex": "Female"} and plan.rows == 2500


def test_counts_are_exact_without_rows_and_weights_with_rows():
    table = pd.DataFrame({"income": [">50K", "<=50K", "<=50K"], "sex": [None, "Female", "Male"],
                          "count": [3, 0, 2]})
    exact = make_plan(table, None, 2, COLUMNS)
    assert [(p.rows, p.group) for p in exact.parts] == [(2, 0), (1, 0), (2, 1)]
    assert exact.groups == [{"income": ">50K"}, {"income": "<=50K", "sex": "Male"}]
    assert exact.run == [{"conditions": {"income": ">50K"}, "rows": 3},
                         {"conditions": {"income": "<=50K", "sex": "Male"}, "rows": 2}]
    scaled = make_plan(table, 1001, 10_000, COLUMNS)
    assert [p.rows for p in scaled.parts] == [601, 400] and scaled.rows == 1001
    assert [p.first for p in scaled.parts] == [0, 601]


def test_allocate_sums_exactly_and_keeps_proportions():
    out = allocate(10, np.array([1, 1, 1]))
    assert out.sum() == 10 and sorted(out) == [3, 3, 4]
    assert list(allocate(7, np.array([0, 5]))) == [0, 7]


def test_a_count_column_that_is_a_model_column_is_a_condition():
    table = pd.DataFrame({"count": [1, 2], "sex": ["Female", "Male"]})
    plan = make_plan(table, None, 10, [*COLUMNS, "count"])
    assert plan.table is not None and plan.rows == 2


def test_per_row_table_slices_in_order_and_hashes_its_content():
    table = pd.DataFrame({"sex": ["Female", "Female", "Male"]})
    plan = make_plan(table, None, 2, COLUMNS)
    assert [(p.rows, p.start, p.offset) for p in plan.parts] == [(2, 0, 0), (1, 2, 2)]
    # a part's conditions: the table up to its last row; sample(start=offset) reads its rows
    args = plan.sample_args(plan.parts[1], seed=7)
    assert args["conditions"]["sex"].tolist() == ["Female", "Female", "Male"]
    assert (args["start"], args["num_rows"], args["seed"]) == (2, 1, 7)
    other = make_plan(table.iloc[::-1].reset_index(drop=True), None, 2, COLUMNS)
    assert plan.run["table_sha256"] != other.run["table_sha256"]


@pytest.mark.parametrize("conditions, rows, message", [
    (None, None, "rows is required"),
    (pd.DataFrame({"sex": ["Female"], "count": [-1]}), None, "whole numbers"),
    (pd.DataFrame({"sex": ["Female"], "count": [1.5]}), None, "whole numbers"),
    (pd.DataFrame({"sex": ["Female"], "count": [0]}), None, "sums to 0"),
    (pd.DataFrame({"sex": ["Female", "Male"]}), 5, "must equal the conditions table's rows"),
    (pd.DataFrame({"sex": []}), None, "no rows"),
])
def test_bad_plans_are_refused(conditions, rows, message):
    with pytest.raises(ConditionError, match=message):
        make_plan(conditions, rows, 10, COLUMNS)


def test_generated_rows_get_one_typed_schema(adult_small):
    """Datetimes (written as strings or native), nullable ints, booleans and categories keep
    their types; a part that happens to draw only nulls keeps them too."""
    import synth
    from synth.data.arrow import arrow_schema, to_arrow

    rng = np.random.default_rng(0)
    n = 400
    data = pd.DataFrame({
        "visit": pd.date_range("2020-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
        "day": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%d/%m/%Y"),
        "kids": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)),
                         dtype="Int64"),
        "member": rng.random(n) < 0.5, "city": rng.choice(["Oslo", "Lima", None], n),
        "age": adult_small["age"].head(n).to_numpy()})
    model = synth.create_synthesizer("gaussian_copula").fit(data)
    df = model.sample(300, seed=2)
    table = to_arrow(df, model.transformer)
    types = {f.name: f.type for f in table.schema}
    assert types == {"visit": pa.timestamp("us"), "day": pa.date32(), "kids": pa.int64(),
                     "member": pa.bool_(), "city": pa.string(), "age": pa.int64()}
    assert table.column("kids").null_count == int(df["kids"].isna().sum()) > 0
    assert table.column("visit").to_pandas().dt.strftime("%Y-%m-%d %H:%M").tolist() == \
        df["visit"].tolist()
    nulls_only = df.head(5).assign(city=None)
    assert to_arrow(nulls_only, model.transformer).schema == arrow_schema(model.transformer)
