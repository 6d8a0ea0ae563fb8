"""CTGAN (Xu et al. 2019) in plain torch: conditional generator with training-by-sampling,
PacGAN critic, WGAN-GP, Gumbel-softmax outputs, mode-specific normalization."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synth.data.transformer import DataTransformer
from synth.models.base import BLOCK_ROWS, Synthesizer
from synth.models.conditions import Condition
from synth.models.ctgan.config import CTGANConfig
from synth.models.ctgan.networks import Generator
from synth.models.ctgan.sampler import CondSampler
from synth.models.ctgan.session import CTGANSession
from synth.models.private import PrivateFit, column_histograms, fit_modes
from synth.models.registry import register_synthesizer
from synth.models.session import Reduce, Shard, Wrap
from synth.store import load_torch, torch_bytes


@register_synthesizer("ctgan")
class CTGAN(PrivateFit, Synthesizer):
    name = "ctgan"
    config_cls = CTGANConfig
    weight_file_names: ClassVar[list[str]] = ["weights.pt"]

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.generator: Generator | None = None
        self.sampler: CondSampler | None = None
        self.history: list[dict[str, float]] = []
        self.dp_state: dict[str, Any] = {}

    def _released(self, tr: DataTransformer) -> list[str]:
        return [*tr.numeric_columns, *tr.categorical_columns]

    def _private_parts(self, rows: pd.DataFrame, tr: DataTransformer, stats_noise: float
                       ) -> None:
        """Mixture modes from the numbers' noisy histograms; the conditional vectors' category
        counts from noisy counts (at least 0.5, so that every category is drawn), all in one
        release."""
        cfg = self.config
        release = column_histograms(rows, tr, list(tr.numeric_columns), stats_noise, cfg.seed,
                                    tuple(tr.categorical_columns))
        fit_modes(tr, release, cfg, cfg.seed)  # builds the spans
        cats = [s.column for s in tr.conditional_spans]
        self.dp_state["counts"] = np.concatenate(
            [np.maximum(release[c], 0.5) for c in cats]).tolist() if cats else []

    def _steps_per_batch(self) -> int:
        return self.config.discriminator_steps


    # ----------------------------------------------------------------- fit
    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> CTGANSession:
        return CTGANSession(self, shard, wrap, reduce, device)

    # ----------------------------------------------------------------- sample
    def _plan(self, conds: list[Condition]) -> int | None:
        """The global category of the first categorical equality that is a modelled level:
        imposed through the conditional vector; everything else is rejection."""
        tr = self.transformer
        cond_cols = [s.column for s in tr.conditional_spans]
        for c in conds:
            if c.op == "eq" and c.code is not None and c.column in cond_cols:
                return int(self.sampler.offsets[cond_cols.index(c.column)] + c.code)
        return None

    def _block(self, gen: torch.Generator, plan: int | None, rows: int = BLOCK_ROWS):
        tr, sampler = self.transformer, self.sampler
        z = torch.randn(rows, self.config.embedding_dim, generator=gen)
        if sampler.n_spans:
            if plan is None:
                cats = sampler.sample_original(rows, gen)
            else:
                cats = torch.full((rows,), plan, dtype=torch.long)
            z = torch.cat([z, sampler.onehot(cats, torch.device("cpu"))], dim=1)
        raw = self._run_network(self.generator, z)
        values, codes = self.span_layout().decode(raw, gen, sample=True)
        return tr.invert_spans(values.double().numpy(), codes.numpy())

    def _networks(self) -> list[torch.nn.Module]:
        return [self.generator]

    # ----------------------------------------------------------------- weights
    def _weight_files(self) -> dict[str, bytes]:
        s = self.sampler
        return {"weights.pt": torch_bytes({
            "generator": self.generator.state_dict(),
            "sampler_counts": torch.as_tensor(s.counts),
        })}

    def _load_weights(self, files: dict[str, bytes], path: str) -> None:
        tr, cfg = self.transformer, self.config
        blob = load_torch(files["weights.pt"], f"{path}/weights.pt")
        counts = blob["sampler_counts"].numpy()
        # the sampler needs category counts only (no rows) to draw conditional vectors
        self.sampler = CondSampler(np.zeros((0, tr.output_dim), dtype=np.float32),
                                   tr.conditional_spans, cfg.log_frequency, counts=counts)
        self.generator = Generator(cfg.embedding_dim + self.sampler.cond_dim, cfg.generator_dim,
                                   tr.output_dim)
        self.generator.load_state_dict(blob["generator"])
        self.generator.eval()
