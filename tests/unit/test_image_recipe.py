"""The image GAN recipe (issue 18): DiffAugment (differentiable, the same transformations on
real and fake), the resize-convolution generator, the EMA generator that samples and is saved,
lazy R1, "auto" settings that follow the arch, and models saved before the recipe loading as
the DCGAN they were."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import synth
from synth.data.images import crops
from synth.errors import ConfigError
from synth.models.images.augment import diff_augment, parse_policy
from synth.models.images.networks import ResizeGenerator, make_generator
from synth.models.images.session import ImageSession
from synth.models.session import Shard

DATA = Path(__file__).resolve().parents[2] / "data"
TINY = {"image_size": 32, "epochs": 1, "batch_size": 16, "g_features": 8, "d_features": 8,
        "snapshot_every": 0}


@pytest.fixture(scope="module")
def digits():
    z = np.load(DATA / "mnist5k.npz")
    return z["images"][:160]


def test_augmentations_are_differentiable_and_do_what_they_say():
    torch.manual_seed(0)
    x = (torch.rand(8, 1, 16, 16) * 2 - 1).requires_grad_(True)
    out = diff_augment(x, parse_policy("color,translation,cutout"))
    out.sum().backward()
    assert out.shape == x.shape and x.grad is not None and x.grad.abs().sum() > 0
    ones = torch.ones(64, 1, 16, 16)
    cut = diff_augment(ones, ("cutout",))
    assert ((cut == 0).flatten(1).sum(1) > 0).all()  # a square is zeroed in every image
    assert ((cut == 0).flatten(1).sum(1) <= 64).all()  # at most half the side squared
    ramp = torch.arange(16.0).repeat(16, 1)[None, None].repeat(32, 1, 1, 1)
    moved = diff_augment(ramp, ("translation",))
    shifts = {int((moved[i, 0, 8] - ramp[0, 0, 8]).round().mode().values) for i in range(32)}
    assert len(shifts) > 1 and max(abs(s) for s in shifts) <= 2  # up to 1/8 of 16 pixels
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        parse_policy("color,flip")


def test_the_resize_generator_makes_every_size():
    for size in (32, 64, 128):
        g = make_generator("sngan", 16, 3, size, 1, 8)
        assert isinstance(g, ResizeGenerator)
        assert g(torch.randn(2, 16), torch.zeros(2, 3)).shape == (2, 1, size, size)
    with pytest.raises(ValueError, match="arch"):
        make_generator("stylegan9", 16, 0, 32, 1, 8)


def test_auto_settings_follow_the_arch():
    modern = synth.create_synthesizer("dcgan", arch="sngan").config.recipe()
    assert (modern.loss, modern.spectral_norm, modern.ema) == ("hinge", True, 0.999)
    assert modern.augment == ("color", "translation", "cutout")
    default = synth.create_synthesizer("dcgan").config.recipe()  # DCGAN + translation
    assert (default.loss, default.spectral_norm, default.augment, default.ema) == \
        ("bce", False, ("translation",), 0.0)
    plain = synth.create_synthesizer("dcgan", augment="").config.recipe()  # the reference
    assert (plain.loss, plain.spectral_norm, plain.augment, plain.ema) == \
        ("bce", False, (), 0.0)
    mixed = synth.create_synthesizer("dcgan", arch="dcgan", augment="translation",
                                     spectral_norm=True).config.recipe()
    assert mixed.augment == ("translation",) and mixed.spectral_norm
    with pytest.raises(ConfigError, match="unknown augmentation"):
        synth.create_synthesizer("dcgan", augment="rotate")


def test_the_ema_generator_samples_and_is_saved(digits, tmp_path):
    model = synth.create_synthesizer("dcgan", **TINY, arch="sngan", r1_gamma=1.0, r1_every=2)
    images, codes = model.prepare(digits)
    session = ImageSession(model, Shard(images, len(images), codes=codes), lambda m: m,
                           None, torch.device("cpu"))
    session.run_epoch()
    live = session.g.state_dict()
    ema = session.sampler().state_dict()
    assert session.sampler() is session.g_ema
    assert any(not torch.equal(live[k], ema[k]) for k in live)  # it averages, it lags
    state = session.state_dict()
    again = ImageSession(model, Shard(images, len(images), codes=codes), lambda m: m, None,
                         torch.device("cpu"))
    again.load_state_dict(state)
    for k, v in again.sampler().state_dict().items():
        assert torch.equal(v, ema[k])
    session.finish()
    model.save(str(tmp_path / "m"))
    loaded = synth.load_synthesizer(str(tmp_path / "m"))
    for k, v in loaded.generator.state_dict().items():
        assert torch.equal(v, ema[k])


def test_a_model_saved_before_the_recipe_loads_as_the_dcgan_it_was(digits, tmp_path):
    model = synth.create_synthesizer("dcgan", **TINY, arch="dcgan").fit(digits)
    path = tmp_path / "old"
    model.save(str(path))
    doc = json.loads((path / "config.json").read_text())
    for key in ("arch", "augment", "ema", "r1_gamma", "r1_every"):
        doc["params"].pop(key)
    doc["params"].update(loss="bce", spectral_norm=False)  # as the old files hold them
    (path / "config.json").write_text(json.dumps(doc))
    old = synth.load_synthesizer(str(path))
    assert old.config.arch == "dcgan" and old.config.recipe().spectral_norm is False
    assert (old.sample(6, seed=2).images == model.sample(6, seed=2).images).all()


def test_held_out_fid_selects_the_weights_and_max_minutes_ends_the_fit():
    """select_every: images held out of training (a fifth at most), their FID every K epochs
    and at the end in the history, the fit ending on the best one; max_minutes stops it."""
    z = np.load(DATA / "textures512.npz")
    images = np.concatenate([crops(z[k], 32, 60, seed=i) for i, k in enumerate(sorted(z))])
    model = synth.create_synthesizer("dcgan", image_size=32, g_features=8, d_features=8,
                                     batch_size=32, epochs=5, select_every=2,
                                     select_images=100, snapshot_every=0).fit(images)
    fids = {h["epoch"]: h["held_out_fid"] for h in model.history if "held_out_fid" in h}
    assert sorted(fids) == [2, 4, 5] and all(np.isfinite(list(fids.values())))
    assert model.history[0]["images"] == (180 - 36) // 32 * 32  # a fifth held out (full batches)
    best = min(fids.values())
    if fids[5] > best:  # ended on the best epoch's weights
        assert model.history[-1]["kept_best"] == pytest.approx(-best)
    else:
        assert "kept_best" not in model.history[-1]
    timed = synth.create_synthesizer("dcgan", image_size=32, g_features=8, d_features=8,
                                     batch_size=32, epochs=10_000, max_minutes=0.02,
                                     snapshot_every=0).fit(images)
    assert len(timed.history) < 10_000 and timed.history[-1]["elapsed_s"] >= 1.2
