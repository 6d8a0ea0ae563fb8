"""Image GAN quality against held-out real images (issue 18), one setting per run or all:

- `tex64`: unconditional 64x64 crops of the three bundled texture photos (the stand-in for
  scratch images); `tex64_300`: the same with only 300 training crops (a scratch-set-sized
  subset); `gray128`: 128x128 crops (a GPU setting: run it where one is); `mnist_cgan`: the
  conditional model on MNIST-5k digits at 32x32.
- No copying can score: every texture photo is split into a training band (rows 0-383) and a
  held-out band (rows 384-511); training crops come from the first, the reference crops of every
  metric from the second, which no training crop touches. The CNN feature extractor is trained
  on the training crops (texture labels) before the GAN and then frozen.
- Scores: FID with the CNN features against the held-out crops, and the real-vs-real floor (FID
  of as many training crops against the same held-out crops): `fid_ratio` = FID / floor;
  precision / recall (k-NN manifolds) against the held-out crops; `inception_fid` beside it
  (the Inception network, where its file is installed); `nn_copy_ratio`: the median distance
  from a generated image to its nearest training crop over the same for held-out crops, in
  the CNN's features (`nn_copy_ratio_pixels`: in pixels, which favour blurry images) (>= 1:
  generated images are no closer to the training set than unseen real ones);
  for small data, the discriminator's accuracy on held-out real images over training.
- The default recipe (dcgan + DiffAugment translation) unless told: `--param augment=` gives
  the plain DCGAN reference, `--arch sngan` the other recipe, `--param select_every=5` the
  held-out FID model selection, for the side-by-side. `benchmarks/image_quality.json` keeps
  the latest run of each setting (arch and extra settings inside).

    python benchmarks/image_quality.py --setting tex64 --minutes 10 --param select_every=5
    python benchmarks/image_quality.py --setting tex64 --minutes 10 --param augment=
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
TEXTURES = ("brick", "grass", "gravel")
TRAIN_ROWS = 384  # rows 0..383 of every texture photo train; 384..511 are held out
SETTINGS = {
    "tex64": {"size": 64, "train_per_texture": 600, "params": {"g_features": 32,
                                                               "d_features": 32}},
    "tex64_300": {"size": 64, "train_per_texture": 100, "params": {"g_features": 32,
                                                                   "d_features": 32}},
    "gray128": {"size": 128, "train_per_texture": 600, "params": {"g_features": 32,
                                                                  "d_features": 32}},
    "mnist_cgan": {"size": 32, "params": {"g_features": 32, "d_features": 32}},
}


def texture_split(size: int, train_per: int, held_per: int, seed: int = 0
                  ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, pd.DataFrame]:
    from synth.data.images import crops

    z = np.load(ROOT / "data" / "textures512.npz")
    train, held = [], []
    for i, name in enumerate(TEXTURES):
        photo = z[name]
        train.append(crops(photo[:TRAIN_ROWS], size, train_per, seed=seed + i))
        held.append(crops(photo[TRAIN_ROWS:], size, held_per, seed=seed + 100 + i))
    labels = lambda per: pd.DataFrame({"texture": np.repeat(TEXTURES, per)})  # noqa: E731
    return np.concatenate(train), labels(train_per), np.concatenate(held), labels(held_per)


def mnist_split(seed: int = 0) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, pd.DataFrame]:
    z = np.load(ROOT / "data" / "mnist5k.npz")
    order = np.random.default_rng(seed).permutation(len(z["images"]))
    train, held = order[:4000], order[4000:]
    digits = pd.Series(z["labels"]).astype(int)
    return (z["images"][train], pd.DataFrame({"digit": digits[train].to_numpy()}),
            z["images"][held], pd.DataFrame({"digit": digits[held].to_numpy()}))


def nn_distance(queries, reference) -> np.ndarray:
    """L2 distance from every query (image or feature row) to its nearest reference."""
    q = torch.as_tensor(np.asarray(queries)).flatten(1).double()
    r = torch.as_tensor(np.asarray(reference)).flatten(1).double()
    return torch.cdist(q, r).min(dim=1).values.numpy()


def nn_ratio(fake, held, train) -> float:
    """Median distance of generated images to their nearest training image over the same for
    held-out real images: below 1, generated images sit closer to the training set than
    unseen real ones do (copying). In CNN features (the headline: pixel distances favour
    blurry images, which are near everything) and in pixels."""
    return float(np.median(nn_distance(fake, train)) / np.median(nn_distance(held, train)))


def fit_within(model, images, labels, held: torch.Tensor | None) -> dict:
    """Fit (the model's max_minutes ends it); record the discriminator's accuracy on held-out
    real images after each epoch (how far it memorised the training set)."""
    from synth.models.images import gan

    history, start = [], time.perf_counter()
    original = gan.ImageGAN._snapshot

    def record(self, session, metrics) -> None:
        original(self, session, metrics)
        if held is not None:
            with torch.no_grad():
                d = session.d
                was = d.training
                d.eval()
                logits = d(held, None)
                d.train(was)
            history.append({"epoch": session.epoch,  # logit > 0: called real (either loss)
                            "d_real_heldout_acc": float((logits > 0).float().mean()),
                            "seconds": time.perf_counter() - start})

    gan.ImageGAN._snapshot = record
    try:
        model.fit(images, labels)
    finally:
        gan.ImageGAN._snapshot = original
    return {"fit_s": time.perf_counter() - start, "history": history}


def run_setting(name: str, arch: str, minutes: float, n: int, seed: int,
                extra: dict | None = None, grid_dir: Path = ROOT / "benchmarks") -> dict:
    import synth
    from synth.data.grid import make_grid
    from synth.data.images import encode_png, fit_size, to_unit
    from synth.metrics.extractors import InceptionExtractor, inception_path, train_cnn
    from synth.metrics.images import fid, precision_recall

    spec = SETTINGS[name]
    size = spec["size"]
    if name == "mnist_cgan":
        train_u8, train_labels, held_u8, held_labels = mnist_split(seed)
        family = "cgan"
    else:
        train_u8, train_labels, held_u8, held_labels = texture_split(
            size, spec["train_per_texture"], max(n // 3 + 1, 100), seed)
        family = "dcgan"
    train_x = fit_size(to_unit(train_u8), size)
    held_x = fit_size(to_unit(held_u8), size)
    cnn = train_cnn(train_x, train_labels, epochs=4, seed=seed)  # before the GAN; frozen
    params = {"image_size": size, "batch_size": 64, "epochs": 10_000, "snapshot_every": 0,
              "seed": seed, "arch": arch, "max_minutes": minutes, **spec["params"],
              **(extra or {})}
    model = synth.create_synthesizer(family, **params)
    # labels go in for both families: dcgan does not condition on them, its held-out FID
    # selection (select_every) trains its CNN on them
    fitted = fit_within(model, train_u8, train_labels, held_x[:256] if family == "dcgan"
                        else None)
    selected = [(h["epoch"], round(h["held_out_fid"], 3)) for h in model.history
                if "held_out_fid" in h]
    fake = to_unit(model.sample(n, seed=seed + 1).images)
    rng = np.random.default_rng(seed)
    ref = held_x[rng.permutation(len(held_x))[:n]]
    real = train_x[rng.permutation(len(train_x))[:n]]
    f_ref, f_real, f_fake = (cnn.features(x) for x in (ref, real, fake))
    floor, score = fid(f_real, f_ref), fid(f_fake, f_ref)
    out = {"arch": arch, "extra": extra or {}, "family": family, "image_size": size,
           "train_images": len(train_x), "held_out_images": len(held_x), "n": len(ref),
           "epochs": len(fitted["history"]) or None,
           **{k: v for k, v in fitted.items() if k != "history"},
           "fid": score, "fid_floor": floor, "fid_ratio": score / floor,
           **precision_recall(f_ref, f_fake),
           "nn_copy_ratio": nn_ratio(f_fake, f_ref, cnn.features(train_x)),
           "nn_copy_ratio_pixels": nn_ratio(fake, ref, train_x),
           "extractor_accuracy": cnn.accuracy}
    if selected:  # the model's own held-out FID checks (its CNN, its held-out training crops)
        out["selection_fid"] = selected
        out["kept_best"] = "kept_best" in model.history[-1]
    if fitted["history"]:
        out["d_real_heldout_acc"] = [round(h["d_real_heldout_acc"], 3)
                                     for h in fitted["history"]]
    if inception_path(None) and not os.environ.get("NO_INCEPTION"):
        inc = InceptionExtractor(None)
        i_ref, i_real, i_fake = (inc.features(x) for x in (ref, real, fake))
        out["inception_fid"], out["inception_fid_floor"] = fid(i_fake, i_ref), fid(i_real, i_ref)
    if family == "cgan":
        from synth.metrics.images import attribute_accuracy

        out["attribute_accuracy"] = attribute_accuracy(model, cnn, seed=seed)
    suffix = "".join(f"_{k}-{v}" for k, v in sorted((extra or {}).items())).replace(",", "+")
    grid = grid_dir / f"image_quality_{name}_{arch}{suffix}.png"
    grid.write_bytes(encode_png(make_grid(fake[:64])))
    out["grid"] = str(grid.relative_to(ROOT)) if grid.is_relative_to(ROOT) else str(grid)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setting", choices=sorted(SETTINGS), action="append")
    ap.add_argument("--arch", default="dcgan", help="dcgan (the default) or sngan")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="extra model settings (e.g. augment=translation, ema=0)")
    ap.add_argument("--minutes", type=float, default=10, help="training budget per setting")
    ap.add_argument("--n", type=int, default=300, help="images per metric set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "image_quality.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    path = Path(args.out)
    doc = json.loads(path.read_text()) if path.exists() else {"settings": {}}
    for name in args.setting or ["tex64"]:
        extra = dict(p.split("=", 1) for p in args.param)
        result = run_setting(name, args.arch, args.minutes, args.n, args.seed, extra,
                             Path(args.out).parent)  # grids beside the results file
        result["machine"] = f"{platform.node()}, {os.cpu_count()} CPUs, " + (
            torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")
        result["date"] = time.strftime("%Y-%m-%d")
        print(json.dumps({name: result}, default=float, indent=1), flush=True)
        doc["settings"][name] = result  # the latest run of each setting (arch and extra
        path.write_text(json.dumps(doc, indent=1, default=float) + "\n")  # are in it)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
