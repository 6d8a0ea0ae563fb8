"""Typed configs of the image GANs, with their search spaces beside them."""

from __future__ import annotations

from dataclasses import dataclass

from synth.config import require
from synth.models.images.networks import SIZES


@dataclass(frozen=True)
class ImageGANConfig:
    image_size: int = 64  # 32 | 64 | 128 | 256; data are center-cropped and resized to it
    z_dim: int = 100
    g_features: int = 64  # generator width (DCGAN's ngf)
    d_features: int = 64  # discriminator width (ndf)
    epochs: int = 25
    batch_size: int = 128  # per worker
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "bce"  # bce (DCGAN) | hinge
    spectral_norm: bool = False  # on the discriminator (drops its batch norm)
    attributes: tuple[str, ...] = ()  # cgan: label columns to condition on (default: all)
    snapshot_every: int = 5  # a grid of fixed-noise samples every K epochs (0: never)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    progress: bool = False

    def validate(self) -> None:
        require(self.image_size in SIZES, f"image_size must be one of {SIZES}, got "
                f"{self.image_size}")
        require(self.z_dim >= 1 and self.g_features >= 1 and self.d_features >= 1,
                "z_dim, g_features and d_features must be >= 1")
        require(self.epochs >= 0, "epochs must be >= 0")
        require(self.batch_size >= 2, "batch_size must be >= 2")
        require(self.lr > 0, "lr must be > 0")
        require(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1, beta2 must be in [0, 1)")
        require(self.loss in ("bce", "hinge"), f"loss must be bce or hinge, got {self.loss!r}")
        require(self.snapshot_every >= 0, "snapshot_every must be >= 0")

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {"lr": {"type": "loguniform", "low": 5e-5, "high": 1e-3},
                "beta1": {"type": "choice", "values": [0.0, 0.5]},
                "batch_size": {"type": "choice", "values": [64, 128]},
                "loss": {"type": "choice", "values": ["bce", "hinge"]},
                "spectral_norm": {"type": "choice", "values": [False, True]}}
