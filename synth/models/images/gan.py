"""Image GANs with the synthesizer protocol: `dcgan` (unconditional) and `cgan` (conditioned on
categorical attributes). fit(images, labels) / sample(n, conditions, seed) -> ImageSample /
save / load. Sampling draws noise and attributes per block of IMAGE_BLOCK images from a
generator keyed by (seed, block), networks in eval mode, so the images for a seed do not depend
on how a request is split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synth.budget import check_budget
from synth.config import config_to_dict
from synth.data.images import ImageData, encode_png, fit_size, load_images, to_uint8, to_unit
from synth.errors import ConditionError, DataError, ModelLoadError, NotFittedError
from synth.models.images.config import ImageGANConfig
from synth.models.images.labels import LabelCodec, check_attributes
from synth.models.images.networks import make_generator
from synth.models.images.selection import NEVER, HeldOutFID, split_held_out
from synth.models.images.session import ImageSession
from synth.models.loop import LoopConfig
from synth.models.protocol import SynthModel
from synth.models.registry import register_synthesizer
from synth.models.seeding import block_generator, check_rows, check_start, resolve_seed
from synth.models.session import Reduce, Shard, TrainingSession, Wrap, pick_device
from synth.store import (
    json_bytes,
    load_json,
    load_torch,
    read_model_dir,
    torch_bytes,
    write_model_dir,
)

IMAGE_BLOCK = 64


@dataclass
class ImageSample:
    images: np.ndarray  # uint8, N x H x W x C
    labels: pd.DataFrame  # the condition columns, one row per image

    def __len__(self) -> int:
        return len(self.images)

    def png(self, i: int) -> bytes:
        return encode_png(self.images[i])


class ImageGAN(SynthModel):
    name: ClassVar[str]
    conditional: ClassVar[bool]
    config_cls = ImageGANConfig
    kind: ClassVar[str] = "image"

    def __init__(self, **params: Any) -> None:
        if isinstance(params.get("spectral_norm"), bool):  # the old boolean setting
            params["spectral_norm"] = "on" if params["spectral_norm"] else "off"
        super().__init__(**params)
        self.generator: torch.nn.Module | None = None
        self.labels = LabelCodec()
        self.channels = 1
        self.is_prepared = False
        self.snapshots: list[tuple[int, bytes]] = []  # (epoch, PNG grid)

    # ----------------------------------------------------------------- fit
    def prepare(self, data: ImageData | np.ndarray | str, labels: pd.DataFrame | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Data at the model size, and the label codes; fixes channels and attributes."""
        data = self._as_data(data, labels)
        images = fit_size(data.images, self.config.image_size)
        self.channels = int(images.shape[1])
        attributes = self.attributes_of(list(data.labels.columns))
        self.labels = LabelCodec.fit(data.labels, attributes)
        self.is_prepared = True
        return images, torch.as_tensor(self.labels.encode(data.labels))

    def attributes_of(self, label_columns: list[str]) -> list[str]:
        """The attributes this model conditions on, given the data's label columns: none for
        an unconditional model, else the configured ones (default: every label column)."""
        if not self.conditional:
            return []
        attributes = list(self.config.attributes) or label_columns
        if not attributes:
            raise DataError(f"{self.name} conditions on label columns, and the data has none; "
                            "give labels (e.g. class subfolders) or use dcgan")
        check_attributes(attributes, label_columns)
        return attributes

    def prepare_from(self, channels: int, labels: LabelCodec) -> None:
        """Prepare without the images (they stream to the workers): their channel count and
        the attributes' codec, counted apart (jobs.ray_data.images)."""
        if channels not in (1, 3):
            raise DataError(f"images must have 1 or 3 channels, got {channels}")
        self.channels, self.labels, self.is_prepared = channels, labels, True

    def _as_data(self, data: Any, labels: pd.DataFrame | None) -> ImageData:
        if isinstance(data, ImageData):
            return data
        if isinstance(data, str):
            return load_images(data)
        images = to_unit(data) if isinstance(data, np.ndarray) else data
        if labels is None:
            labels = pd.DataFrame(index=range(len(images)))
        return ImageData(images, pd.DataFrame(labels).reset_index(drop=True))

    @property
    def prepared(self) -> bool:
        return self.is_prepared or self.generator is not None

    def worker_state(self) -> dict[str, Any]:
        return {"labels": self.labels.to_json(), "channels": self.channels}

    def _install_worker_state(self, state: dict[str, Any]) -> None:
        self.labels = LabelCodec.from_json(state["labels"])
        self.channels, self.is_prepared = int(state["channels"]), True

    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> ImageSession:
        return ImageSession(self, shard, wrap, reduce, device)

    def fit(self, data: ImageData | np.ndarray | str, labels: pd.DataFrame | None = None
            ) -> ImageGAN:
        data = self._as_data(data, labels)
        images, codes = self.prepare(data)
        self.snapshots, hooks = [], None
        if self.config.select_every:  # hold images out for the FID that picks the weights
            keep, held = split_held_out(len(images), self.config.select_images,
                                        self.config.seed)
            train = (images[keep], data.labels.iloc[keep].reset_index(drop=True))
            hooks = HeldOutFID(self, train, (images[held], codes[held]), self._snapshot)
            images, codes = images[keep], codes[keep]
        self.train_in_process(Shard(images, len(images), codes=codes,
                                    device=pick_device(self.config.device)),
                              on_epoch=self._snapshot, hooks=hooks)
        return self

    def loop_config(self) -> LoopConfig:
        """Held-out FID selection when asked (keep the best weights; stop after
        select_patience checks without a better one), and the wall-clock budget."""
        cfg = self.config
        return LoopConfig(epochs=cfg.epochs, validate_every=max(cfg.select_every, 1),
                          early_stop_patience=(cfg.select_patience or NEVER)
                          if cfg.select_every else 0, keep_best=bool(cfg.select_every),
                          max_seconds=60.0 * cfg.max_minutes)

    def _snapshot(self, session: TrainingSession, metrics: dict[str, Any]) -> None:
        every = self.config.snapshot_every
        grid = session.grid() if every and session.epoch % every == 0 else None
        if grid is not None:
            self.snapshots.append((session.epoch, encode_png(grid)))

    # ----------------------------------------------------------------- sample
    def check_conditions(self, conditions: dict[str, Any] | pd.DataFrame | None,
                         num_rows: int | None = None) -> None:
        if isinstance(conditions, dict) and any(isinstance(v, dict) for v in conditions.values()):
            raise ConditionError("image attributes are categorical: give values, not ranges")
        if isinstance(conditions, pd.DataFrame) and num_rows is not None \
                and len(conditions) != num_rows:
            raise ConditionError(f"num_rows ({num_rows}) must equal the conditions table's rows "
                                 f"({len(conditions)})")
        self._condition_rows(conditions)

    def sample(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None = None,
               seed: int | None = None, start: int = 0) -> ImageSample:
        """`num_rows` images. conditions: {attribute: value} for all, or a DataFrame with one
        row of attributes per image (null cells drawn). `start`: images start..start+num_rows
        of what `sample(start + num_rows, conditions, seed)` returns (a conditions table then
        has start + num_rows rows). Image i is in block i // IMAGE_BLOCK, keyed (seed, block)."""
        gen_net = self._fitted()
        n, start = check_rows(num_rows), check_start(start)
        seed = resolve_seed(seed)
        first = start - start % IMAGE_BLOCK
        if isinstance(conditions, pd.DataFrame):
            self.check_conditions(conditions, start + n)
            conditions = conditions.iloc[first:start + n]
        rows = self._condition_rows(conditions)
        per_row = isinstance(conditions, pd.DataFrame)
        images, codes = [], []
        with torch.no_grad():
            for at in range(first, start + n, IMAGE_BLOCK):
                check_budget()
                gen = block_generator(seed, at // IMAGE_BLOCK)
                z = torch.randn(IMAGE_BLOCK, self.config.z_dim, generator=gen)
                code = self._block_codes(rows, per_row, at - first, gen)
                cond = self.labels.onehot(code)
                out = self._run_network(gen_net, z, cond if cond.shape[1] else None)
                lo, hi = max(start - at, 0), min(start + n - at, IMAGE_BLOCK)
                images.append(to_uint8(out)[lo:hi])
                codes.append(code.numpy()[lo:hi])
        labels = self.labels.decode(np.concatenate(codes)) if self.labels.attributes else \
            pd.DataFrame(index=range(n))
        return ImageSample(np.concatenate(images), labels)

    def _condition_rows(self, conditions: Any) -> list[dict[str, Any]]:
        """One dict of fixed attributes for all images, or one per row; values checked."""
        if conditions is None:
            return [{}]
        if isinstance(conditions, dict):
            for a, v in conditions.items():
                self.labels.code_of(a, v)
            return [dict(conditions)]
        if isinstance(conditions, pd.DataFrame):
            rows = [{k: v for k, v in r.items() if not pd.isna(v)}
                    for r in conditions.to_dict(orient="records")]
            for r in {tuple(sorted(r.items(), key=str)) for r in rows}:
                for a, v in r:
                    self.labels.code_of(a, v)
            return rows
        raise ConditionError(f"conditions must be a dict or a DataFrame, got "
                             f"{type(conditions).__name__}")

    def _block_codes(self, rows: list[dict[str, Any]], per_row: bool, start: int,
                     gen: torch.Generator) -> torch.Tensor:
        """The label codes of one block: the fixed attributes for all, or row by row."""
        if not per_row:
            return self.labels.draw(rows[0], IMAGE_BLOCK, gen)
        out = self.labels.draw({}, IMAGE_BLOCK, gen)
        for i, fixed in enumerate(rows[start:start + IMAGE_BLOCK]):
            if fixed:
                out[i] = self.labels.draw(fixed, 1, gen)[0]
        return out

    def _networks(self) -> list[torch.nn.Module]:
        return [self._fitted()]

    def _fitted(self) -> torch.nn.Module:
        if self.generator is None:
            raise NotFittedError(f"this {self.name} model is not fitted; call fit(images) "
                                 "first or load a saved model with synth.load_synthesizer(path)")
        return self.generator

    @property
    def fitted(self) -> bool:
        return self.generator is not None

    @property
    def columns(self) -> list[str]:
        return list(self.labels.attributes)

    # ----------------------------------------------------------------- save / load
    def save(self, path: str, extra: dict[str, bytes] | None = None) -> str:
        gen = self._fitted()
        state = {k: v.detach().cpu() for k, v in gen.state_dict().items()}
        files = {
            "config.json": json_bytes({"synthesizer": self.name, "format": 1, "kind": "image",
                                       "params": config_to_dict(self.config)}),
            "labels.json": json_bytes({"channels": self.channels, **self.labels.to_json()}),
            "weights.pt": torch_bytes({"generator": state}),
            "training.json": json_bytes({"history": self.history}),
            **{f"snapshots/epoch-{e:04d}.png": png for e, png in self.snapshots},
            **(extra or {}),
        }
        write_model_dir(str(path), files)
        return str(path)

    @classmethod
    def load(cls, path: str) -> ImageGAN:
        files = read_model_dir(str(path), ["config.json", "labels.json", "weights.pt"])
        doc = load_json(files["config.json"], f"{path}/config.json")
        try:
            params = dict(doc.get("params", {}))
            params.setdefault("arch", "dcgan")  # saved before the arch setting: DCGAN
            model = cls(**params)
            labels = load_json(files["labels.json"], f"{path}/labels.json")
            model.channels = int(labels["channels"])
            model.labels = LabelCodec.from_json(labels)
            cfg = model.config
            net = make_generator(cfg.arch, cfg.z_dim, model.labels.dim, cfg.image_size,
                                 model.channels, cfg.g_features)
            net.load_state_dict(load_torch(files["weights.pt"], f"{path}/weights.pt")["generator"])
            model.generator = net.eval()
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load {cls.name} model from {path!r}: {exc}") from None
        return model


@register_synthesizer("dcgan")
class DCGAN(ImageGAN):
    name = "dcgan"
    conditional = False


@register_synthesizer("cgan")
class CGAN(ImageGAN):
    name = "cgan"
    conditional = True
