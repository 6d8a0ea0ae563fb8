"""Image baselines and checks on MNIST (issue 22): a baseline of 4,000 training digits, then
checks of the 1,000 held-out digits, of the held-out digits 0-4 only, of the held-out digits
with Gaussian pixel noise (std 40 of 255) and of the held-out digits with 5% of their labels
a value never seen; one table row per check with the figures that decide it.

    python benchmarks/image_monitor.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> str:
    import synth.monitor as mon
    from synth.data.images import ImageData, to_unit

    torch.set_num_threads(2)
    with np.load(ROOT / "data" / "mnist5k.npz") as npz:
        x, y = npz["images"], npz["labels"]
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:4000], order[4000:]

    def data(idx: np.ndarray, images: np.ndarray = x, labels: bool = True) -> ImageData:
        frame = pd.DataFrame({"label": y[idx]}) if labels else pd.DataFrame(
            index=range(len(idx)))
        return ImageData(to_unit(images[idx]), frame)

    folder = tempfile.mkdtemp()
    start = time.perf_counter()
    base = mon.image_baseline(data(train), output=folder)
    took = time.perf_counter() - start
    noisy = np.clip(x.astype(float) + np.random.default_rng(0).normal(0, 40, x.shape), 0,
                    255).astype(np.uint8)
    unseen = data(test)
    unseen.labels["label"] = unseen.labels["label"].where(np.arange(len(test)) % 20 != 0, 11)
    checks = {"held-out digits": data(test), "held-out digits 0-4": data(test[y[test] < 5],
                                                                          labels=False),
              "held-out + pixel noise": data(test, noisy), "5% labels never seen": unseen}
    ex = base.statistics["extractor"]
    lines = [f"baseline: {len(train)} images in {took:.1f} s, classifier held-out accuracy "
             f"{ex['accuracy']['label']:.3f}, real-vs-real FID floor {ex['fid_floor']:.4f} "
             f"(halves of {ex['floor_rows'][0]})", "",
             "| check | images | FID / floor | label PSI | label JS | pixels PSI | violations "
             "| flagged |", "|---|---|---|---|---|---|---|---|"]
    for name, batch in checks.items():
        r = mon.image_check(base, batch)
        d = r.drift
        lines.append(f"| {name} | {r.rows} | {d['features']['fid_ratio']:.2f} | "
                     f"{d['label']['psi']:.3f} | {d['label']['js']:.3f} | "
                     f"{d['pixels']['psi']:.3f} | {sum(v['count'] for v in r.violations)} | "
                     f"{', '.join(sorted(r.flagged)) or 'nothing'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
