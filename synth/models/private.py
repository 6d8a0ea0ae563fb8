"""What every family that trains with differential privacy shares (`dp=` in its config):
the private prepare (declared codecs, one noisy histogram release, the budget checked before any
training) and the DP-SGD budget for the rows a run trains on. A family supplies
`_released(tr)` (the numeric columns whose histograms it needs) and `_private_parts(rows, tr,
stats_noise)` (what it builds from them: argn's tokens, tvae's mixture modes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.constraints import ConstraintSet
from synth.data.gmm import ModeNormalizer
from synth.data.metadata import Metadata, check_frame, detect_metadata
from synth.data.transformer import DataTransformer
from synth.dp.accountant import Budget, stats_noise_for
from synth.dp.declared import check_declared, declared_transformer
from synth.dp.histogram import noisy_histogram
from synth.dp.plan import plan, record
from synth.models.loop import LoopConfig


class PrivateFit:
    """Mixin in front of the Synthesizer base: `_prepare` takes the private path under dp, the
    prepared state ships `dp_state` to Ray Train workers, the loop runs exactly dp.epochs."""

    config: Any
    transformer: DataTransformer | None
    constraints: ConstraintSet | None
    dp_state: dict[str, Any]

    def _prepare(self, data: pd.DataFrame, metadata: dict | Metadata | None) -> pd.DataFrame:
        if self.config.dp is not None:
            return self._prepare_private(data, metadata)
        return super()._prepare(data, metadata)  # type: ignore[misc]

    def worker_state(self) -> dict[str, Any]:
        return {**super().worker_state(), "dp_state": self.dp_state}  # type: ignore[misc]

    def _install_worker_state(self, state: dict[str, Any]) -> None:
        super()._install_worker_state(state)  # type: ignore[misc]
        self.dp_state = dict(state.get("dp_state") or {})

    def loop_config(self) -> LoopConfig:
        dp = self.config.dp
        return LoopConfig(epochs=dp.epochs) if dp is not None else super().loop_config()  # type: ignore[misc]

    def _prepare_private(self, data: pd.DataFrame, metadata: dict | Metadata | None
                         ) -> pd.DataFrame:
        check_frame(data)
        md = detect_metadata(data, metadata)
        check_declared(md)
        dp = self.config.dp
        constraints = ConstraintSet(md)
        rows = constraints.fit(data)
        tr = declared_transformer(md, self._transformer_options(), rows)  # type: ignore
        stats = None
        if self._released(tr):
            stats = dp.stats_noise if dp.noise_multiplier else stats_noise_for(
                dp.epsilon, dp.stats_share, dp.delta_for(len(rows)))
        self.dp_state = {"stats_noise": stats, "rows": len(rows)}
        self.dp_budget(len(rows))  # too small a budget fails here, before any training
        self._private_parts(rows, tr, stats or 1.0)
        self.transformer, self.constraints = tr, constraints
        return rows

    def dp_budget(self, rows: int) -> Budget:
        """DP-SGD's budget for `rows` training rows (all workers; δ for them: a Ray Train
        fit prepares on a sample of the table, whose δ would be too large)."""
        dp = self.config.dp
        return plan(dp, rows, self.config.batch_size, dp.delta_for(rows),
                    self.dp_state["stats_noise"], self._steps_per_batch())

    def _steps_per_batch(self) -> int:
        return 1

    def _released(self, tr: DataTransformer) -> list[str]:
        raise NotImplementedError

    def _private_parts(self, rows: pd.DataFrame, tr: DataTransformer, stats_noise: float
                       ) -> None:
        raise NotImplementedError


def column_histograms(rows: pd.DataFrame, tr: DataTransformer, columns: list[str],
                      stats_noise: float, seed: int, categorical: tuple[str, ...] = ()
                      ) -> dict[str, Any]:
    """The one release: a noisy histogram of each named numeric column and noisy level counts
    of each `categorical` column (a row adds 1 to one count of each), std stats_noise x
    sqrt(k) for the k columns together."""
    rng = np.random.default_rng([seed, 7607])
    std = stats_noise * np.sqrt(max(len(columns) + len(categorical), 1))
    out: dict[str, Any] = {}
    for name in categorical:
        codec = tr.codecs[name]
        counts = np.bincount(codec.encode(rows[name]),  # type: ignore[attr-defined]
                             minlength=codec.n_levels).astype(np.float64)  # type: ignore
        out[name] = counts + rng.normal(0, std, len(counts))
    for name in columns:
        codec = tr.codecs[name]
        st = codec.state  # type: ignore[attr-defined]
        out[name] = noisy_histogram(codec.to_float(rows[name]),  # type: ignore[attr-defined]
                                    float(st["min"]), float(st["max"]), st["decimals"], std,
                                    rng)
    return out


def fit_modes(tr: DataTransformer, hists: dict[str, Any], cfg: Any, seed: int) -> None:
    """Mixture modes of every number fitted to samples of its noisy histogram (post-processing
    of the release), then the transformer's spans."""
    rng = np.random.default_rng([seed, 7608])
    for name in tr.numeric_columns:
        norm = ModeNormalizer(cfg.max_modes, cfg.gmm_sample_rows)
        tr.normalizers[name] = norm.fit(hists[name].sample(cfg.gmm_sample_rows, rng), rng)
    tr._build_spans()


class PrivateSteps:
    """A training session's dp bookkeeping (argn, tvae, ctgan): the budget for the table the
    run trains on, the DP-SGD steps taken (checkpointed with the session: `dp_steps`), the
    privacy record the model keeps, and an epoch's metrics. `statistics()` says what the one
    release fed."""

    model: Any
    shard: Any
    epoch: int
    steps: int
    budget: Budget
    dp: Any = None
    dp_steps: int = 0
    STATISTICS = "declared metadata only"

    def begin_private(self, model: Any, shard: Any) -> Budget | None:
        """Under dp: the budget, and an epoch of the table over the expected batch; else
        None. Call after the plain `steps` are set."""
        self.dp, self.dp_steps = None, 0
        if model.config.dp is None:
            return None
        self.budget = model.dp_budget(shard.global_rows)
        self.steps = max(shard.global_rows // model.config.batch_size, 1)
        return self.budget

    def statistics(self) -> str:
        return self.STATISTICS

    def privacy(self) -> dict[str, Any]:
        """ε of the steps taken so far (all ranks take the same steps) and how."""
        return record(self.model.config.dp, self.budget, self.dp_steps, self.statistics())

    def private_metrics(self, **losses: float) -> dict[str, Any]:
        return {"epoch": self.epoch, **losses,
                "rows": round(self.budget.q * self.shard.global_rows * self.steps),
                "epsilon": self.privacy()["epsilon"]}

    def keep_privacy(self) -> None:
        """At the end of training: the record goes to the model (privacy.json)."""
        if self.dp is not None:
            self.model.privacy = self.privacy()
