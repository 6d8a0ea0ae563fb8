"""`argn`: tokens that bring exact values and nulls back, conditions imposed natively (any
subset of columns, ranges cut to the range, per-row tables) with nothing rejected, the
sampling knobs, and clear errors. Real Adult rows; the generic contract (schema, seeds,
save/load without pickle, column kinds) is in test_models.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synth
from synth.errors import ConditionError, ConfigError
from synth.models.argn.tokens import fit_numeric
from synth.models.conditions import condition_mask, parse_conditions


def _accepts_every_row(model, conditions: dict) -> bool:
    """One block drawn with the model's plan meets the conditions on every row: nothing
    would be rejected."""
    import torch

    tr = model.transformer
    conds = parse_conditions(conditions, tr)
    numeric, null, cats = model._block(torch.Generator().manual_seed(0), model._plan(conds))
    df = tr.decode(numeric, null, cats, np.random.default_rng(0).random((len(numeric), 9)))
    return bool(condition_mask(df, conds, tr).all())


@pytest.mark.parametrize("conditions", [
    {"sex": "Female"},
    {"income": ">50K", "relationship": "Wife"},
    {"age": {"min": 30, "max": 40}},
    {"age": 37, "education": "Masters", "hours_per_week": {"min": 45}},
    {"capital_gain": 0},
])
def test_any_subset_of_columns_is_met_without_rejection(fitted, conditions):
    model = fitted("argn")
    assert _accepts_every_row(model, conditions)
    out = model.sample(600, conditions=conditions, seed=4)
    assert len(out) == 600 and model.rejected_rows == 0
    for column, value in conditions.items():
        if isinstance(value, dict):
            assert out[column].between(value.get("min", -np.inf), value.get("max", np.inf)).all()
        else:
            assert (out[column] == value).all()
    free = [c for c in ("fnlwgt", "occupation", "hours_per_week", "workclass")
            if c not in conditions]
    assert all(out[c].nunique() > 3 for c in free)  # the other columns still vary


def test_rejection_is_counted_for_a_model_that_rejects(fitted):
    """The counter the zero above is read from does count: TVAE meets conditions by rejection."""
    tvae = fitted("tvae")
    tvae.sample(200, conditions={"sex": "Female"}, seed=1)
    assert tvae.rejected_rows > 0


def test_a_range_is_never_left_and_edge_bins_are_cut(fitted, adult_small):
    model = fitted("argn")
    low, high = 150_000.5, 151_000.25  # inside one fnlwgt bin
    out = model.sample(300, conditions={"fnlwgt": {"min": low, "max": high}}, seed=1)
    assert out["fnlwgt"].between(low, high).all() and out["fnlwgt"].nunique() > 50


def test_per_row_conditions_are_met_row_by_row(fitted):
    model = fitted("argn")
    table = pd.DataFrame({"sex": ["Female", None, "Male"] * 50,
                          "age": [30, 52, None] * 50})
    out = model.sample(150, conditions=table, seed=3)
    assert (out["sex"][table["sex"].notna()] == table["sex"].dropna()).all()
    assert (out["age"][table["age"].notna()] == table["age"].dropna()).all()


def test_exact_values_and_nulls_come_back():
    """A column with 70% exact zeros and 10% nulls: both shares come back, and zeros are
    exact (no 1e-7 residue), while the continuous rest stays continuous."""
    rng = np.random.default_rng(0)
    n = 3000
    spend = np.where(rng.random(n) < 0.7, 0.0, np.round(rng.lognormal(5, 1, n), 2))
    spend[rng.random(n) < 0.1] = np.nan
    df = pd.DataFrame({"spend": spend, "group": rng.choice(["a", "b", "c"], n)})
    model = synth.create_synthesizer("argn", epochs=8).fit(df)
    out = model.sample(4000, seed=2)
    zero = (out["spend"] == 0).mean()
    real_zero = (df["spend"] == 0).mean()
    assert abs(zero - real_zero) < 0.05 and abs(out["spend"].isna().mean() - 0.1) < 0.04
    positive = out["spend"][out["spend"] > 0]
    assert positive.nunique() > 500 and positive.min() > 0


def test_tokens_of_a_numeric_column():
    x = np.array([0.0] * 50 + list(np.linspace(1, 100, 50)) + [np.nan] * 5)
    tok = fit_numeric(x, bins=4, sub_bins=3, exact_values=10, point_share=0.2)
    assert list(tok.points) == [0.0] and tok.has_null and tok.bins == 4
    codes = tok.encode(x)
    assert (codes[:50, 0] == 0).all() and (codes[-5:, 0] == tok.null_token).all()
    values, null = tok.decode(codes[:, 0], codes[:, 1], np.full(len(x), 0.5))
    assert (values[:50] == 0).all() and null[-5:].all() and not null[:-5].any()
    within = values[50:100]
    assert (np.abs(within - x[50:100]) <= np.diff(tok.edges).max()).all()


def test_numeric_tokens_have_ordinal_positions_and_old_models_still_load(fitted, tmp_path):
    x = np.array([0.0] * 50 + list(np.linspace(1, 100, 50)) + [np.nan] * 5)
    first, sub = fit_numeric(x, bins=4, sub_bins=3, exact_values=10, point_share=0.2).positions()
    # [point 0, null, 4 bins]: the value order from -1 to 1, the null token in the middle
    assert first[0] == -1 and first[1] == 0 and first[-1] == 1
    assert list(np.diff(first[[0, 2, 3, 4, 5]]) > 0) == [True] * 4
    assert list(sub) == [-1, 0, 1]
    model = fitted("argn")
    table = model.tokens.positions()
    age, sex = model.tokens.first_token["age"], model.tokens.first_token["sex"]
    assert table[age].any() and not table[sex].any()  # categories have no order
    import torch

    model.save(str(tmp_path / "m"))  # a model saved before the ordinal part: loads as zero
    blob = torch.load(tmp_path / "m" / "weights.pt", weights_only=True)
    del blob["network"]["direction"]
    torch.save(blob, tmp_path / "m" / "weights.pt")
    old = synth.load_synthesizer(str(tmp_path / "m"))
    assert not old.network.direction.any() and len(old.sample(50, seed=0)) == 50


def test_temperature_and_top_p_shape_the_draws(fitted, adult_small):
    model = fitted("argn")
    base = model.sample(3000, seed=5)
    cold = _with(model, temperature=0.5).sample(3000, seed=5)
    nucleus = _with(model, top_p=0.5).sample(3000, seed=5)
    rare = adult_small["native_country"].value_counts().index[5:]
    share = lambda df: df["native_country"].isin(rare).mean()  # noqa: E731
    assert share(cold) < share(base) and share(nucleus) < share(base)


def _with(model, **params):
    """The fitted model with other sampling knobs (the weights are shared)."""
    import copy

    other = copy.copy(model)
    other.config = type(model.config)(**{**model.config.__dict__, **params})
    return other


@pytest.mark.parametrize("params, match", [
    ({"temperature": 0}, "temperature must be > 0"),
    ({"top_p": 1.5}, "top_p must be in"),
    ({"bins": 0}, "bins and sub_bins"),
])
def test_bad_settings_are_named(params, match):
    with pytest.raises(ConfigError, match=match):
        synth.create_synthesizer("argn", **params)


def test_a_value_an_exact_column_never_took_is_named(fitted):
    with pytest.raises(ConditionError, match="age"):
        fitted("argn").sample(10, conditions={"age": 37.5}, seed=1)


def test_in_process_fit_stops_on_held_out_likelihood_and_keeps_the_best_epoch(adult_small):
    model = synth.create_synthesizer("argn", epochs=60, patience=2, lr=5e-3).fit(adult_small)
    scores = [h["validation"] for h in model.history]
    assert len(model.history) < 60  # stopped early
    best = int(np.argmax(scores))
    assert best < len(scores) - 1 and max(scores[best + 1:]) <= scores[best]
    # the weights kept are the best epoch's: its held-out score, recomputed
    import torch

    from synth.models.argn.network import token_loss
    from synth.models.argn.session import draw_ranks

    tokens = model.encode(adult_small)
    held = np.random.default_rng(0).permutation(len(tokens))[:len(tokens) // 10]
    x = torch.as_tensor(tokens[held])
    ranks = draw_ranks(len(x), len(model.tokens.columns), model.config.fixed_order_share,
                       torch.Generator().manual_seed(model.config.seed + 7919))
    with torch.no_grad():
        score = -float(token_loss(model.network(x, ranks), x))
    assert score == pytest.approx(scores[best], abs=1e-4)
    no_holdout = synth.create_synthesizer("argn", epochs=2, val_fraction=0).fit(adult_small)
    assert len(no_holdout.history) == 2 and "validation" not in no_holdout.history[0]


def test_a_head_that_got_worse_goes_back_to_its_best_weights(adult_small):
    """Per-head model selection: between two validations one head's output layer is spoiled;
    the validation puts that head's best weights back and leaves the others as they are."""
    from types import SimpleNamespace

    import torch

    from synth.models.argn.session import HeldOutLikelihood

    model = synth.create_synthesizer("argn", epochs=1, val_fraction=0).fit(adult_small)
    net, cfg = model.network, model.config
    tokens = model.encode(adult_small.head(500))
    hooks = HeldOutLikelihood("t", cfg, tokens, len(model.tokens.columns))
    session = SimpleNamespace(net=net, x=torch.as_tensor(tokens))
    first = hooks.validate(session)
    kept = {n: getattr(net, n).detach().clone() for n in ("w1", "b1", "w2", "b2")}
    with torch.no_grad():
        net.w2[3] += torch.randn_like(net.w2[3]) * 5  # head 3: much worse
        net.b2[0] -= 0.01 * net.b2[0].sign()  # head 0: a small change
    changed_b2 = net.b2.detach().clone()
    assert hooks.validate(session) >= first - 1e-6
    assert torch.equal(net.w2[3], kept["w2"][3])  # put back
    if hooks.best[0] < float("inf") and not torch.equal(net.b2[0], kept["b2"][0]):
        assert torch.equal(net.b2[0], changed_b2[0])  # head 0 improved: kept as it is
    assert torch.equal(net.w1, kept["w1"])


def test_rare_protection_never_replays_rare_categories(adult_small, tmp_path):
    counts = adult_small["native_country"].value_counts()
    rare = set(counts[counts < 20].index)
    assert rare  # Adult's 4,000 rows hold many countries seen fewer than 20 times
    model = synth.create_synthesizer("argn", epochs=3, rare_min_count=20).fit(adult_small)
    out = model.sample(6000, seed=1)
    assert not set(out["native_country"].dropna()) & rare
    assert (out["native_country"] == "_RARE_").any()  # their share, pooled
    ages = adult_small["age"].value_counts()
    assert not set(model.tokens.numeric["age"].points) & set(ages[ages < 20].index)
    with pytest.raises(ConditionError, match="rare"):
        model.sample(5, conditions={"native_country": sorted(rare)[0]}, seed=1)
    model.save(str(tmp_path / "m"))
    again = synth.load_synthesizer(str(tmp_path / "m")).sample(500, seed=2)
    pd.testing.assert_frame_equal(again, model.sample(500, seed=2))
    plain = synth.create_synthesizer("argn", epochs=3).fit(adult_small).sample(6000, seed=1)
    assert set(plain["native_country"].dropna()) & rare  # without it they do come back
