"""The baseline for image GAN training speed: the plain single-process PyTorch DCGAN loop in the
shape of pytorch/examples' dcgan/main.py (a DataLoader over the images; per batch: D on real,
backward; G makes fakes; D on fakes, backward; D step; G step through D), written here for the
same networks (synth/models/images/networks.py), batch size and optimizer settings, with the
condition one-hots passed along for a conditional model. No Ray, no synth training code."""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from synth.models.images.networks import Discriminator, Generator, init_weights


def plain_images_per_s(images: torch.Tensor, cond: torch.Tensor, size: int, epochs: int,
                       batch_size: int, g_features: int, d_features: int,
                       device: str = "cpu", z_dim: int = 100) -> float:
    """Images per second over `epochs` epochs (after one warm-up batch)."""
    dev = torch.device(device)
    net_g = Generator(z_dim, cond.shape[1], size, images.shape[1], g_features).to(dev)
    net_d = Discriminator(size, images.shape[1], d_features, cond.shape[1]).to(dev)
    net_g.apply(init_weights)
    net_d.apply(init_weights)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(TensorDataset(images, cond), batch_size=batch_size, shuffle=True,
                        drop_last=True)
    seen, start = 0, None
    for _ in range(epochs):
        for real, c in loader:
            real, c = real.to(dev), c.to(dev)
            b = real.size(0)
            net_d.zero_grad()
            out = net_d(real, c if c.shape[1] else None)
            err_real = criterion(out, torch.ones(b, device=dev))
            err_real.backward()
            noise = torch.randn(b, z_dim, device=dev)
            fake_c = c[torch.randperm(b, device=dev)]
            fake = net_g(noise, fake_c if fake_c.shape[1] else None)
            out = net_d(fake.detach(), fake_c if fake_c.shape[1] else None)
            err_fake = criterion(out, torch.zeros(b, device=dev))
            err_fake.backward()
            opt_d.step()
            net_g.zero_grad()
            out = net_d(fake, fake_c if fake_c.shape[1] else None)
            err_g = criterion(out, torch.ones(b, device=dev))
            err_g.backward()
            opt_g.step()
            if start is None:  # the first batch warms up (allocations, kernels)
                _sync(dev)
                start = time.perf_counter()
                continue
            seen += b
    if start is None or not seen:
        raise ValueError("the plain loop needs more than one full batch to time")
    _sync(dev)
    return seen / (time.perf_counter() - start)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()
