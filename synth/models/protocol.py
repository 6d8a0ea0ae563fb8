"""The public model protocol that every family implements (tables and images now; new table
families and specs later), so that jobs/ and serving/ never look inside a model:

- `name` (the registry name), `kind` ("table" | "image"), `config_cls` (a frozen dataclass);
- `resolve_params(params)`: the family's full typed config as a dict, checked (a typo fails
  with a "did you mean" before any data is read or Ray is started);
- `fit`, `sample(num_rows, conditions, seed, start=0)`, `check_conditions`, `save` / `load`;
- for families that train in epochs: `trains_in_epochs()`, `training_session(shard)` (the
  session that synth.models.loop runs in-process, on Ray Train workers and in Tune trials),
  `worker_state()` / `from_worker_state(params, state)`: what a worker needs to build the same
  prepared model (the fitted transformer, or the label codes of an image model);
- `to_device(device)`: run the sampling network there (a seed's rows are the same per kind of
  device; synth.models.seeding holds the seeding rule)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from synth.config import build_config, config_to_dict
from synth.errors import SynthError
from synth.models.loop import LoopConfig, Metrics, ProgressHooks, run_loop
from synth.models.session import Reduce, Shard, TrainingSession, Wrap, no_reduce, no_wrap, run_on


class SynthModel(ABC):
    name: ClassVar[str]
    kind: ClassVar[str]
    config_cls: ClassVar[type]

    def __init__(self, **params: Any) -> None:
        self.config = build_config(self.config_cls, params, where=f"{self.name} model")
        self.history: list[Metrics] = []
        self.sample_device: torch.device | None = None

    @classmethod
    def resolve_params(cls, params: dict[str, Any] | None) -> dict[str, Any]:
        """Every parameter of the family (defaults filled in), checked; unknown names raise a
        ConfigError that suggests the closest valid one."""
        return config_to_dict(build_config(cls.config_cls, params, where=f"{cls.name} model"))

    # ----------------------------------------------------------------- training
    @classmethod
    def trains_in_epochs(cls) -> bool:
        """Whether the model trains epoch by epoch (and so can train data-parallel)."""
        return cls._session is not SynthModel._session

    def training_session(self, shard: Shard, wrap: Wrap | None = None,
                         reduce: Reduce | None = None) -> TrainingSession:
        """The training session over `shard` of a prepared model (synth.models.loop runs it)."""
        if not self.prepared:
            raise SynthError(f"this {self.name} model is not prepared: call prepare(data) "
                             "first, or build it with from_worker_state")
        return self._session(shard, wrap or no_wrap, reduce or no_reduce,
                             shard.device or torch.device("cpu"))

    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> TrainingSession:
        raise SynthError(f"{self.name} does not train in epochs, so it cannot train "
                         "data-parallel; fit it in one process (num_workers=1)")

    def loop_config(self) -> LoopConfig:
        """How this model's in-process fit runs the loop."""
        return LoopConfig(epochs=int(self.config.epochs))

    def train_in_process(self, shard: Shard,
                         on_epoch: Callable[[TrainingSession, Metrics], None] | None = None,
                         hooks: ProgressHooks | None = None, loop: LoopConfig | None = None
                         ) -> None:
        """The loop over all of `shard` in this process (what `fit` does); `hooks` (a
        ProgressHooks, e.g. with a validation) replace the plain progress bar, `loop` the
        model's loop_config()."""
        session = self.training_session(shard)
        hooks = hooks or ProgressHooks(self.name, self.config.epochs, self.config.progress,
                                       on_epoch)
        self.history = run_loop(session, loop or self.loop_config(), hooks)
        session.finish()

    @property
    @abstractmethod
    def prepared(self) -> bool:
        """Ready for a training session (transformer fitted / label codes known)."""

    @abstractmethod
    def worker_state(self) -> dict[str, Any]:
        """What a training worker needs to rebuild this prepared model (plain values and
        arrays, no pickled objects)."""

    @abstractmethod
    def _install_worker_state(self, state: dict[str, Any]) -> None: ...

    @classmethod
    def from_worker_state(cls, params: dict[str, Any], state: dict[str, Any]) -> SynthModel:
        """A prepared, untrained model from `resolve_params` output and `worker_state()`."""
        model = cls(**params)
        model._install_worker_state(state)
        return model

    # ----------------------------------------------------------------- sampling
    @property
    @abstractmethod
    def fitted(self) -> bool: ...

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """The columns of a sample (tables) or the label attributes (images)."""

    @abstractmethod
    def check_conditions(self, conditions: Any, num_rows: int | None = None) -> None:
        """Raise ConditionError (naming the column/value and the valid choices) unless the
        model can be asked for `conditions`; with `num_rows`, a per-row table must have that
        many rows. Draws nothing."""

    @abstractmethod
    def sample(self, num_rows: int, conditions: Any = None, seed: int | None = None,
               **kwargs: Any) -> Any: ...

    def to_device(self, device: str | torch.device) -> SynthModel:
        """Run the sampling network on `device` (e.g. "cuda"); noise is still drawn on the CPU
        from the per-block generators, so a seed gives the same rows (bit for bit on the same
        kind of device: GPU kernels round differently from CPU ones)."""
        self.sample_device = torch.device(device)
        for net in self._networks():
            net.to(self.sample_device)
        return self

    def _networks(self) -> list[nn.Module]:
        """The modules sampling runs (none for models without a network)."""
        return []

    def _run_network(self, net: nn.Module, *inputs: torch.Tensor | None) -> torch.Tensor:
        """`net(*inputs)` on the sampling device, returned on the CPU."""
        return run_on(self.sample_device, net, *inputs)

    # ----------------------------------------------------------------- storage
    @abstractmethod
    def save(self, path: str, extra: dict[str, bytes] | None = None) -> str: ...

    @classmethod
    @abstractmethod
    def load(cls, path: str) -> SynthModel: ...
