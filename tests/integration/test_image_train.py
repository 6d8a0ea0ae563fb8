"""Image GANs through the train job: Ray Train with 2 DDP workers on a real local Ray, streamed
from Parquet-of-PNG prefixes on S3 (MNIST digits with a second, independent attribute;
texture crops), checkpoints with sample grids, registration; the driver-loaded NPZ path and the
one-process path (--no-ray)."""

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


def test_an_npz_is_loaded_on_the_driver_into_rows_for_the_workers(ray_local, digits_npz):
    """NPZ and CSV image sets are small files the driver decodes into {"image", "codes"} rows
    (the workers' loop is the one the streamed prefix below trains on 2 workers)."""
    from types import SimpleNamespace

    from jobs.ray_train.images import _loaded

    model = synth.create_synthesizer("cgan", image_size=32, g_features=8, d_features=8)
    ds, info = _loaded(SimpleNamespace(data=digits_npz, num_workers=2), model)
    assert info == {"uri": digits_npz, "images": 640, "streamed": False}
    rows = ds.take(3)
    assert ds.count() == 640 and rows[0]["image"].shape == (1, 32, 32)
    assert rows[0]["codes"].shape == (2,) and model.labels.attributes == ["digit", "stroke"]


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


def _png_prefix(uri: str, count: int, size: int = 128, per_file: int = 500) -> None:
    """`count` texture crops as a Parquet-of-PNG prefix (png, texture label, image_id)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from synth.data import io as sio
    from synth.data.images import crops, encode_png

    z = np.load(DATA / "textures512.npz")
    rows = []
    for i, name in enumerate(sorted(z.keys())):
        k = count // len(z.keys()) + (i < count % len(z.keys()))
        rows += [(encode_png(im[..., None]), name) for im in crops(z[name], size, k, seed=i)]
    for f in range(0, len(rows), per_file):
        part = rows[f:f + per_file]
        table = pa.table({"image_id": np.arange(f, f + len(part)),
                          "png": [r[0] for r in part], "texture": [r[1] for r in part]})
        buf = io.BytesIO()
        # row groups of 100 images: the driver reads one row group, for the first image's
        # channels (a bounded read however large the set: one file's first row group)
        pq.write_table(table, buf, row_group_size=100)
        sio.write_bytes(f"{uri}/part-{f // per_file:05d}.parquet", buf.getvalue())


def test_image_sources_read_their_first_image_and_labels(ray_local, tmp_path):
    """The driver's set-up of a streamed image set: the first image read straight from the
    first file (a Parquet file, a folder of class subfolders), the labels counted through
    Ray Data; an empty folder is one clear error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jobs.ray_data.images import count_labels, first_channels, open_source
    from synth.data.images import encode_png
    from synth.errors import DataError

    grey, colour = np.full((8, 8, 1), 7, np.uint8), np.full((8, 8, 3), 9, np.uint8)
    pq.write_table(pa.table({"png": [encode_png(colour)] * 3, "shade": ["a", "b", "a"]}),
                   tmp_path / "one.parquet")
    for cls in ("cat", "dog"):
        (tmp_path / "folder" / cls).mkdir(parents=True)
        (tmp_path / "folder" / cls / "0.png").write_bytes(encode_png(grey))
    (tmp_path / "empty").mkdir()
    parquet, folder = open_source(str(tmp_path / "one.parquet")), open_source(
        str(tmp_path / "folder"))
    assert (parquet.column, parquet.labels, first_channels(parquet)) == ("png", ["shade"], 3)
    assert (folder.labels, first_channels(folder)) == (["class"], 1)
    assert count_labels(parquet, ["shade"]).counts.tolist() == [2, 1]
    assert count_labels(folder, ["class"]).counts.tolist() == [1, 1]
    with pytest.raises(DataError, match="empty"):
        first_channels(open_source(str(tmp_path / "empty")))


# the train job twice in one fresh driver process (argv lists as JSON), each run's peak RSS
# after it: VmHWM, reset to the current RSS between the runs (/proc/self/clear_refs), so the
# second peak is that run's alone, on top of what the first left in place; one process shares
# the first run's Ray Data workers with the second
PEAKS = """
import json, re, sys
from jobs import train
for argv in json.loads(sys.argv[1]):
    rc = train.main(argv)
    status = open("/proc/self/status").read()
    print("PEAK_RSS_KB", re.search(r"VmHWM:\\s+(\\d+)", status).group(1), flush=True)
    if rc:
        sys.exit(rc)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
"""


