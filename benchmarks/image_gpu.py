"""128x128 DCGAN on one GPU: training images/s of synth's session loop vs the plain PyTorch loop
(benchmarks/dcgan_plain.py) with the same networks and batch, the same on the machine's CPUs,
and a small 128x128 model trained there and saved (a CPU test here loads and samples it).
Runs without Ray, so it runs on a bare GPU machine.

    python benchmarks/image_gpu.py --out OUTDIR
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


def texture_crops(per_texture: int, size: int = 128) -> tuple[np.ndarray, pd.DataFrame]:
    from synth.data.images import crops

    z = np.load(ROOT / "data" / "textures512.npz")
    names = ["brick", "grass", "gravel"]
    images = np.concatenate([crops(z[k], size, per_texture, seed=i) for i, k in enumerate(names)])
    return images, pd.DataFrame({"texture": np.repeat(names, per_texture)})


def session_images_per_s(model, images, labels, device: str, epochs: int) -> float:
    x, codes = model.prepare(images, labels)
    session = model.training_session(Shard(x, len(x), device=torch.device(device), codes=codes))
    session.run_epoch()  # warm up
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    seen = sum(session.run_epoch()["images"] for _ in range(epochs))
    if device == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main() -> None:
    import synth
    from synth.data.images import fit_size, to_unit

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="image_gpu")
    ap.add_argument("--per-texture", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--small-epochs", type=int, default=30)
    args = ap.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    images, labels = texture_crops(args.per_texture)
    res: dict = {"machine": platform.platform(), "cpus": os.cpu_count(),
                 "gpu": torch.cuda.get_device_name(0) if cuda else None,
                 "torch": torch.__version__, "images": len(images), "size": 128, "batch": 128}
    big = {"image_size": 128, "batch_size": 128, "g_features": 64, "d_features": 64,
           "snapshot_every": 0}
    x = fit_size(to_unit(images), 128)
    none = torch.zeros(len(x), 0)
    torch.set_num_threads(os.cpu_count() or 1)
    if cuda:
        res["synth_cuda"] = session_images_per_s(synth.create_synthesizer("dcgan", **big),
                                                 images, labels, "cuda", args.epochs)
        res["plain_cuda"] = plain_images_per_s(x, none, 128, args.epochs + 1, 128, 64, 64, "cuda")
        print(json.dumps(res), flush=True)
    cpu_images = images[:: max(1, len(images) // 384)][:384]
    res["synth_cpu"] = session_images_per_s(synth.create_synthesizer("dcgan", **big),
                                            cpu_images, labels[:len(cpu_images)], "cpu", 1)
    res["plain_cpu"] = plain_images_per_s(fit_size(to_unit(cpu_images), 128),
                                          torch.zeros(len(cpu_images), 0), 128, 2, 128, 64, 64)
    print(json.dumps(res), flush=True)
    small = synth.create_synthesizer("dcgan", image_size=128, batch_size=128, g_features=16,
                                     d_features=32, epochs=args.small_epochs,
                                     snapshot_every=max(args.small_epochs // 2, 1),
                                     device="cuda" if cuda else "cpu")
    start = time.perf_counter()
    small.fit(images)
    res["small_fit_s"] = time.perf_counter() - start
    small.save(str(out_dir / "dcgan128"))
    res["small_final_losses"] = small.history[-1]
    res = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in res.items()}
    (out_dir / "image_gpu.json").write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
