"""Ray Train glue of the train job: data-parallel (DDP) training of any model that trains in
epochs (synth.models.session), with each worker reading only its shard, checkpoints to the
storage path and resumption after lost workers or nodes.

Driver: fit the transformer once on a bounded random sample (Ray Data) and hand its state to
every worker, so all ranks encode identically; run a TorchTrainer over the dataset (Ray Train
splits it, the ranks' row sets are disjoint); register the final model with its training
record. Worker (`train_loop_per_worker`): encode the shard, sum the category counts and row
counts over ranks, wrap the networks with `ray.train.torch.prepare_model` (DDP: gloo on CPU,
NCCL on GPU), resume from `ray.train.get_checkpoint()` when there is one, then report every
epoch and checkpoint every `checkpoint_every` epochs (networks, optimizers, epoch and every
rank's RNG state)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

STATE_FILE = "state.pt"
MODEL_DIR = "model"


# ------------------------------------------------------------------ collectives
class Collective:
    """Sums and gathers over the ranks (torch.distributed; no-ops for one worker)."""

    def __init__(self, world: int) -> None:
        self.world = world

    def sum(self, values: np.ndarray) -> np.ndarray:
        if self.world == 1:
            return values
        t = torch.as_tensor(np.asarray(values, dtype=np.float64))
        torch.distributed.all_reduce(t)
        return t.numpy()

    def gather(self, obj: Any) -> list[Any]:
        if self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        if self.world == 1:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]


# ------------------------------------------------------------------ worker
def _build_model(config: dict[str, Any]) -> Any:
    import synth
    from synth.data.transformer import DataTransformer

    model = synth.create_synthesizer(config["model"], **config["params"])
    if config.get("kind") == "image":
        from synth.models.images.labels import LabelCodec

        model.labels, model.channels = LabelCodec.from_json(config["labels"]), config["channels"]
    else:
        model.transformer = DataTransformer.from_state(*config["transformer"])
    return model


def _table_session(model: Any, coll: Collective, rank: int, world: int, device: Any
                   ) -> tuple[Any, list[tuple[int, str]]]:
    import ray.train.torch

    from synth.models.session import Shard

    frame = _read_shard()
    encoded = model.encode(frame)
    shard_info = coll.gather((len(frame), str(digest(frame))))
    global_rows = sum(n for n, _ in shard_info)
    session = model.training_session(
        Shard(encoded, global_rows, rank, world, device), wrap=ray.train.torch.prepare_model,
        reduce=coll.sum, device=device)
    return session, shard_info


def _image_session(model: Any, coll: Collective, rank: int, world: int, device: Any
                   ) -> tuple[Any, list[tuple[int, str]]]:
    """This rank's images (rows of {"image": C x S x S float32, "codes": int64[]})."""
    import ray.train
    import ray.train.torch

    shard = ray.train.get_dataset_shard("train")
    images, codes = [], []
    for batch in shard.iter_batches(batch_size=4096, batch_format="numpy"):
        images.append(batch["image"])
        codes.append(batch["codes"])
    x = np.concatenate(images) if images else np.zeros((0, model.channels, 1, 1), np.float32)
    c = np.concatenate(codes) if codes else np.zeros((0, len(model.labels.attributes)))
    fingerprint = int(np.frombuffer(x.tobytes(), dtype=np.uint8).sum(dtype=np.uint64))
    shard_info = coll.gather((len(x), str(fingerprint)))
    session = model.training_session(
        torch.as_tensor(x), torch.as_tensor(c, dtype=torch.long),
        sum(n for n, _ in shard_info), rank, world, wrap=ray.train.torch.prepare_model,
        device=device)
    return session, shard_info


def _read_shard() -> pd.DataFrame:
    import ray.train

    shard = ray.train.get_dataset_shard("train")
    frames = [b for b in shard.iter_batches(batch_size=65_536, batch_format="pandas")]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def digest(df: pd.DataFrame) -> int:
    """Order-free fingerprint of a set of rows: the sum of their hashes modulo 2**64 (the
    digests of disjoint shards add up to the digest of the whole table)."""
    if len(df) == 0:
        return 0
    return int(pd.util.hash_pandas_object(df, index=False).to_numpy().sum(dtype=np.uint64))


