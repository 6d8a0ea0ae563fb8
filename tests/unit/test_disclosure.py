"""Membership disclosure (El Emam et al. 2022) on real Adult rows: synthetic data that copies
its training rows discloses membership, fresh real rows from the same population do not; the
relative F1 is the paper's formula against the naive adversary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import synth
from synth.metrics.bands import verdicts
from synth.metrics.disclosure import membership_disclosure

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def parts() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(DATA / "adult_train.csv.gz").sample(9000, random_state=0)
    return df.iloc[:3000], df.iloc[3000:6000], df.iloc[6000:]  # train, holdout, fresh


def test_copies_disclose_membership_and_fresh_rows_do_not(parts):
    train, holdout, fresh = parts
    copied = membership_disclosure(train, holdout, train, rows=1000)
    assert copied["membership_disclosure_identified"] > 0.9  # every member matches itself
    assert copied["membership_disclosure"] > 0.2
    p = 1.0  # all members claimed; non-members claimed at `fp`: check the paper's formula
    fp = 1.0 - copied["membership_disclosure_identified"]
    precision = p / (p + fp)
    f1 = 2 * precision / (precision + 1)
    assert copied["membership_disclosure_f1"] == pytest.approx(f1, abs=1e-9)
    assert copied["membership_disclosure"] == pytest.approx((f1 - 2 / 3) / (1 - 2 / 3))
    same_population = membership_disclosure(train, holdout, fresh, rows=1000)
    assert abs(same_population["membership_disclosure_identified"]) < 0.05
    assert same_population["membership_disclosure"] <= 0.0
    few = membership_disclosure(train, holdout, fresh, ["age", "sex", "race"], rows=1000)
    assert few["membership_disclosure_f1"] == pytest.approx(2 / 3, abs=0.03)  # all match


def test_the_evaluation_reports_it_and_caps_the_privacy_verdict(parts):
    train, holdout, _ = parts
    report = synth.evaluate(train, train, holdout=holdout, metrics=("privacy",))
    assert report.scores["membership_disclosure"] > 0.2
    assert verdicts({"dcr_ratio": 1.0, "membership_disclosure": 0.1})["privacy"]["band"] == \
        "good"  # distances fine, disclosure under the paper's 0.2: good; over it: capped
    assert verdicts({"dcr_ratio": 1.0, "membership_disclosure": 0.3})["privacy"]["band"] == \
        "fair"
    with pytest.raises(Exception, match="'zip' is not a column"):
        synth.evaluate(train, train, holdout=holdout, metrics=("privacy",),
                       quasi_identifiers=("zip",))
