"""synth.monitor in this process on real Adult rows: a baseline of the training file, checks
of the real test file (no alarm), of a batch with planted changes (each flagged on its column,
nothing else), and of a synthetic batch; rules users edit, history, reports, bad input. The
Ray job over S3 is in tests/integration/test_monitor_job.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synth.monitor as mon
from synth.errors import DataError

DATA = Path(__file__).resolve().parents[2] / "data"
TRAIN, TEST = str(DATA / "adult_train.csv.gz"), str(DATA / "adult_test.csv.gz")


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("monitor") / "baseline")
    mon.baseline(TRAIN, output=out)
    return out


def planted(test: pd.DataFrame) -> pd.DataFrame:
    """Ages + 10 years; 5% of occupations a label never seen; 5% nulls in hours_per_week."""
    df = test.copy()
    rng = np.random.default_rng(0)
    df["age"] = df["age"] + 10
    df.loc[rng.choice(len(df), len(df) // 20, replace=False), "occupation"] = "Astronaut"
    df["hours_per_week"] = df["hours_per_week"].astype(float)
    df.loc[rng.choice(len(df), len(df) // 20, replace=False), "hours_per_week"] = np.nan
    return df


def test_baseline_describes_the_training_file(base_dir):
    stats = json.loads(Path(base_dir, "statistics.json").read_text())
    rules = json.loads(Path(base_dir, "constraints.json").read_text())["constraints"]
    adult = pd.read_csv(TRAIN)
    assert stats["rows"] == len(adult) == stats["columns"]["age"]["count"]
    age = stats["columns"]["age"]
    assert (age["min"], age["max"]) == (adult.age.min(), adult.age.max())
    assert age["mean"] == pytest.approx(adult.age.mean())
    assert age["std"] == pytest.approx(adult.age.std(ddof=0))
    assert np.allclose(age["quantiles"][1:-1], np.quantile(adult.age, np.linspace(0, 1, 101))
                       [1:-1], atol=1.0)  # a 50k-value sample of 32k rows is all of them
    work = stats["columns"]["workclass"]
    assert work["completeness"] == pytest.approx(adult.workclass.notna().mean())
    assert work["categories"] == adult.workclass.value_counts().to_dict()
    kinds = {(r["column"], r["type"]) for r in rules}
    assert {("age", "kind"), ("age", "range"), ("sex", "categories"),
            ("workclass", "completeness")} <= kinds
    complete = next(r for r in rules if r["column"] == "age" and r["type"] == "completeness")
    assert complete["min"] == 1.0


def test_real_test_file_raises_no_alarm(base_dir, tmp_path):
    result = mon.check(base_dir, TEST, output=str(tmp_path / "test"))
    assert not result.alarm and not result.violations, result.flagged
    assert all(d["psi"] < 0.02 for d in result.drift.values())


def test_planted_changes_are_flagged_on_their_columns_and_nothing_else(base_dir, tmp_path):
    result = mon.check(base_dir, planted(pd.read_csv(TEST)), output=str(tmp_path / "shift"),
                       examples=3)
    assert set(result.flagged) == {"age", "occupation", "hours_per_week"}
    assert any(r.startswith("psi") for r in result.flagged["age"])
    assert result.drift["age"]["ks"] > 0.2 and result.drift["age"]["wasserstein"] > 0.5
    by_rule = {(v["column"], v["rule"]["type"]): v for v in result.violations}
    unseen = by_rule[("occupation", "categories")]
    n = len(pd.read_csv(TEST)) // 20
    assert unseen["count"] == n and unseen["examples"] == ["Astronaut"]
    nulls = by_rule[("hours_per_week", "completeness")]
    assert nulls["count"] == n and nulls["observed"] == pytest.approx(1 - n / 16281, abs=1e-4)
    assert ("age", "range") in by_rule  # 80+ year-olds became 90+, past the widened range
    assert result.drift["hours_per_week"]["psi"] < 0.02  # nulls are not drift
    doc = json.loads((tmp_path / "shift" / "violations.json").read_text())
    assert len(doc) == len(result.violations)
    quiet = mon.check(base_dir, planted(pd.read_csv(TEST)), output=str(tmp_path / "q"),
                      examples=0)
    assert all(v["examples"] == [] for v in quiet.violations)  # no real values in the file


def test_a_synthetic_batch_keeps_the_rules_and_stays_under_psi(base_dir, fitted):
    fake = fitted("gaussian_copula").sample(10_000, seed=3)
    result = mon.check(base_dir, fake, history=None)
    assert not result.violations, result.violations
    assert all(d["psi"] < 0.2 for d in result.drift.values()), result.drift


def test_figures_do_not_depend_on_how_rows_are_split(base_dir):
    df = planted(pd.read_csv(TEST))
    whole = mon.check(base_dir, df, history=None)
    pieces = mon.check(base_dir, df, history=None, batch_rows=1000)
    assert whole.drift == pieces.drift
    assert whole.violations == pieces.violations


def test_history_and_report(base_dir, tmp_path):
    hist = str(tmp_path / "history.parquet")
    mon.check(base_dir, TEST, output=str(tmp_path / "a"), history=hist)
    mon.check(base_dir, planted(pd.read_csv(TEST)), output=str(tmp_path / "b"), history=hist)
    table = pd.read_parquet(hist)
    assert len(table) == 2 * table["column"].nunique() and table.check.tolist()[::15] == [1, 2]
    assert table[table.column == "age"].flagged.tolist() == [False, True]
    html = (tmp_path / "b" / "report.html").read_text()
    assert "ALARM: 3 column(s)" in html and 'data-figure="drift-history"' in html
    assert html.count('data-figure="drift-column"') == 6 and "Astronaut" in html


def test_edited_rules_are_used_and_checked(base_dir, tmp_path):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(base_dir, edited)
    path = edited / "constraints.json"
    rules = json.loads(path.read_text())["constraints"]
    rules.append({"column": "hours_per_week", "type": "range", "min": 10, "max": 60})
    path.write_text(json.dumps({"constraints": rules}))
    result = mon.check(str(edited), TEST, history=None)
    test = pd.read_csv(TEST)
    want = int(((test.hours_per_week < 10) | (test.hours_per_week > 60)).sum())
    assert [v["count"] for v in result.violations] == [want] and result.alarm
    rules[-1] = {"column": "hours", "type": "range", "min": 1, "max": 2}
    path.write_text(json.dumps({"constraints": rules}))
    with pytest.raises(DataError, match=r"rule \d+: column 'hours' is not in the baseline"):
        mon.Baseline.load(str(edited))
    rules[-1] = {"column": "age", "type": "ranges", "min": 1}
    path.write_text(json.dumps({"constraints": rules}))
    with pytest.raises(DataError, match="type must be one of kind, completeness, range"):
        mon.Baseline.load(str(edited))


def test_datetimes_and_bad_input(tmp_path):
    ts = pd.date_range("2026-01-01", periods=2000, freq="h", tz="UTC")
    df = pd.DataFrame({"ts": ts, "v": np.arange(2000.0)})
    base = mon.baseline(df, output=str(tmp_path / "b"))
    rule = next(r for r in base.constraints if r["type"] == "range" and r["column"] == "ts")
    assert rule["min"].startswith("2025-12-") and rule["max"].startswith("2026-03-")
    later = df.assign(ts=df.ts + pd.Timedelta(days=365))
    result = mon.check(str(tmp_path / "b"), later, history=None)
    assert "ts" in result.flagged and result.drift["ts"]["ks"] == 1.0
    assert "v" not in result.flagged
    with pytest.raises(DataError, match="no column 'v' of the baseline"):
        mon.check(str(tmp_path / "b"), df[["ts"]], history=None)
    with pytest.raises(DataError, match="is not a baseline: no statistics.json"):
        mon.check(str(tmp_path / "nothing"), df)


def test_the_check_report_draws_its_charts_in_a_headless_browser(base_dir, tmp_path):
    """Chromium lays out a real check report (after two checks, so the history is drawn): the
    drift bars of the columns that moved and the history lines, on a laptop's width."""
    import os

    from scripts import headless

    if headless.browser() is None:  # make test installs it; CI must not skip this test
        if os.environ.get("CI"):
            pytest.fail("no Chromium on PATH: scripts/chromium.sh installs it")
        pytest.skip("no Chromium on PATH (scripts/chromium.sh installs it)")
    hist = str(tmp_path / "history.parquet")
    mon.check(base_dir, TEST, history=hist)
    mon.check(base_dir, planted(pd.read_csv(TEST)), output=str(tmp_path / "c"), history=hist)
    page = headless.layout(tmp_path / "c" / "report.html")
    assert page["width"] <= page["viewport"] == headless.LAPTOP[0]
    heads = [s["text"] for s in page["sections"]]
    assert heads[:3] == ["Flagged columns", "Rule violations", "Drift per column"]
    kinds = [f["kind"] for f in page["figures"]]
    assert kinds.count("drift-column") == 6 and kinds.count("drift-history") == 1
    assert {f["column"] for f in page["figures"]} >= {"age", "occupation"}
    for fig in page["figures"]:
        box = fig["box"]
        assert box and box["width"] >= 200 and box["height"] >= 100, fig
        assert box["right"] <= page["viewport"] and fig["marks"] > 0, fig


