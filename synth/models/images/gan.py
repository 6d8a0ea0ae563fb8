"""Image GANs with the synthesizer protocol: `dcgan` (unconditional) and `cgan` (conditioned on
categorical attributes). fit(images, labels) / sample(n, conditions, seed) -> ImageSample /
save / load. Sampling draws noise and attributes per block of IMAGE_BLOCK images from a
generator keyed by (seed, block), networks in eval mode, so the images for a seed do not depend
on how a request is split."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synth.config import build_config, config_to_dict
from synth.data.images import ImageData, encode_png, fit_size, load_images, to_uint8, to_unit
from synth.errors import ConditionError, DataError, ModelLoadError, NotFittedError
from synth.models.base import _check_rows, _check_seed, block_generator
from synth.models.images.config import ImageGANConfig
from synth.models.images.labels import LabelCodec
from synth.models.images.networks import Generator
from synth.models.registry import register_synthesizer
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


class ImageGAN:
    name: ClassVar[str]
    conditional: ClassVar[bool]
    config_cls = ImageGANConfig
    kind = "image"

    def __init__(self, **params: Any) -> None:
        self.config = build_config(self.config_cls, params, where=f"{self.name} model")
        self.generator: Generator | None = None
        self.labels = LabelCodec()
        self.channels = 1
        self.history: list[dict[str, float]] = []
        self.snapshots: list[tuple[int, bytes]] = []  # (epoch, PNG grid)

    # ----------------------------------------------------------------- fit
    def prepare(self, data: ImageData | np.ndarray | str, labels: pd.DataFrame | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Data at the model size, and the label codes; fixes channels and attributes."""
        data = self._as_data(data, labels)
        images = fit_size(data.images, self.config.image_size)
        self.channels = int(images.shape[1])
        attributes = list(self.config.attributes) or list(data.labels.columns)
        if self.conditional and not attributes:
            raise DataError(f"{self.name} conditions on label columns, and the data has none; "
                            "give labels (e.g. class subfolders) or use dcgan")
        self.labels = LabelCodec.fit(data.labels, attributes if self.conditional else [])
        return images, torch.as_tensor(self.labels.encode(data.labels))

    def _as_data(self, data: Any, labels: pd.DataFrame | None) -> ImageData:
        if isinstance(data, ImageData):
            return data
        if isinstance(data, str):
            return load_images(data)
        images = to_unit(data) if isinstance(data, np.ndarray) else data
        if labels is None:
            labels = pd.DataFrame(index=range(len(images)))
        return ImageData(images, pd.DataFrame(labels).reset_index(drop=True))

    def training_session(self, images: torch.Tensor, codes: torch.Tensor, global_rows: int,
                         rank: int = 0, world: int = 1, wrap: Any = None, reduce: Any = None,
                         device: torch.device | None = None) -> Any:
        from synth.models.images.session import ImageSession

        return ImageSession(self, images, codes, global_rows, rank, world, wrap, reduce, device)

    def fit(self, data: ImageData | np.ndarray | str, labels: pd.DataFrame | None = None
            ) -> ImageGAN:
        from tqdm.auto import tqdm

        from synth.models.session import pick_device

        images, codes = self.prepare(data, labels)
        session = self.training_session(images, codes, len(images),
                                        device=pick_device(self.config.device))
        self.history, self.snapshots = [], []
        every = self.config.snapshot_every
        for _ in tqdm(range(self.config.epochs), desc=f"{self.name} epochs",
                      disable=not self.config.progress):
            self.history.append(session.run_epoch())
            if every and session.epoch % every == 0:
                self.snapshots.append((session.epoch, encode_png(session.grid())))
        session.finish()
        return self

    # ----------------------------------------------------------------- sample
    def sample(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None = None,
               seed: int | None = None) -> ImageSample:
        """`num_rows` images. conditions: {attribute: value} for all, or a DataFrame with one
        row of attributes per image (null cells drawn)."""
        gen_net = self._fitted()
        n = _check_rows(num_rows)
        seed = secrets.randbits(62) if seed is None else _check_seed(seed)
        rows = self._condition_rows(conditions, n)
        images, codes = [], []
        with torch.no_grad():
            for block, start in enumerate(range(0, n, IMAGE_BLOCK)):
                gen = block_generator(seed, block)
                z = torch.randn(IMAGE_BLOCK, self.config.z_dim, generator=gen)
                code = self._block_codes(rows, start, gen)
                out = self._run(gen_net, z, self.labels.onehot(code))
                images.append(to_uint8(out)[: n - start])
                codes.append(code.numpy()[: n - start])
        labels = self.labels.decode(np.concatenate(codes)) if self.labels.attributes else \
            pd.DataFrame(index=range(n))
        return ImageSample(np.concatenate(images), labels)

    def _condition_rows(self, conditions: Any, n: int) -> list[dict[str, Any]]:
        if conditions is None:
            return [{}]
        if isinstance(conditions, dict):
            for a, v in conditions.items():
                self.labels.code_of(a, v)
            return [dict(conditions)]
        if isinstance(conditions, pd.DataFrame):
            if len(conditions) != n:
                raise ConditionError(f"num_rows ({n}) must equal the conditions table's rows "
                                     f"({len(conditions)})")
            rows = [{k: v for k, v in r.items() if not pd.isna(v)}
                    for r in conditions.to_dict(orient="records")]
            for r in {tuple(sorted(r.items(), key=str)) for r in rows}:
                for a, v in r:
                    self.labels.code_of(a, v)
            return rows
        raise ConditionError(f"conditions must be a dict or a DataFrame, got "
                             f"{type(conditions).__name__}")

    def _block_codes(self, rows: list[dict[str, Any]], start: int, gen: torch.Generator
                     ) -> torch.Tensor:
        if len(rows) == 1:
            return self.labels.draw(rows[0], IMAGE_BLOCK, gen)
        out = self.labels.draw({}, IMAGE_BLOCK, gen)
        for i, fixed in enumerate(rows[start:start + IMAGE_BLOCK]):
            if fixed:
                out[i] = self.labels.draw(fixed, 1, gen)[0]
        return out

    def _run(self, net: Generator, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        from synth.models.session import run_on

        return run_on(getattr(self, "_sample_device", None), net, z,
                      cond if cond.shape[1] else None)

    def to_device(self, device: str | torch.device) -> ImageGAN:
        self._sample_device = torch.device(device)
        self._fitted().to(self._sample_device)
        return self

    def _fitted(self) -> Generator:
        if self.generator is None:
            raise NotFittedError(f"this {self.name} model is not fitted; call fit(images) "
                                 "first or load a saved model with synth.load_synthesizer(path)")
        return self.generator

    @property
    def fitted(self) -> bool:
        return self.generator is not None

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
            model = cls(**doc.get("params", {}))
            labels = load_json(files["labels.json"], f"{path}/labels.json")
            model.channels = int(labels["channels"])
            model.labels = LabelCodec.from_json(labels)
            cfg = model.config
            net = Generator(cfg.z_dim, model.labels.dim, cfg.image_size, model.channels,
                            cfg.g_features)
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
