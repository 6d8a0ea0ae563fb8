"""Image GAN networks for square images of 32..256 pixels, with an optional conditional input
(attribute one-hots concatenated to z in the generator; a projection discriminator, Miyato &
Koyama 2018, that scores <embedding(y), features(x)>):
- `dcgan` (Radford et al. 2016): transposed convolutions, the reference;
- `sngan`: the generator upsamples by resize-convolution (nearest x2, then a 3x3 convolution:
  Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts"), so it has no
  checkerboard; the critic is the DCGAN discriminator under spectral norm (Miyato et al. 2018)
  for the hinge loss."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

SIZES = (32, 64, 128, 256)


def upsamplings(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"image_size must be one of {SIZES}, got {size}")
    return int(math.log2(size)) - 2


class Generator(nn.Module):
    """z (+ condition) -> 4x4 -> ... -> size x size, transposed convs with batch norm."""

    def __init__(self, z_dim: int, cond_dim: int, size: int, channels: int, features: int
                 ) -> None:
        super().__init__()
        n = upsamplings(size)
        width = features * min(2 ** (n - 1), 16)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim + cond_dim, width, 4, 1, 0,
                                                      bias=False),
                                   nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(n - 1):
            out = max(width // 2, features)
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(True)]
            width = out
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = z if cond is None else torch.cat([z, cond], dim=1)
        return self.net(x[:, :, None, None])


class ResizeGenerator(nn.Module):
    """z (+ condition) -> linear to 4x4 -> [nearest x2, 3x3 conv, BN, ReLU] per doubling ->
    3x3 conv -> tanh. Every output pixel sees the same number of weights: no checkerboard."""

    def __init__(self, z_dim: int, cond_dim: int, size: int, channels: int, features: int
                 ) -> None:
        super().__init__()
        n = upsamplings(size)
        width = features * min(2 ** (n - 1), 16)
        self.width = width
        self.project = nn.Sequential(nn.Linear(z_dim + cond_dim, width * 16, bias=False),
                                     nn.BatchNorm1d(width * 16), nn.ReLU(True))
        layers: list[nn.Module] = []
        for _ in range(n):
            out = max(width // 2, features)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(width, out, 3, 1, 1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(True)]
            width = out
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = z if cond is None else torch.cat([z, cond], dim=1)
        return self.net(self.project(x).view(len(x), self.width, 4, 4))


ARCHS = {"dcgan": Generator, "sngan": ResizeGenerator}


def make_generator(arch: str, z_dim: int, cond_dim: int, size: int, channels: int,
                   features: int) -> nn.Module:
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {arch!r}")
    return ARCHS[arch](z_dim, cond_dim, size, channels, features)


class Discriminator(nn.Module):
    """size x size -> 4x4 features -> one logit, plus the projection of the condition."""

    def __init__(self, size: int, channels: int, features: int, cond_dim: int = 0,
                 spectral: bool = False) -> None:
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        n = upsamplings(size)
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, features, 4, 2, 1, bias=False)),
                                   nn.LeakyReLU(0.2, inplace=True)]
        width = features
        for _ in range(n - 1):
            out = min(width * 2, features * 16)
            layers.append(wrap(nn.Conv2d(width, out, 4, 2, 1, bias=False)))
            if not spectral:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = out
        self.body = nn.Sequential(*layers)
        self.head = wrap(nn.Conv2d(width, 1, 4, 1, 0, bias=False))
        self.project = wrap(nn.Linear(cond_dim, width, bias=False)) if cond_dim else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        logit = self.head(h).flatten()
        if self.project is not None and cond is not None:
            logit = logit + (self.project(cond) * h.sum(dim=(2, 3))).sum(dim=1)
        return logit


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv weights N(0, 0.02); batch-norm scale N(1, 0.02), shift 0."""
    name = type(module).__name__
    if "Conv" in name and hasattr(module, "weight"):
        param = getattr(getattr(module, "parametrizations", None), "weight", None)
        nn.init.normal_(param.original if param is not None else module.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
