"""Conditional image GAN on MNIST-5k (CPU), in one run:
- `cgan` conditioned on the digit and a second, independent attribute (stroke thickness:
  thick/thin split at the median ink within each digit class), 32x32, for a fixed epoch budget;
- FID / KID / precision / recall with both extractors (the Inception FID network and the CNN
  trained on the real labels) next to the real-vs-real floor; IS and PPL; attribute accuracy of
  generated images (the CNN predicts the attribute that was asked for);
- training images/s of synth's loop vs the plain PyTorch loop (benchmarks/dcgan_plain.py) with
  the same networks and batch, one process each;
- a grid of generated images, one row per digit (benchmarks/image_gan_grid.png).

    python benchmarks/image_gan.py --epochs 20 --n 200
    python benchmarks/image_gan.py --dcgan --epochs 10 --n 150   # textures, unconditional
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.dcgan_plain import plain_images_per_s  # noqa: E402
from synth.models.session import Shard  # noqa: E402

PARAMS = {"image_size": 32, "batch_size": 64, "g_features": 32, "d_features": 32,
          "snapshot_every": 5}


def mnist() -> tuple[np.ndarray, pd.DataFrame]:
    z = np.load(ROOT / "data" / "mnist5k.npz")
    images, digits = z["images"], z["labels"]
    ink = (images > 127).sum(axis=(1, 2))
    stroke = np.empty(len(images), dtype=object)
    for d in np.unique(digits):
        sel = digits == d
        stroke[sel] = np.where(ink[sel] > np.median(ink[sel]), "thick", "thin")
    return images, pd.DataFrame({"digit": digits, "stroke": stroke})


def speed(images: np.ndarray, labels: pd.DataFrame, epochs: int) -> dict[str, float]:
    import synth

    model = synth.create_synthesizer("cgan", **{**PARAMS, "snapshot_every": 0})
    x, codes = model.prepare(images, labels)
    session = model.training_session(Shard(x, len(x), codes=codes))
    session.run_epoch()  # warm up
    start = time.perf_counter()
    seen = sum(session.run_epoch()["images"] for _ in range(epochs))
    ours = seen / (time.perf_counter() - start)
    cond = model.labels.onehot(codes)
    plain = plain_images_per_s(x, cond, 32, epochs + 1, PARAMS["batch_size"],
                               PARAMS["g_features"], PARAMS["d_features"])
    return {"synth_images_per_s": ours, "plain_images_per_s": plain, "ratio": ours / plain}


def textures(per_texture: int = 600) -> tuple[np.ndarray, pd.DataFrame]:
    """128x128 random crops of the three texture photos, labelled by texture."""
    from synth.data.images import crops

    z = np.load(ROOT / "data" / "textures512.npz")
    names = ["brick", "grass", "gravel"]
    images = np.concatenate([crops(z[k], 128, per_texture, seed=i) for i, k in enumerate(names)])
    return images, pd.DataFrame({"texture": np.repeat(names, per_texture)})


def dcgan_textures(epochs: int, n: int) -> dict:
    """dcgan at 64x64 on texture crops; the CNN learns the texture labels (for IS), the
    generator never sees them."""
    import synth
    from synth.data.images import ImageData, to_unit
    from synth.metrics.image_report import evaluate_images

    images, labels = textures()
    model = synth.create_synthesizer("dcgan", image_size=64, batch_size=64, g_features=32,
                                     d_features=32, epochs=epochs, snapshot_every=0)
    start = time.perf_counter()
    model.fit(images)
    out: dict = {"fit_s": time.perf_counter() - start, "images": len(images)}
    real = ImageData(to_unit(images), labels)
    for extractor in ("cnn", "inception"):
        report = evaluate_images(real, model, n=n, extractor=extractor)
        out[extractor] = {k: report[k] for k in ("extractor", "scores", "floor",
                                                  "classifier_accuracy")}
        print(json.dumps(out[extractor], default=float), flush=True)
    (ROOT / "benchmarks" / "image_dcgan_textures.png").write_bytes(report["grids"]["generated"])
    return out


def ray_one_worker(epochs: int) -> dict:
    """images/s of a 1-worker Ray Train run of the train job (per-epoch rows_per_s from its
    training record, first epoch left out) next to the plain loop, in one run."""
    import tempfile

    from jobs import train

    images, labels = mnist()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "digits.npz"
        np.savez(data, images=images, digit=labels["digit"].to_numpy(),
                 stroke=labels["stroke"].to_numpy().astype("<U5"))
        argv = ["--data", str(data), "--model", "cgan", "--output", f"{tmp}/model",
                "--epochs", str(epochs), "num_workers=1", "num_cpus=2", f"storage={tmp}/runs",
                "checkpoint_every=100", *[f"params.{k}={v}" for k, v in PARAMS.items()]]
        assert train.main(argv) == 0
        record = json.loads((Path(tmp) / "model" / "training.json").read_text())
    rates = [h["rows_per_s"] for h in record["history"][1:]]
    x, cond = _plain_inputs(images, labels)
    plain = plain_images_per_s(x, cond, 32, epochs, PARAMS["batch_size"], PARAMS["g_features"],
                               PARAMS["d_features"])
    ours = float(np.mean(rates))
    return {"ray_train_1_worker_images_per_s": ours, "plain_images_per_s": plain,
            "ratio": ours / plain}


def _plain_inputs(images: np.ndarray, labels: pd.DataFrame) -> tuple:
    import synth

    model = synth.create_synthesizer("cgan", **{**PARAMS, "snapshot_every": 0})
    x, codes = model.prepare(images, labels)
    return x, model.labels.onehot(codes)


def main() -> None:
    import synth
    from synth.data.images import ImageData, to_unit
    from synth.metrics.image_report import evaluate_images

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n", type=int, default=200, help="images per side for the metrics")
    ap.add_argument("--speed-epochs", type=int, default=2)
    ap.add_argument("--dcgan", action="store_true", help="the texture dcgan part only")
    ap.add_argument("--ray-worker", action="store_true",
                    help="only: a 1-worker Ray Train run vs the plain loop")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.ray_worker:
        os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                           "RAY_USAGE_STATS_ENABLED": "0"})
        print(json.dumps(ray_one_worker(args.epochs)))
        return
    if args.dcgan:
        result = dcgan_textures(args.epochs, args.n)
        (ROOT / "benchmarks" / "image_dcgan.json").write_text(
            json.dumps(result, indent=2, default=float))
        return
    images, labels = mnist()
    out = {"machine": f"{platform.node()} {os.cpu_count()} CPUs", "torch": torch.__version__,
           "epochs": args.epochs, "n": args.n, **PARAMS}
    out.update(speed(images, labels, args.speed_epochs))
    print(json.dumps(out), flush=True)
    model = synth.create_synthesizer("cgan", **{**PARAMS, "epochs": args.epochs})
    start = time.perf_counter()
    model.fit(images, labels)
    out["fit_s"] = time.perf_counter() - start
    real = ImageData(to_unit(images), labels)
    for extractor in ("cnn", "inception"):
        start = time.perf_counter()
        report = evaluate_images(real, model, n=args.n, extractor=extractor)
        out[extractor] = {"extractor": report["extractor"], "scores": report["scores"],
                          "floor": report["floor"], "seconds": time.perf_counter() - start,
                          "classifier_accuracy": report["classifier_accuracy"]}
        print(json.dumps(out[extractor], default=float), flush=True)
    (ROOT / "benchmarks" / "image_gan_grid.png").write_bytes(report["grids"]["by_digit"])
    (ROOT / "benchmarks" / "image_gan.json").write_text(json.dumps(out, indent=2, default=float))
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