def param_digest(session: Any) -> float:
    """A checksum of this rank's trainable parameters (DDP keeps them identical on every
    rank; normalization running statistics are per-rank buffers and are left out)."""
    state = session.state_dict()
    tensors = [t for key, sd in sorted(state.items()) if key[:3] != "opt" and isinstance(sd, dict)
               for name, t in sorted(sd.items()) if torch.is_tensor(t) and t.is_floating_point()
               and "running_" not in name]
    return float(sum(t.double().sum().item() * (i + 1) for i, t in enumerate(tensors)))


def _restore(session: Any, rank: int, world: int) -> list[dict[str, Any]]:
    """Load the last checkpoint into the session (if any); returns the epochs' history."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return []
    with checkpoint.as_directory() as folder:
        state = torch.load(Path(folder) / STATE_FILE, weights_only=True)
    session.load_state_dict(state["session"])
    if len(state["rng"]) == world:
        session.set_rng_state(state["rng"][rank])
    return list(state["history"])


def _checkpoint(session: Any, coll: Collective, rank: int, folder: str,
                history: list[dict[str, Any]], with_model: bool = False) -> Any:
    """Every rank's RNG state, gathered; rank 0 writes the checkpoint directory."""
    from ray.train import Checkpoint

    rngs = coll.gather(session.rng_state())
    if rank != 0:
        return None
    torch.save({"session": session.state_dict(), "rng": rngs, "history": history},
               Path(folder) / STATE_FILE)
    if with_model:  # a tune trial registers its best model from one of these
        session.snapshot().save(str(Path(folder) / MODEL_DIR))
    if hasattr(session, "grid"):  # image models: fixed-noise samples beside each checkpoint
        from synth.data.images import encode_png

        (Path(folder) / f"grid-epoch-{session.epoch:04d}.png").write_bytes(
            encode_png(session.grid()))
    return Checkpoint.from_directory(folder)


def _validate(session: Any, config: dict[str, Any]) -> float:
    from synth.metrics.fidelity import column_shapes

    real = config["validation"]
    model = session.snapshot()
    return float(column_shapes(real, model.sample(len(real), seed=1), model.metadata)[
        "column_shapes"])


def _tune_scores(session: Any, tuning: dict[str, Any]) -> dict[str, float]:
    """A Ray Tune trial made of Train workers: the trial's objective, on rank 0."""
    from jobs.tune import objective

    return objective(session.snapshot(), tuning["train"], tuning["valid"], tuning["spec"])


def _should_stop(scores: list[float], patience: int) -> bool:
    if patience <= 0 or len(scores) <= patience:
        return False
    return max(scores[-patience:]) <= max(scores[:-patience])


