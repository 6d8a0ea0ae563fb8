"""Model selection of an in-process image GAN fit on a held-out FID (issue 18): `select_images`
real images (at most a fifth) are held out of training; a small CNN is trained on the training
images' labels before the GAN and frozen (no labels: its random init, `cnn-random`); every
`select_every` epochs the sampling generator (the EMA one where the recipe keeps one) draws as
many images from fixed noise, with the held-out images' own attributes, and the FID of their
features against the held-out ones is the loop's validation (negated: higher is better), so
the loop keeps the best epoch's weights and stops after `select_patience` checks without a
better one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from synth.metrics.extractors import train_cnn
from synth.metrics.images import fid
from synth.models.loop import Metrics, ProgressHooks
from synth.models.session import TrainingSession

NEVER = 10**9  # patience that never stops (keep the best, run every epoch)
CNN_EPOCHS = 4


def split_held_out(count: int, wanted: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-out indices) of `count` images: `wanted` held out, at most a
    fifth, seeded."""
    held = min(wanted, count // 5)
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


class HeldOutFID(ProgressHooks):
    def __init__(self, model: Any, train: tuple[torch.Tensor, pd.DataFrame],
                 held: tuple[torch.Tensor, torch.Tensor], on_epoch: Any = None) -> None:
        cfg = model.config
        super().__init__(model.name, cfg.epochs, cfg.progress, on_epoch)
        self.model = model
        self.extractor = train_cnn(train[0], train[1], epochs=CNN_EPOCHS, seed=cfg.seed)
        self.real = self.extractor.features(held[0])
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.z = torch.randn(len(held[0]), cfg.z_dim, generator=gen)
        self.cond = model.labels.onehot(held[1])
        self.fids: list[tuple[int, float]] = []

    def validate(self, session: TrainingSession) -> float:
        net = session.sampler()  # type: ignore[attr-defined]
        device = next(net.parameters()).device
        was = net.training
        net.eval()
        out = []
        with torch.no_grad():
            for at in range(0, len(self.z), 64):
                z, c = self.z[at:at + 64].to(device), self.cond[at:at + 64].to(device)
                out.append(net(z, c).float().cpu())
        net.train(was)
        score = fid(self.real, self.extractor.features(torch.cat(out)))
        self.fids.append((session.epoch, score))
        return -score

    def report(self, session: TrainingSession, metrics: Metrics, history: list[Metrics],
               checkpoint: bool, final: bool) -> None:
        if "validation" in metrics:
            metrics["held_out_fid"] = -metrics["validation"]
        super().report(session, metrics, history, checkpoint, final)
