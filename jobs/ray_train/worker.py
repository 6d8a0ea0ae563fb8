"""The Ray Train worker: `train_loop_per_worker` builds the prepared model from a typed
`WorkerConfig`, reads this rank's shard, and runs synth.models.loop.run_loop with `TrainHooks`,
the Ray implementations of the loop's hooks:

- restore: `ray.train.get_checkpoint()` (networks, optimizers, epoch, every rank's RNG state);
- validate / scores: computed on rank 0 and broadcast, so every rank takes the same decision;
- report: `ray.train.report` every epoch, a checkpoint every `checkpoint_every` epochs (rank 0
  writes it; image models add a grid of fixed-noise samples, Tune trials the model directory),
  and at the end the finished model with per-rank row counts, row digests and parameter
  checksums (what the training record and the tests check)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from jobs.ray_train.collective import Collective, digest, image_digest, param_digest
from jobs.ray_train.progress import event
from synth.api import synthesizer_class
from synth.data.images import encode_png
from synth.metrics.fidelity import column_shapes
from synth.metrics.objective import TuningTarget
from synth.models.loop import LoopConfig, LoopHooks, Metrics, run_loop
from synth.models.protocol import SynthModel
from synth.models.session import Shard, TrainingSession

STATE_FILE = "state.pt"
MODEL_DIR = "model"


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, resolved on the driver."""

    model: str  # registry name
    params: dict[str, Any]  # the family's resolved config (SynthModel.resolve_params)
    state: dict[str, Any]  # SynthModel.worker_state() of the prepared model
    loop: LoopConfig
    validation: pd.DataFrame | None = None  # tables: rows for early-stopping validation
    tuning: TuningTarget | None = None  # a Tune trial: scored every loop.score_every epochs
    with_model: bool = False  # every checkpoint carries the model directory (Tune trials)
    progress: Any = None  # a progress.Board actor: rank 0 posts each epoch for the driver's bar


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point: `config["worker"]` is a WorkerConfig."""
    import ray.train
    import ray.train.torch

    cfg: WorkerConfig = config["worker"]
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    coll = Collective(world)
    model = synthesizer_class(cfg.model).from_worker_state(cfg.params, cfg.state)
    device = ray.train.torch.get_device()
    read = read_image_shard if model.kind == "image" else read_table_shard
    shard, info = read(model, coll, rank, world, device)
    session = model.training_session(shard, wrap=ray.train.torch.prepare_model, reduce=coll.sum)
    run_loop(session, cfg.loop, TrainHooks(cfg, model, coll, rank, world, info))


def read_table_shard(model: SynthModel, coll: Collective, rank: int, world: int, device: Any
                     ) -> tuple[Shard, list[tuple[int, str]]]:
    """This rank's rows, encoded; (rows, digest) of every rank."""
    import ray.train

    shard = ray.train.get_dataset_shard("train")
    frames = list(shard.iter_batches(batch_size=65_536, batch_format="pandas"))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    info = coll.gather((len(frame), str(digest(frame))))
    encoded = model.encode(frame)
    return Shard(encoded, sum(n for n, _ in info), rank, world, device), info


def read_image_shard(model: SynthModel, coll: Collective, rank: int, world: int, device: Any
                     ) -> tuple[Shard, list[tuple[int, str]]]:
    """This rank's images (rows of {"image": C x S x S float32} and, for a conditional
    model, {"codes": int64 per attribute})."""
    import ray.train

    images, codes = [], []
    shard = ray.train.get_dataset_shard("train")
    width = len(model.labels.attributes)
    for batch in shard.iter_batches(batch_size=4096, batch_format="numpy"):
        images.append(batch["image"])
        codes.append(batch["codes"] if width else np.zeros((len(batch["image"]), 0), np.int64))
    x = np.concatenate(images) if images else np.zeros((0, model.channels, 1, 1), np.float32)
    c = np.concatenate(codes) if codes else np.zeros((0, width), np.int64)
    info = coll.gather((len(x), str(image_digest(x))))
    shard = Shard(torch.as_tensor(x), sum(n for n, _ in info), rank, world, device,
                  codes=torch.as_tensor(c, dtype=torch.long))
    return shard, info


class TrainHooks(LoopHooks):
    def __init__(self, cfg: WorkerConfig, model: SynthModel, coll: Collective, rank: int,
                 world: int, info: list[tuple[int, str]]) -> None:
        self.cfg, self.model, self.coll = cfg, model, coll
        self.rank, self.world, self.info = rank, world, info

    def restore(self, session: TrainingSession) -> list[Metrics]:
        import ray.train

        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None:
            return []
        with checkpoint.as_directory() as folder:
            state = torch.load(Path(folder) / STATE_FILE, weights_only=True)
        session.load_state_dict(state["session"])
        session.loop_state.update(state.get("loop", {}))  # early stopping's best weights
        if len(state["rng"]) == self.world:
            session.set_rng_state(state["rng"][self.rank])
        return list(state["history"])

    def validate(self, session: TrainingSession) -> float:
        """Column shapes of a sample against the validation rows (rank 0), broadcast."""
        score = None
        if self.rank == 0:
            real, model = self.cfg.validation, session.snapshot()
            score = float(column_shapes(real, model.sample(len(real), seed=1),
                                        model.metadata)["column_shapes"])
        return self.coll.broadcast(score)

    def scores(self, session: TrainingSession) -> Metrics:
        tuning = self.cfg.tuning
        if tuning is None:
            return {}
        return self.coll.broadcast(tuning.score(session.snapshot()) if self.rank == 0 else None)

    def report(self, session: TrainingSession, metrics: Metrics, history: list[Metrics],
               checkpoint: bool, final: bool) -> None:
        import ray.train

        if final:
            params = self.coll.gather(param_digest(session))
            metrics = {**metrics, "shard_rows": [n for n, _ in self.info],
                       "shard_digest": [d for _, d in self.info], "param_digest": params,
                       "stopped_at": session.epoch, "history": history}
        elif self.rank == 0:
            print(f"[raysynth] epoch {session.epoch}/{self.cfg.loop.epochs} " + " ".join(
                f"{k}={v:.4g}" for k, v in metrics.items()
                if k != "epoch" and isinstance(v, int | float)), flush=True)
        if self.rank == 0 and self.cfg.progress is not None:
            self.cfg.progress.post.remote(event(metrics, session.epoch, self.cfg.loop.epochs))
        with tempfile.TemporaryDirectory() as folder:
            ckpt = self._checkpoint(session, folder, history, final) if checkpoint else None
            ray.train.report(metrics, checkpoint=ckpt)

    def _checkpoint(self, session: TrainingSession, folder: str, history: list[Metrics],
                    final: bool) -> Any:
        """Every rank's RNG state, gathered; rank 0 writes the checkpoint directory."""
        from ray.train import Checkpoint

        rngs = self.coll.gather(session.rng_state())
        if self.rank != 0:
            return None
        torch.save({"session": session.state_dict(), "rng": rngs, "history": history,
                    "loop": session.loop_state}, Path(folder) / STATE_FILE)
        grid = session.grid()
        if grid is not None:  # image models: fixed-noise samples beside each checkpoint
            (Path(folder) / f"grid-epoch-{session.epoch:04d}.png").write_bytes(encode_png(grid))
        if final:
            session.finish()
            self.model.save(str(Path(folder) / MODEL_DIR))
        elif self.cfg.with_model:  # a tune trial registers its best model from one of these
            session.snapshot().save(str(Path(folder) / MODEL_DIR))
        return Checkpoint.from_directory(folder)