def train_loop_per_worker(config: dict[str, Any]) -> None:
    import ray.train
    import ray.train.torch

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    coll = Collective(world)
    model = _build_model(config)
    device = ray.train.torch.get_device()
    build = _image_session if config.get("kind") == "image" else _table_session
    session, shard_info = build(model, coll, rank, world, device)
    history = _restore(session, rank, world)
    resumed_from = session.epoch
    scores: list[float] = []
    start = time.perf_counter()
    if session.epoch >= config["epochs"]:  # the run had finished its epochs before a restart
        _final_report(session, coll, rank, {"epoch": session.epoch,
                      "resumed_from": resumed_from}, shard_info, model, history)
        return
    while session.epoch < config["epochs"]:
        tick = time.perf_counter()
        metrics = session.run_epoch()
        seconds = time.perf_counter() - tick
        metrics.update(rows_per_s=metrics["rows"] / seconds, epoch_s=seconds,
                       elapsed_s=time.perf_counter() - start, resumed_from=resumed_from)
        last = session.epoch >= config["epochs"]
        if config["early_stop_patience"] and session.epoch % config["validate_every"] == 0:
            score = _validate(session, config) if rank == 0 else None
            scores.append(coll.broadcast(score))
            metrics["validation_shapes"] = scores[-1]
            last = last or coll.broadcast(_should_stop(scores, config["early_stop_patience"]))
        tuning = config.get("tune")
        if tuning and (last or session.epoch % tuning["spec"]["report_every"] == 0):
            metrics.update(coll.broadcast(_tune_scores(session, tuning) if rank == 0 else None))
        history.append(dict(metrics))
        if last:
            _final_report(session, coll, rank, metrics, shard_info, model, history)
            return
        with tempfile.TemporaryDirectory() as folder:
            due = session.epoch % config["checkpoint_every"] == 0
            ckpt = _checkpoint(session, coll, rank, folder, history,
                               with_model=bool(config.get("tune"))) if due else None
            if rank == 0:
                print(f"[raysynth] epoch {session.epoch}/{config['epochs']} " + " ".join(
                    f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch"), flush=True)
            ray.train.report(metrics, checkpoint=ckpt)


def _final_report(session: Any, coll: Collective, rank: int, metrics: dict[str, Any],
                  shard_info: list[tuple[int, str]], model: Any,
                  history: list[dict[str, Any]]) -> None:
    """Last checkpoint: the training state plus the finished model directory, and what the
    tests and the registration need (per-rank rows, row digests and parameter checksums)."""
    import ray.train

    params = coll.gather(param_digest(session))
    metrics.update(shard_rows=[n for n, _ in shard_info], shard_digest=[d for _, d in shard_info],
                   param_digest=params, stopped_at=session.epoch, history=history)
    with tempfile.TemporaryDirectory() as folder:
        ckpt = _checkpoint(session, coll, rank, folder, history)
        if rank == 0:
            session.finish()
            model.save(str(Path(folder) / MODEL_DIR))
        ray.train.report(metrics, checkpoint=ckpt)


# ------------------------------------------------------------------ driver
def transformer_sample(ds: Any, rows: int, seed: int) -> tuple[pd.DataFrame, int]:
    """(about `rows` random rows, total row count) of a Ray Dataset."""
    total = ds.count()
    if total <= rows:
        return ds.to_pandas(), total
    fraction = min(1.0, 1.2 * rows / total)
    return ds.random_sample(fraction, seed=seed).limit(rows).to_pandas(), total


def storage(uri: str) -> tuple[str, Any]:
    """(storage_path, storage_filesystem) for RunConfig: local paths made absolute; s3:// with
    the endpoint/credentials of the environment (synth.data.io)."""
    from synth.data.io import filesystem, is_s3

    if is_s3(uri):
        fs, path = filesystem(uri)
        return path, fs
    return str(Path(uri).expanduser().absolute()), None


def loop_config(cfg: Any, model: Any, sample: pd.DataFrame) -> dict[str, Any]:
    return {"model": cfg.model, "params": dict(cfg.params), "epochs": model.config.epochs,
            "transformer": model.transformer.state(), "checkpoint_every": cfg.checkpoint_every,
            "early_stop_patience": cfg.early_stop_patience, "validate_every": cfg.validate_every,
            "validation": sample.head(cfg.validation_rows) if cfg.early_stop_patience else None}


def fit_distributed(cfg: Any, metadata: dict | None) -> tuple[Any, Any, pd.DataFrame]:
    """Run the TorchTrainer; returns (fitted model, ray Result, the transformer sample)."""
    import synth
    from jobs.streaming import read

    ds = read(cfg.data)
    sample, _ = transformer_sample(ds, cfg.sample_rows, int(cfg.params.get("seed", 0)))
    model = synth.create_synthesizer(cfg.model, **cfg.params).prepare(sample, metadata)
    fitted, result = run_trainer(cfg, loop_config(cfg, model, sample), ds)
    return fitted, result, sample


def run_trainer(cfg: Any, config: dict[str, Any], ds: Any) -> tuple[Any, Any]:
    """A TorchTrainer over `ds` with the job's scaling, storage, checkpoint and failure
    settings; returns (the final model, the ray Result)."""
    import ray.train
    from ray.train.torch import TorchTrainer

    import synth

    path, fs = storage(cfg.storage)
    resources = dict(cfg.resources_per_worker) or {"CPU": cfg.num_cpus}
    trainer = TorchTrainer(
        train_loop_per_worker, train_loop_config=config,
        scaling_config=ray.train.ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                                               resources_per_worker=resources),
        run_config=ray.train.RunConfig(
            name=cfg.run_name or f"{cfg.model}-{int(time.time())}", storage_path=path,
            storage_filesystem=fs,
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2),
            failure_config=ray.train.FailureConfig(max_failures=cfg.max_failures)),
        datasets={"train": ds})
    result = trainer.fit()
    with result.checkpoint.as_directory() as folder:
        fitted = synth.load_synthesizer(str(Path(folder) / MODEL_DIR))
    return fitted, result
