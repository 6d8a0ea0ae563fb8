"""Image GANs through the train job: Ray Train with 2 DDP workers on a real local Ray (MNIST
digits with a second, independent attribute), checkpoints with sample grids, registration;
and the one-process path (--no-ray)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import synth
from jobs import train

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory) -> str:
    z = np.load(DATA / "mnist5k.npz")
    keep = np.random.default_rng(1).permutation(len(z["images"]))[:640]
    images, digit = z["images"][keep], z["labels"][keep]
    ink = (images > 127).sum(axis=(1, 2))
    stroke = np.empty(len(images), dtype="<U5")
    for d in np.unique(digit):
        sel = digit == d
        stroke[sel] = np.where(ink[sel] > np.median(ink[sel]), "thick", "thin")
    path = tmp_path_factory.mktemp("imgs") / "digits.npz"
    np.savez(path, images=images, digit=digit, stroke=stroke)
    return str(path)


ARGS = ["params.image_size=32", "params.g_features=8", "params.d_features=8",
        "params.batch_size=32", "params.snapshot_every=0"]


def test_cgan_trains_on_two_ray_train_workers(ray_local, digits_npz, tmp_path, capsys):
    argv = ["--data", digits_npz, "--model", "cgan", "--name", "digits", "--store",
            str(tmp_path / "store"), "--epochs", "2", "num_workers=2", "checkpoint_every=1",
            f"storage={tmp_path / 'runs'}", "run_name=digits", *ARGS]
    assert train.main(argv) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["version"] == 1 and out["epochs"] == 2
    record = json.loads(Path(out["path"], "training.json").read_text())
    assert record["engine"] == "ray.train" and sum(record["metrics"]["shard_rows"]) == 640
    assert record["metrics"]["shard_rows"] == [320, 320]
    assert len(set(record["metrics"]["param_digest"])) == 1  # DDP kept the ranks in step
    assert list((tmp_path / "runs" / "digits").rglob("grid-epoch-0001.png"))
    model = synth.load_synthesizer("digits", store=str(tmp_path / "store"))
    s = model.sample(5, conditions={"digit": 4, "stroke": "thin"}, seed=1)
    assert s.images.shape == (5, 32, 32, 1) and (s.labels["digit"] == 4).all()


def test_dcgan_trains_in_process_with_no_ray(digits_npz, tmp_path):
    out = tmp_path / "dcgan"
    argv = ["--data", digits_npz, "--model", "dcgan", "--output", str(out), "--epochs", "1",
            "--no-ray", *ARGS]
    assert train.main(argv) == 0
    assert synth.load_synthesizer(str(out)).sample(3, seed=0).images.shape == (3, 32, 32, 1)


def test_images_stream_to_an_s3_prefix_as_pngs_with_manifests(ray_local, s3_bucket,
                                                               digits_npz, tmp_path):
    import io

    import pandas as pd
    from PIL import Image

    from jobs import sample
    from synth.data import io as sio
    from synth.data.images import load_images

    model = synth.create_synthesizer("cgan", image_size=32, g_features=8, d_features=8,
                                     batch_size=32, epochs=1, snapshot_every=0)
    path = model.fit(load_images(digits_npz)).save(str(tmp_path / "cgan"))
    out = f"{s3_bucket}/synthetic/digits"
    argv = ["--model", path, "--rows", "150", "--output", out, "--rows-per-file", "64",
            "--conditions", '{"digit": 7}', "--seed", "3"]
    assert sample.main(argv) == 0
    fs, prefix = sio.filesystem(out)
    manifest = pd.read_parquet(prefix, filesystem=fs)
    assert len(manifest) == 150 and sorted(manifest["image_id"]) == list(range(150))
    assert (manifest["digit"] == 7).all() and set(manifest["stroke"]) <= {"thick", "thin"}
    png = Image.open(io.BytesIO(sio.read_bytes(f"{out}/{manifest['file'].iloc[-1]}")))
    assert png.size == (32, 32)
    first = sio.read_bytes(f"{out}/part-000001.parquet")
    assert sample.main(argv) == 0 and sio.read_bytes(f"{out}/part-000001.parquet") == first
    assert sample.main([*argv[:-2], "--output", f"{tmp_path}/x.parquet"]) == 2


def test_evaluate_images_job_writes_json_html_and_grids(digits_npz, tmp_path, capsys):
    from html.parser import HTMLParser

    from jobs import evaluate_images
    from synth.data.images import load_images

    model = synth.create_synthesizer("cgan", image_size=32, g_features=8, d_features=8,
                                     batch_size=32, epochs=1, snapshot_every=0)
    path = model.fit(load_images(digits_npz)).save(str(tmp_path / "cgan"))
    out = tmp_path / "eval"
    argv = ["--real", digits_npz, "--model", path, "--output", str(out), "--n", "64",
            "--extractor", "cnn", "--no-ray"]
    assert evaluate_images.main(argv) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["extractor"] == "cnn-digit-stroke" and "fid" in doc["floor"]
    assert {"fid", "kid", "precision", "recall", "inception_score", "ppl",
            "attribute_accuracy_digit"} <= set(doc["scores"])
    figures = []

    class Figures(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "figure":
                figures.append(dict(attrs)["data-figure"])

    Figures().feed((out / "report.html").read_text())
    assert figures == ["grid-real", "grid-generated", "grid-by_digit", "grid-by_stroke"]
    assert (out / "grids" / "by_digit.png").stat().st_size > 0
    assert evaluate_images.main([*argv[:-5], "--n", "4000", "--no-ray"]) == 2
    assert "2 x n" in capsys.readouterr().err
