"""The cost of a DP-SGD step against a plain one, side by side in one process (issue 23): argn
on Adult (its default network), one batch of 512 rows: a plain step (loss, backward, Adam), the
ghost-norm step argn uses under dp (synth/models/argn/private.py: one more backward pass), and
torch.func per-row gradients (synth/dp/sgd.vmap_clipped, what tvae and ctgan use), the median
of 5 runs each (2 for torch.func).

    python benchmarks/dp_step.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int) -> float:
    fn()  # warm up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main(repeat: int = 5) -> dict:
    import synth
    from synth.dp.sgd import vmap_clipped
    from synth.models.argn.network import token_loss
    from synth.models.argn.private import clipped_backward
    from synth.models.argn.session import draw_ranks

    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    df = pd.read_csv(ROOT / "data" / "adult_train.csv.gz")
    m = synth.create_synthesizer("argn")
    m.prepare(df)
    tokens = torch.as_tensor(m._encode(m._constraint_set().to_model(df.head(512))))
    net = m.new_network()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    ranks = draw_ranks(512, len(m.tokens.columns), 0.25, torch.Generator().manual_seed(0))

    def plain() -> None:
        opt.zero_grad()
        token_loss(net(tokens, ranks), tokens).backward()
        opt.step()

    def ghost() -> None:
        clipped_backward(net, tokens, ranks, 1.0)
        opt.step()

    per_row = vmap_clipped(net, lambda call, x, r: token_loss(call(x, r), x), 1.0, chunk=128)

    def vmapped() -> None:
        per_row((tokens, ranks))
        opt.step()

    out = {"argn_plain_s": timed(plain, repeat), "argn_ghost_s": timed(ghost, repeat),
           "argn_vmap_s": timed(vmapped, max(repeat // 2, 1))}
    out["ghost_over_plain"] = out["argn_ghost_s"] / out["argn_plain_s"]
    out["vmap_over_plain"] = out["argn_vmap_s"] / out["argn_plain_s"]
    out.update(date=time.strftime("%Y-%m-%d"), machine=f"{platform.node()} {os.cpu_count()} CPUs",
               torch=torch.__version__, rows=512)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
