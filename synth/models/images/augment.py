"""Differentiable augmentation for GANs on small data (DiffAugment: Zhao, Liu, Lin, Zhu & Han,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020). The same random
transformations are applied to every image the discriminator sees, real or generated, and they
are differentiable, so the generator's gradient flows through them: the discriminator cannot
memorise a small training set, and the generator is not pushed to produce augmented images.

Policies (comma-separated): `color` (brightness and contrast; saturation too for RGB),
`translation` (shift by up to 1/8 of the side, zero padding), `cutout` (a zeroed square of half
the side). Images are in [-1, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; valid: {', '.join(POLICIES)}")
    return parts


def diff_augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    for name in policy:
        x = _AUGMENTS[name](x)
    return x


def _color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5)  # brightness (range 2: [-1, 1])
    if x.shape[1] == 3:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy).clamp(-1, h)
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx).clamp(-1, w)
    padded = F.pad(x, (1, 1, 1, 1))  # index -1 and h land on the zero border
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows + 1, cols + 1]
    return out.permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h, (n, 1, 1), device=x.device) - ch // 2  # the square's centre
    left = torch.randint(0, w, (n, 1, 1), device=x.device) - cw // 2  # lies in the image
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside)[:, None].to(x.dtype)


_AUGMENTS = {"color": _color, "translation": _translation, "cutout": _cutout}
