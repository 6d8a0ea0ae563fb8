"""The one seeding rule (synth.models.seeding): a seed's rows do not depend on how they are
asked for, so `sample(n, start=s)` is rows s..s+n of `sample(s + n)`, across a segment
boundary, with fixed conditions (rejection), per-row conditions and for images."""

from __future__ import annotations

import pandas as pd
import pytest

from synth.errors import DataError
from synth.models.seeding import SEGMENT_ROWS, block_seed, check_start, group_seed


def _tail(df: pd.DataFrame, start: int) -> pd.DataFrame:
    return df.iloc[start:].reset_index(drop=True)


@pytest.mark.parametrize("conditions", [None, {"sex": "Female"}, {"age": {"min": 30, "max": 50}}])
def test_a_slice_of_the_stream_equals_the_same_rows_of_one_call(fitted, conditions):
    model = fitted("gaussian_copula")
    start, n = SEGMENT_ROWS - 700, 1500  # ends in the second segment
    whole = model.sample(start + n, conditions=conditions, seed=3)
    part = model.sample(n, conditions=conditions, seed=3, start=start)
    pd.testing.assert_frame_equal(part, _tail(whole, start))
    chunks = list(model.iter_sample(start + n, conditions=conditions, seed=3, chunk_rows=9000))
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)


def test_per_row_conditions_slice_like_one_call(fitted):
    model = fitted("ctgan")
    table = pd.DataFrame({"sex": (["Female", "Male", None] * 400)[:1000],
                          "income": ([">50K"] * 3 + ["<=50K"] * 7) * 100})
    whole = model.sample(1000, conditions=table, seed=5)
    assert (whole["sex"][table["sex"].notna()] == table["sex"].dropna()).all()
    part = model.sample(400, conditions=table.iloc[:1000], seed=5, start=600)
    pd.testing.assert_frame_equal(part, _tail(whole, 600))
    with pytest.raises(Exception, match="must equal"):
        model.sample(400, conditions=table.iloc[:900], seed=5, start=600)


def test_ids_continue_from_start(adult_small):
    import synth

    data = adult_small.head(500).assign(pid=range(500))
    model = synth.create_synthesizer("gaussian_copula").fit(data)
    whole = model.sample(300, seed=1)
    part = model.sample(100, seed=1, start=200)
    pd.testing.assert_frame_equal(part, _tail(whole, 200))
    assert part["pid"].tolist() == whole["pid"].tolist()[200:]


def test_segment_zero_keeps_the_version_1_keys_and_other_segments_differ():
    from synth.models.seeding import derive_seed

    assert block_seed(7, 3) == derive_seed(7, 3)
    assert block_seed(7, 3, segment=1) != block_seed(7, 3)
    assert group_seed(7, 0, {"a": 1}) == group_seed(7, 0, {"a": 1})
    assert group_seed(7, 0, {"a": 1}) != group_seed(7, 1, {"a": 1})
    with pytest.raises(DataError, match="start"):
        check_start(-1)
