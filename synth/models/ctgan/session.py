"""CTGAN training session: the step functions of ctgan.train run over one shard, with the
networks wrapped for data parallelism and the conditional vectors drawn from the global
category counts (summed over the shards)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from synth.models.ctgan.private import private_critic, private_critic_step
from synth.models.ctgan.sampler import CondSampler
from synth.models.ctgan.train import StepInputs, build_state, generator_step, train_step
from synth.models.layout import SpanLayout
from synth.models.private import PrivateSteps
from synth.models.seeding import derive_seed
from synth.models.session import (
    Reduce,
    Shard,
    TrainingSession,
    Wrap,
    bare,
    rng_state,
    set_rng_state,
    steps_per_epoch,
)


class CTGANSession(PrivateSteps, TrainingSession):
    STATISTICS = ("declared metadata; mixture modes and category counts from one Gaussian "
                  "release")

    def __init__(self, model: Any, shard: Shard, wrap: Wrap, reduce: Reduce,
                 device: torch.device) -> None:
        cfg, tr = model.config, model.transformer
        self.model, self.cfg, self.shard = model, cfg, shard
        torch.manual_seed(derive_seed(cfg.seed, shard.rank))
        self.rng = np.random.default_rng(derive_seed(cfg.seed, shard.rank, 1))
        if cfg.dp is None:
            local = CondSampler(shard.data, tr.conditional_spans, cfg.log_frequency)
            counts = reduce(local.row_count.astype(np.float64))
        else:  # the noisy counts of the private prepare
            counts = np.asarray(model.dp_state["counts"], dtype=np.float64)
        self.sampler = CondSampler(shard.data, tr.conditional_spans, cfg.log_frequency,
                                   counts=counts)
        self.state = build_state(cfg, tr.output_dim, self.sampler.cond_dim, device)
        self.state.generator = wrap(self.state.generator)
        self.state.critic = wrap(self.state.critic)
        self.inputs = StepInputs(torch.as_tensor(shard.data, device=device), self.sampler,
                                 SpanLayout(tr.spans).to(device), cfg, self.rng)
        self.steps = steps_per_epoch(shard, cfg.batch_size)
        self.epoch = 0
        if self.begin_private(model, shard) is not None:
            self.dp = private_critic(self.state, cfg, self.budget, shard.global_rows,
                                     shard.world)
            self.gen = torch.Generator().manual_seed(derive_seed(cfg.seed, shard.rank, 3))
            self.spans = tr.conditional_spans

    def run_epoch(self) -> dict[str, float]:
        st = self.state
        st.generator.train()
        st.critic.train()
        loss_d = loss_g = 0.0
        for _ in range(self.steps):
            if self.dp is None:
                loss_d, loss_g = train_step(st, self.inputs, self.cfg.batch_size)
                continue
            for _ in range(self.cfg.discriminator_steps):
                loss_d = private_critic_step(st, self.inputs, self.dp, self.spans,
                                             self.cfg.batch_size, self.gen)
                self.dp_steps += 1
            loss_g = generator_step(st, self.inputs, self.cfg.batch_size)
        self.epoch += 1
        if self.dp is not None:
            return self.private_metrics(loss_d=loss_d, loss_g=loss_g)
        rows = self.steps * self.cfg.batch_size * self.shard.world
        return {"epoch": self.epoch, "loss_d": loss_d, "loss_g": loss_g, "rows": rows}

    def state_dict(self) -> dict[str, Any]:
        st = self.state
        return {"generator": bare(st.generator).state_dict(),
                "critic": bare(st.critic).state_dict(), "opt_g": st.opt_g.state_dict(),
                "opt_d": st.opt_d.state_dict(), "epoch": self.epoch, "dp_steps": self.dp_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        st = self.state
        bare(st.generator).load_state_dict(state["generator"])
        bare(st.critic).load_state_dict(state["critic"])
        st.opt_g.load_state_dict(state["opt_g"])
        st.opt_d.load_state_dict(state["opt_d"])
        self.epoch = int(state["epoch"])
        self.dp_steps = int(state.get("dp_steps", 0))

    def rng_state(self) -> dict[str, Any]:
        out = rng_state(self.rng)
        if self.dp is not None:
            out["dp_gen"] = self.gen.get_state()
        return out

    def set_rng_state(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state)
        if self.dp is not None and "dp_gen" in state:
            self.gen.set_state(state["dp_gen"])

    def snapshot(self) -> Any:
        model = copy.copy(self.model)
        model.generator = copy.deepcopy(bare(self.state.generator)).cpu().eval()
        model.sampler = self.sampler
        return model

    def finish(self) -> None:
        self.model.generator = bare(self.state.generator).cpu().eval()
        self.model.sampler = self.sampler
        self.keep_privacy()
