"""`binary_diffusion` and `potnet`: the bit layout is lossless, guidance meets the guide
column natively, potnet's transport loss is the exact optimal-transport cost, and bad settings
are named. Real Adult rows; the generic contract (schema, seeds, save/load without pickle,
column kinds, conditions by rejection) is in test_models.py."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import wasserstein_distance

import synth
from synth.errors import ConfigError
from synth.models.binary_diffusion.bits import BitLayout
from synth.models.binary_diffusion.model import sampling_levels
from synth.models.binary_diffusion.network import flip_schedule
from synth.models.potnet.transport import joint_w1, marginal_w1


def test_bits_bring_numbers_categories_and_nulls_back(adult_small):
    real = adult_small.copy()
    real.loc[::7, "hours_per_week"] = np.nan
    model = synth.create_synthesizer("binary_diffusion").prepare(real)
    tr = model.transformer
    layout = BitLayout(tr, numeric_bits=32)
    bits = layout.encode(tr, real)
    assert set(np.unique(bits)) <= {0.0, 1.0} and bits.shape == (len(real), layout.width)
    numeric, null, cats = layout.decode(bits)
    back = tr.decode(numeric, null, cats, np.zeros((len(real), len(tr.random_columns))))
    for col in real.columns:  # integers and categories exactly, nulls where they were
        pd.testing.assert_series_equal(back[col], real[col], check_dtype=False)


def test_few_bits_quantise_and_a_pattern_past_the_last_level_wraps():
    real = pd.DataFrame({"x": np.linspace(0.0, 10.0, 101), "c": list("abc") * 33 + ["a", "b"]})
    model = synth.create_synthesizer("binary_diffusion").prepare(real)
    layout = BitLayout(model.transformer, numeric_bits=4)
    numeric, _, _ = layout.decode(layout.encode(model.transformer, real))
    assert np.abs(numeric[:, 0] - real["x"]).max() <= 10.0 / 15 / 2 + 1e-9  # 16 levels
    assert len(np.unique(numeric[:, 0])) == 16
    ones = np.ones((1, layout.width), dtype=np.float32)  # category bits 11 = code 3 of 3 levels
    assert layout.decode(ones)[2][0, 0] == 0


def test_noise_schedule_and_sampling_levels():
    flips = flip_schedule(1000, 100)
    assert flips[0] == pytest.approx(0.01) and flips[-1] == pytest.approx(0.5)
    assert (flips.diff() > 0).all()
    levels = sampling_levels(1000, 10)
    assert levels[0] == 999 and levels[-1] == 0 and levels == sorted(levels, reverse=True)


def test_a_guided_model_meets_its_guide_column_natively(adult_small):
    model = synth.create_synthesizer("binary_diffusion", epochs=3, dim=64, sample_steps=5,
                                     lr=1e-3, guide_column="income").fit(adult_small)
    out = model.sample(600, conditions={"income": ">50K"}, seed=0)
    assert (out["income"] == ">50K").all() and model.rejected_rows == 0
    free = model.sample(4000, seed=0)  # labels drawn by the training frequencies
    real_share = (adult_small["income"] == ">50K").mean()
    assert abs((free["income"] == ">50K").mean() - real_share) < 0.03
    cfg = synth.create_synthesizer("binary_diffusion", **{**model.config.__dict__,
                                                          "guidance_scale": 2.0})
    cfg.transformer, cfg.network = model.transformer, model.network
    guided = cfg.sample(300, conditions={"income": "<=50K"}, seed=1)
    assert (guided["income"] == "<=50K").all() and not guided.equals(
        model.sample(300, conditions={"income": "<=50K"}, seed=1))


@pytest.mark.parametrize("name, params, match", [
    ("binary_diffusion", {"draw": "argmax"}, "draw must be"),
    ("binary_diffusion", {"sample_steps": 2000}, "sample_steps must be"),
    ("binary_diffusion", {"numeric_bits": 64}, "numeric_bits"),
    ("potnet", {"penalty_decay": 0.0}, "penalty_decay"),
    ("potnet", {"hidden": ()}, "hidden"),
])
def test_bad_settings_are_named(name, params, match):
    with pytest.raises(ConfigError, match=match):
        synth.create_synthesizer(name, **params)


def test_a_guide_column_that_is_not_categorical_is_named(adult_small):
    with pytest.raises(ConfigError, match="guide_column 'age'"):
        synth.create_synthesizer("binary_diffusion", guide_column="age").fit(adult_small)


def test_transport_loss_is_the_exact_optimal_cost_and_has_gradients():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.rand(6, 3, generator=gen), torch.rand(6, 3, generator=gen)
    brute = min(sum((real[i] - fake[p[i]]).abs().sum() for i in range(6)) / 6
                for p in itertools.permutations(range(6)))
    fake.requires_grad_(True)
    cost = joint_w1(real, fake)
    assert float(cost.detach()) == pytest.approx(float(brute), rel=1e-6)
    cost.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    per_column = marginal_w1(real, fake.detach())
    for j in range(3):
        assert float(per_column[j]) == pytest.approx(
            wasserstein_distance(real[:, j].numpy(), fake[:, j].detach().numpy()), rel=1e-5)


def test_potnet_learns_the_marginals(fitted, adult_small):
    """A short fit already puts every category share near the real one (the marginal
    penalty)."""
    out = fitted("potnet").sample(4000, seed=0)
    for col in ("sex", "income"):
        real = adult_small[col].value_counts(normalize=True)
        fake = out[col].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert (real - fake).abs().max() < 0.06, col
