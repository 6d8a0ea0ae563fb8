"""Attribute balance of the MNIST `cgan` (issue 22): the conditional GAN trained on the bundled
MNIST-5k digits with the README's settings, then 1,000 generated images (digits drawn from the
training frequencies) judged by a classifier trained on the real digits: per digit its real
share, the share the model was asked for, the share the classifier sees, and how often it sees
the digit asked for. Writes the bias report (bias.json, bias.html) under --output.

    python benchmarks/image_balance.py --epochs 20 --output runs/image-balance
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import synth
    from synth.data.images import ImageData, to_unit
    from synth.data.io import join, write_bytes
    from synth.monitor.images import image_balance
    from synth.monitor.report import render_bias

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--output", default="runs/image-balance")
    args = ap.parse_args(argv)
    z = np.load(ROOT / "data" / "mnist5k.npz")
    labels = pd.DataFrame({"digit": z["labels"]})
    start = time.perf_counter()
    model = synth.create_synthesizer("cgan", image_size=32, epochs=args.epochs, batch_size=64,
                                     g_features=32, d_features=32).fit(z["images"], labels)
    fit_s = time.perf_counter() - start
    doc = image_balance(ImageData(to_unit(z["images"]), labels), model, args.images,
                        classifier_epochs=6)
    write_bytes(join(args.output, "bias.json"), json.dumps(doc, indent=1).encode())
    write_bytes(join(args.output, "bias.html"), render_bias(doc).encode())
    part = doc["attributes"]["digit"]
    print(f"{platform.node()} {os.cpu_count()} CPUs; cgan fit {fit_s:.0f} s ({args.epochs} "
          f"epochs); classifier accuracy on held-out real digits "
          f"{doc['classifier_accuracy']['digit']:.3f}")
    print("| digit | real share | asked share | judged share | agreement |")
    print("|---|---|---|---|---|")
    for g in part["groups"]:
        print(f"| {g['group']} | {g['real_share']:.3f} | {g['asked_share']:.3f} | "
              f"{g['synthetic_share']:.3f} | {g['agreement']:.3f} |")
    b = part["balance"]
    print(f"total variation judged vs real {b['total_variation']:.3f}; rarest/commonest judged "
          f"{b['min_over_max']:.3f}; agreement {b['agreement']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
