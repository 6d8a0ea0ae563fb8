"""One image GAN's training on one shard of images: the DCGAN loop of pytorch/examples (a
discriminator step on a real batch then a fake batch, each with its own backward, then a
generator step), so `fit` in one process and every Ray Train worker run the same code. The
recipe (config.recipe()) adds DiffAugment on every batch the critic sees, an optional lazy R1
penalty on real batches, and an EMA of the generator's weights: the EMA generator is the one
that samples, snapshots and is saved."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from synth.data.grid import make_grid
from synth.models.images.augment import diff_augment
from synth.models.images.networks import Discriminator, init_weights, make_generator
from synth.models.session import Reduce, Shard, TrainingSession, Wrap, bare, ema_update
from synth.models.session import rng_state as _rng_state
from synth.models.session import set_rng_state as _set_rng_state

GRID = 64  # fixed-noise samples in each training snapshot


def d_loss(logits: torch.Tensor, real: bool, kind: str) -> torch.Tensor:
    """The discriminator's loss on a real (or a fake) batch."""
    if kind == "hinge":
        return F.relu(1 - logits).mean() if real else F.relu(1 + logits).mean()
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def g_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


class ImageSession(TrainingSession):
    def __init__(self, model: Any, shard: Shard, wrap: Wrap, reduce: Reduce,
                 device: torch.device) -> None:
        cfg, rank = model.config, shard.rank
        self.model, self.cfg, self.device = model, cfg, device
        self.global_rows, self.world = shard.global_rows, shard.world
        images, codes = torch.as_tensor(shard.data), torch.as_tensor(shard.codes, dtype=torch.long)
        self.rng = np.random.default_rng([cfg.seed, rank])
        torch.manual_seed(cfg.seed * 1000 + rank)
        cond, self.recipe = model.labels.dim, cfg.recipe()
        gen = make_generator(cfg.arch, cfg.z_dim, cond, cfg.image_size, model.channels,
                             cfg.g_features)
        disc = Discriminator(cfg.image_size, model.channels, cfg.d_features, cond,
                             self.recipe.spectral_norm)
        gen.apply(init_weights)
        disc.apply(init_weights)
        self.g, self.d = wrap(gen.to(device)), wrap(disc.to(device))
        # the EMA starts from the generator after DDP's broadcast of rank 0's weights
        self.g_ema = copy.deepcopy(bare(self.g)).eval() if self.recipe.ema else None
        self.step = 0
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr, betas=betas)
        self.images, self.codes = images.to(device), codes.to(device)
        self.reduce = reduce
        fixed = torch.Generator().manual_seed(cfg.seed)
        self.fixed_z = torch.randn(GRID, cfg.z_dim, generator=fixed).to(device)
        self.fixed_codes = model.labels.draw({}, GRID, fixed).to(device)
        self.epoch = 0

    def steps(self) -> int:
        return max(self.global_rows // (self.cfg.batch_size * self.world), 1)

    def run_epoch(self) -> dict[str, float]:
        cfg, labels = self.cfg, self.model.labels
        self.g.train()
        self.d.train()
        order = torch.as_tensor(self.rng.permutation(len(self.images)), device=self.device)
        totals = np.zeros(2)
        for step in range(self.steps()):
            idx = order.roll(-step * cfg.batch_size)[:cfg.batch_size]
            real, cond = self.images[idx], labels.onehot(self.codes[idx]).to(self.device)
            fake_idx = torch.as_tensor(self.rng.integers(0, len(self.codes), len(idx)),
                                       device=self.device)
            fake_cond = labels.onehot(self.codes[fake_idx]).to(self.device)
            z = torch.randn(len(idx), cfg.z_dim, device=self.device)
            rec, aug = self.recipe, self._augment
            self.opt_d.zero_grad(set_to_none=True)
            loss_real = d_loss(self.d(aug(real), cond), True, rec.loss)
            loss_real.backward()
            fake = self.g(z, fake_cond)
            loss_fake = d_loss(self.d(aug(fake.detach()), fake_cond), False, rec.loss)
            loss_fake.backward()
            if cfg.r1_gamma and self.step % cfg.r1_every == 0:
                self._r1(real, cond).backward()
            self.opt_d.step()
            self.opt_g.zero_grad(set_to_none=True)
            loss_g = g_loss(self.d(aug(fake), fake_cond), rec.loss)
            loss_g.backward()
            self.opt_g.step()
            self._update_ema()
            self.step += 1
            totals += [(loss_real + loss_fake).item(), loss_g.item()]
        self.epoch += 1
        n = self.steps()
        images = float(n * cfg.batch_size * self.world)
        return {"epoch": self.epoch, "loss_d": totals[0] / n, "loss_g": totals[1] / n,
                "images": images, "rows": images}

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.recipe.augment) if self.recipe.augment else x

    def _r1(self, real: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Lazy R1 (Mescheder et al. 2018): gamma/2 * |grad_x D(x)|^2 on real images, scaled
        by r1_every since it runs on one step in r1_every."""
        x = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(self.d(self._augment(x), cond).sum(), x,
                                      create_graph=True)
        return self.cfg.r1_gamma / 2 * grad.pow(2).flatten(1).sum(1).mean() * self.cfg.r1_every

    def _update_ema(self) -> None:
        if self.g_ema is None:
            return
        decay = min(self.recipe.ema, (1 + self.step) / (10 + self.step))  # warm start
        ema_update(self.g_ema, bare(self.g), decay)

    def sampler(self) -> torch.nn.Module:
        """The generator that samples: the EMA one when the recipe keeps one."""
        return self.g_ema if self.g_ema is not None else bare(self.g)

    def grid(self) -> np.ndarray:
        """The fixed-noise samples as one uint8 image grid (progress snapshots)."""
        gen = self.sampler()
        was = gen.training
        gen.eval()
        with torch.no_grad():
            out = gen(self.fixed_z, self.model.labels.onehot(self.fixed_codes).to(self.device))
        gen.train(was)
        return make_grid(out)

    def state_dict(self) -> dict[str, Any]:
        state = {"generator": bare(self.g).state_dict(),
                 "discriminator": bare(self.d).state_dict(), "opt_g": self.opt_g.state_dict(),
                 "opt_d": self.opt_d.state_dict(), "epoch": self.epoch, "step": self.step}
        if self.g_ema is not None:
            state["generator_ema"] = self.g_ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        bare(self.g).load_state_dict(state["generator"])
        bare(self.d).load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.epoch, self.step = int(state["epoch"]), int(state.get("step", 0))
        if self.g_ema is not None:
            self.g_ema.load_state_dict(state.get("generator_ema", state["generator"]))

    def rng_state(self) -> dict[str, Any]:
        return _rng_state(self.rng)

    def set_rng_state(self, state: dict[str, Any]) -> None:
        _set_rng_state(self.rng, state)

    def snapshot(self) -> Any:
        model = copy.copy(self.model)
        model.generator = copy.deepcopy(self.sampler()).cpu().eval()
        return model

    def finish(self) -> None:
        self.model.generator = self.sampler().cpu().eval()