def _digits_prefix(uri: str, npz: str, per_file: int = 160) -> None:
    """The digits (and their digit, stroke labels) as a Parquet-of-PNG prefix."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from synth.data import io as sio
    from synth.data.images import encode_png

    z = np.load(npz)
    for f in range(0, len(z["images"]), per_file):
        sl = slice(f, f + per_file)
        table = pa.table({"png": [encode_png(im[..., None]) for im in z["images"][sl]],
                          "digit": z["digit"][sl], "stroke": z["stroke"][sl]})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        sio.write_bytes(f"{uri}/part-{f // per_file:05d}.parquet", buf.getvalue())


def test_two_workers_stream_a_parquet_prefix_on_s3_with_flat_driver_memory(
        ray_local, s3_bucket, digits_npz, tmp_path):
    """2-worker cgan runs on Parquet-of-PNG prefixes on S3 (moto) in one fresh driver process
    connected to the session's Ray: first the 640 digits (two attributes; checkpoints with
    sample grids; registered in a store), then 2,000 texture crops. The driver never holds the
    images: its peak RSS grows by far less between the two runs than the difference in the
    images' decoded size, and each run's DDP workers end with equal parameters."""
    import subprocess
    import sys

    address = ray_local.get_runtime_context().gcs_address
    common = ["--address", address, "num_workers=2", f"storage={tmp_path / 'runs'}", *ARGS]
    _digits_prefix(f"{s3_bucket}/images/digits", digits_npz)
    _png_prefix(f"{s3_bucket}/images/textures", 2000)
    runs = [["--data", f"{s3_bucket}/images/digits", "--model", "cgan", "--name", "digits",
             "--store", str(tmp_path / "store"), "--epochs", "2", "checkpoint_every=1",
             "run_name=digits", *common],
            ["--data", f"{s3_bucket}/images/textures", "--model", "cgan", "--output",
             str(tmp_path / "textures"), "--epochs", "1", "run_name=textures", *common,
             "params.batch_size=100"]]
    proc = subprocess.Popen([sys.executable, "-c", PEAKS, json.dumps(runs)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[2])
    try:  # a hang guard, not a timing
        stdout, stderr = proc.communicate(timeout=600)
    finally:  # a driver left behind would hold its Train workers for the rest of the suite
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    lines = stdout.strip().splitlines()
    peaks = [int(x.split()[1]) * 1024 for x in lines if x.startswith("PEAK_RSS_KB")]
    digits, textures = [json.loads(x) for x in lines if x.startswith("{")]
    assert digits["version"] == 1 and digits["epochs"] == 2
    for count, path in ((640, digits["path"]), (2000, textures["output"])):
        record = json.loads(Path(path, "training.json").read_text())
        assert record["engine"] == "ray.train" and record["data"]["streamed"]
        assert record["data"]["images"] == count and record["data"]["s3"]
        assert record["metrics"]["shard_rows"] == [count // 2, count // 2]
        assert len(set(record["metrics"]["param_digest"])) == 1  # DDP kept the ranks in step
    assert list((tmp_path / "runs" / "digits").rglob("grid-epoch-0001.png"))
    decoded = 2000 * 128 * 128 * 4 - 640 * 28 * 28 * 4  # float32 at the stored sizes
    growth = peaks[1] - peaks[0]
    print(f"driver peak RSS: {peaks[0] / 2**20:.0f} MiB (640 digits), "
          f"{peaks[1] / 2**20:.0f} MiB (2,000 textures); decoded difference "
          f"{decoded / 2**20:.0f} MiB")
    assert growth < 0.15 * decoded, (peaks, decoded)
    model = synth.load_synthesizer("digits", store=str(tmp_path / "store"))
    s = model.sample(5, conditions={"digit": 4, "stroke": "thin"}, seed=1)
    assert s.images.shape == (5, 32, 32, 1) and (s.labels["digit"] == 4).all()
    model = synth.load_synthesizer(textures["output"])
    s = model.sample(4, conditions={"texture": "grass"}, seed=0)
    assert s.images.shape == (4, 32, 32, 1) and (s.labels["texture"] == "grass").all()
