"""Fidelity from mergeable statistics: exact against direct formulas, equal to SDMetrics'
QualityReport on real data, and merge(partial(A), partial(B)) == partial(A ∪ B)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import ks_2samp

from synth.data.metadata import detect_metadata
from synth.metrics import scan as scn
from synth.metrics.counts import count, make_plan, merge_counts
from synth.metrics.fidelity import (
    fidelity_counts,
    ks_from_hist,
    pearson,
    shape_details,
    summarize,
)


def perturbed(df: pd.DataFrame, seed: int = 0, rows: int = 6000) -> pd.DataFrame:
    """Real rows with noise on numbers, swapped categories and some nulls: a stand-in for
    synthetic data that is close but not equal."""
    rng = np.random.default_rng(seed)
    out = df.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    for c in out.columns:
        if pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c] + rng.normal(0, out[c].std() * 0.2, len(out))
        else:
            swap = rng.random(len(out)) < 0.15
            out.loc[swap, c] = rng.permutation(out[c].to_numpy())[: swap.sum()]
    out.loc[rng.random(len(out)) < 0.03, out.columns[0]] = np.nan
    return out


@pytest.fixture(scope="module")
def pair(adult_small):
    return adult_small, perturbed(adult_small)


def sdmetrics_report(real, synthetic, md):
    pytest.importorskip("sdmetrics")
    from sdmetrics.reports import QualityReport

    meta = {"tables": {"t": {"columns": {c: {"sdtype": m.kind}
                                         for c, m in md.columns.items()}}}}
    report = QualityReport()
    report.generate({"t": real}, {"t": synthetic}, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return report.get_score(), props["Column Shapes"], props["Column Pair Trends"]


@pytest.mark.parametrize("data", ["adult", "credit"])
def test_quality_agrees_with_sdmetrics_on_real_data(data, adult_small, credit):
    real = adult_small if data == "adult" else credit.sample(4000, random_state=1)
    real = real.reset_index(drop=True)
    md = detect_metadata(real)
    for synthetic in (perturbed(real, 1), real.sample(frac=1.0, random_state=2)):
        ours, _ = summarize(*fidelity_counts(real, synthetic, md))
        quality, shapes, trends = sdmetrics_report(real, synthetic, md)
        assert abs(ours["column_shapes"] - shapes) < 0.005
        assert abs(ours["column_pair_trends"] - trends) < 0.005
        assert abs(ours["quality"] - quality) < 0.005


def test_ks_is_exact_and_bounded_when_sketched(pair):
    real, synthetic = pair
    md = detect_metadata(real)
    for cap, exact in ((50_000, True), (40, False)):
        plan = make_plan(md, scn.scan(real, md, cap=cap),
                         scn.scan(synthetic, md, cap=cap, sketch_continuous=False))
        rc, sc = count(real, md, plan, "real"), count(synthetic, md, plan, "synthetic")
        for c in ("age", "fnlwgt", "hours_per_week"):
            truth = ks_2samp(real[c].dropna(), synthetic[c].dropna()).statistic
            ks, bound = ks_from_hist(rc.hist[c], sc.hist[c])
            if exact:
                assert ks == pytest.approx(truth, abs=1e-12) and bound == 0.0
            else:
                assert plan.exact[c] is False and bound > 0
                assert abs(ks - truth) <= bound + 1e-12


def test_tv_with_a_capped_vocabulary_is_bounded(pair):
    real, synthetic = pair
    md = detect_metadata(real)
    exact = shape_details(*fidelity_counts(real, synthetic, md))["native_country"]["score"]
    plan = make_plan(md, scn.scan(real, md, cap=8),
                     scn.scan(synthetic, md, cap=8, sketch_continuous=False))
    got = shape_details(plan, count(real, md, plan, "real"),
                        count(synthetic, md, plan, "synthetic"))["native_country"]
    assert not plan.exact["native_country"] and got["error_bound"] > 0
    assert got["score"] >= exact and got["score"] - exact <= got["error_bound"] + 1e-12


def test_pearson_from_moments_matches_numpy(pair):
    real, _ = pair
    md = detect_metadata(real)
    plan, rc, _ = fidelity_counts(real, real, md)
    r = pearson(rc.moments[("age", "hours_per_week")])
    assert r == pytest.approx(np.corrcoef(real["age"], real["hours_per_week"])[0, 1], abs=1e-12)


def _split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = np.random.default_rng(seed).random(len(df)) < 0.37
    return df[cut], df[~cut]


@pytest.mark.parametrize("cap", [50_000, 60])
def test_scan_merge_equals_scan_of_union(pair, cap):
    real, synthetic = pair
    md = detect_metadata(real)
    for df in (real, synthetic):
        a, b = _split(df, cap)
        merged = scn.merge_scans(scn.scan(a, md, cap), scn.scan(b, md, cap), cap)
        whole = scn.scan(df, md, cap)
        assert all(merged[c].equals(whole[c]) for c in whole)
        if cap == 60:
            assert not whole["fnlwgt"].complete and len(whole["fnlwgt"].values) == 60


def test_count_merge_equals_count_of_union(pair):
    real, synthetic = pair
    md = detect_metadata(real)
    plan = make_plan(md, scn.scan(real, md), scn.scan(synthetic, md, sketch_continuous=False))
    for df, role in ((real, "real"), (synthetic, "synthetic")):
        a, b = _split(df, 3)
        merged = merge_counts(count(a, md, plan, role), count(b, md, plan, role))
        whole = count(df, md, plan, role)
        assert merged.rows == whole.rows and merged.nulls == whole.nulls
        for k in whole.hist:
            np.testing.assert_array_equal(merged.hist[k], whole.hist[k])
        for k in whole.cats:
            np.testing.assert_array_equal(merged.cats[k], whole.cats[k])
        for k in whole.tables:
            np.testing.assert_array_equal(merged.tables[k][0], whole.tables[k][0])
            np.testing.assert_array_equal(merged.tables[k][1], whole.tables[k][1])
        for k in whole.moments:
            np.testing.assert_allclose(merged.moments[k], whole.moments[k], rtol=1e-9)


def test_arrow_batches_count_like_pandas(pair):
    """The job hands Arrow batches (CSV/Parquet as read); the statistics must not change."""
    real, synthetic = pair
    md = detect_metadata(real)
    synthetic = synthetic.assign(sex=synthetic["sex"].where(synthetic.index % 7 > 0))  # nulls
    tables = [pa.Table.from_pandas(df, preserve_index=False) for df in (real, synthetic)]
    plan = make_plan(md, scn.scan(tables[0], md), scn.scan(tables[1], md, sketch_continuous=False))
    plan_pd = make_plan(md, scn.scan(real, md), scn.scan(synthetic, md, sketch_continuous=False))
    assert all(set(plan.vocab[c]) == set(plan_pd.vocab[c]) for c in plan.vocab)
    for df, table, role in ((real, tables[0], "real"), (synthetic, tables[1], "synthetic")):
        a, b = count(df, md, plan, role), count(table, md, plan, role)
        assert a.nulls == b.nulls and a.nulls["sex"] == (role == "synthetic") * b.nulls["sex"]
        for k in a.hist:
            np.testing.assert_array_equal(a.hist[k], b.hist[k])
        for k in a.cats:
            np.testing.assert_array_equal(a.cats[k], b.cats[k])
        for k in a.tables:
            np.testing.assert_array_equal(a.tables[k][1], b.tables[k][1])


def test_scores_move_the_right_way(adult_small):
    md = detect_metadata(adult_small)
    same, _ = summarize(*fidelity_counts(adult_small, adult_small, md))
    assert same["column_shapes"] == 1.0 and same["column_pair_trends"] == 1.0
    broken = adult_small.copy()
    broken["age"] = broken["age"] + 30
    worse, details = summarize(*fidelity_counts(adult_small, broken, md))
    assert details["column_shapes"]["age"]["score"] < 0.3
    assert details["column_shapes"]["sex"]["score"] == 1.0
    rng = np.random.default_rng(7)
    independent = adult_small.apply(lambda s: rng.permutation(s.to_numpy()))
    indep, _ = summarize(*fidelity_counts(adult_small, independent, md))
    assert indep["column_shapes"] == 1.0 and indep["column_pair_trends"] < 0.85