def test_bias_figures_are_the_real_rates_and_parity(tmp_path):
    """A 'synthetic' table that gives every woman the positive outcome: the report's rates and
    parity figures are the ones pandas computes, on both sides, and the CLI writes them."""
    from jobs import monitor as job

    real = pd.read_csv(TRAIN)
    fake = real.copy()
    fake.loc[fake.sex == "Female", "income"] = ">50K"
    doc = mon.bias(real, fake, ["sex", "race"], target="income")
    assert doc["positive"] == ">50K"  # the rarest value by default
    sex = {g["group"]: g for g in doc["attributes"]["sex"]["groups"]}
    rate = real.groupby("sex")["income"].apply(lambda s: (s == ">50K").mean())
    assert sex["Female"]["real_rate"] == pytest.approx(rate["Female"])
    assert sex["Female"]["synthetic_rate"] == 1.0
    assert sex["Male"]["real_share"] == pytest.approx((real.sex == "Male").mean())
    parity = doc["attributes"]["sex"]["parity"]
    assert parity["real"]["difference"] == pytest.approx(rate.max() - rate.min())
    assert parity["real"]["ratio"] == pytest.approx(rate.min() / rate.max())
    assert parity["synthetic"]["difference"] == pytest.approx(1 - rate["Male"])
    assert sex["Male"]["shapes"] == 1.0 and sex["Female"]["shapes"] < 1.0  # same rows
    real.to_csv(tmp_path / "real.csv", index=False)
    fake.to_parquet(tmp_path / "fake.parquet")
    assert job.main(["bias", "--real", str(tmp_path / "real.csv"), "--synthetic",
                     str(tmp_path / "fake.parquet"), "--sensitive", "sex,race", "--target",
                     "income", "--output", str(tmp_path / "bias")]) == 0
    html = (tmp_path / "bias" / "bias.html").read_text()
    assert html.count('data-figure="bias-rates"') == 2 and "Amer-Indian-Eskimo" in html
    written = json.loads((tmp_path / "bias" / "bias.json").read_text())
    assert written["attributes"]["sex"]["parity"]["synthetic"] == pytest.approx(
        doc["attributes"]["sex"]["parity"]["synthetic"])


def test_rebalance_gives_the_shares_asked_for(fitted):
    model = fitted("argn")
    rows = mon.rebalance(model, 1001, "sex", seed=4)
    assert rows.sex.value_counts().to_dict() == {"Female": 501, "Male": 500} or \
        rows.sex.value_counts().to_dict() == {"Male": 501, "Female": 500}
    skew = mon.rebalance(model, 1000, "race", {"Black": 3, "White": 1}, seed=4)
    assert skew.race.value_counts().to_dict() == {"Black": 750, "White": 250}
    assert rows.equals(mon.rebalance(model, 1001, "sex", seed=4))  # seeded
    assert mon.rebalance_counts(10, ["a", "b", "c"]) == {"a": 4, "b": 3, "c": 3}
    # by quota, a group's rows are the first rows of that group in the unconditioned stream
    quota = mon.rebalance(model, 1000, "sex", seed=4, method="quota")
    plain = model.sample(20_000, seed=4)
    want = pd.concat([plain[plain.sex == g].head(500) for g in ("Female", "Male")])

    def rows(df: pd.DataFrame) -> pd.DataFrame:
        return df.sort_values(list(df.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(quota), rows(want))
    by_conditions = mon.rebalance(model, 1000, "sex", seed=4, method="conditions")
    assert by_conditions.sex.value_counts().to_dict() == {"Female": 500, "Male": 500}
    rare = mon.rebalance(model, 2000, "race", seed=4)  # auto: rare races by conditions
    assert rare.race.value_counts().nunique() == 1 and len(rare) == 2000
    from synth.errors import ConditionError

    with pytest.raises(ConditionError, match="'Martian' is not a group; groups: "):
        mon.rebalance(model, 10, "race", {"Martian": 1.0})
    with pytest.raises(ConditionError, match="'age' is not a categorical column"):
        mon.rebalance(model, 10, "age")


def test_rebalance_cli_writes_the_rows_with_the_shares_asked_for(fitted, tmp_path):
    from jobs import monitor as job

    fitted("gaussian_copula").save(str(tmp_path / "m"))
    out = tmp_path / "rows.parquet"
    args = ["rebalance", "--model", str(tmp_path / "m"), "--output", str(out), "column=sex"]
    assert job.main([*args, "rows=999", 'targets={"Female": 2, "Male": 1}']) == 0
    rows = pd.read_parquet(out)
    assert rows.sex.value_counts().to_dict() == {"Female": 666, "Male": 333}
    assert list(rows.columns) == list(fitted("gaussian_copula").sample(5, seed=0).columns)
    assert job.main([*args, "rows=10", "targets=equal"]) == 2  # neither parity nor shares
    assert job.main([*args, "rows=10", 'targets={"Martian": 1}']) == 2
    assert job.main([*args, "rows=0"]) == 2


def test_condition_report_says_how_conditions_are_honoured(fitted, adult_small, tmp_path):
    from jobs import monitor as job
    from synth.errors import ConditionError

    model = fitted("argn")
    doc = mon.condition_report(model, adult_small, [{"sex": "Female"},
                                                    {"age": {"min": 30, "max": 40}}])
    female, ages = doc["conditions"]
    assert female["honoured"] == 1.0 and ages["honoured"] == 1.0  # imposed, not hoped for
    assert female["rejected_rows"] == 0 and female["real_rows"] == (
        adult_small.sex == "Female").sum()
    assert "sex" not in female["columns"] and set(female["worst"]) <= set(female["columns"])
    # the condition's effect carried over: relationship under sex=Female is far from the
    # unconditioned rows' (Husband), closer to the real women's
    rel = female["columns"]["relationship"]
    assert rel["conditioned"] > rel["unconditioned"] + 0.2
    with pytest.raises(ConditionError, match="matches 0 real rows"):
        mon.condition_report(model, adult_small, [{"age": {"min": 200, "max": 300}}])
    path = model.save(str(tmp_path / "argn"))
    adult_small.to_csv(tmp_path / "real.csv", index=False)
    assert job.main(["conditions", "--real", str(tmp_path / "real.csv"), "--model", path,
                     "--conditions", '{"income": ">50K"}', "--output",
                     str(tmp_path / "c")]) == 0
    html = (tmp_path / "c" / "conditions.html").read_text()
    assert 'data-figure="condition-columns"' in html and "&gt;50K" in html
    assert job.main(["conditions", "--real", str(tmp_path / "real.csv"), "--model", path,
                     "--conditions", "[1, 2]", "--output", str(tmp_path / "d")]) == 2


def test_bias_and_conditions_reports_draw_in_a_headless_browser(fitted, adult_small, tmp_path):
    import os

    from scripts import headless
    from synth.monitor.report import render_bias, render_conditions

    if headless.browser() is None:  # make test installs it; CI must not skip this test
        if os.environ.get("CI"):
            pytest.fail("no Chromium on PATH: scripts/chromium.sh installs it")
        pytest.skip("no Chromium on PATH (scripts/chromium.sh installs it)")
    model = fitted("gaussian_copula")
    fake = model.sample(4000, seed=2)
    pages = {"bias": render_bias(mon.bias(adult_small, fake, ["sex", "race"], "income")),
             "conditions": render_conditions(mon.condition_report(
                 model, adult_small, [{"sex": "Female"}, {"income": ">50K"}]))}
    want = {"bias": {"bias-shares": 2, "bias-rates": 2}, "conditions": {"condition-columns": 2}}
    for name, html in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(html)
        page = headless.layout(path)
        assert page["width"] <= page["viewport"] == headless.LAPTOP[0], name
        kinds = [f["kind"] for f in page["figures"]]
        assert {k: kinds.count(k) for k in want[name]} == want[name]
        for fig in page["figures"]:
            box = fig["box"]
            assert box and box["width"] >= 200 and box["height"] >= 100, fig
            assert box["right"] <= page["viewport"] and fig["marks"] > 0, fig
