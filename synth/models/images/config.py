"""Typed configs of the image GANs, with their search spaces beside them."""

from __future__ import annotations

from dataclasses import dataclass

from synth.config import require
from synth.models.images.augment import parse_policy
from synth.models.images.networks import ARCHS, SIZES


@dataclass(frozen=True)
class Recipe:
    loss: str
    spectral_norm: bool
    augment: tuple[str, ...]
    ema: float


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
    # arch "dcgan" (the default): DCGAN networks (transposed convolutions, batch norm), BCE,
    # no EMA, and DiffAugment translation on everything the discriminator sees (measured on
    # 64 px textures, BENCHMARKS.md "Image quality": fid_ratio 17.4 -> 4.4 at 3 CPU-minutes);
    # `augment=""` gives the plain DCGAN reference. arch "sngan": a resize-convolution
    # generator, a spectral-norm hinge critic, DiffAugment color/translation/cutout and an EMA
    # generator; it measured far worse at CPU budgets. "auto" values follow the arch; set
    # them to mix.
    arch: str = "dcgan"  # dcgan | sngan
    loss: str = "auto"  # bce | hinge (auto: hinge for sngan, bce for dcgan)
    spectral_norm: str = "auto"  # on the critic (drops its batch norm): auto | on | off
    augment: str = "auto"  # DiffAugment policy: comma list of color, translation, cutout;
    #                        "" none (auto: all three for sngan, translation for dcgan)
    ema: float = -1.0  # generator weight EMA decay per step (0: off; -1: 0.999 for sngan)
    r1_gamma: float = 0.0  # R1 penalty on real images (0: off), applied every r1_every steps
    r1_every: int = 4
    attributes: tuple[str, ...] = ()  # cgan: label columns to condition on (default: all)
    snapshot_every: int = 5  # a grid of fixed-noise samples every K epochs (0: never)
    # model selection (in-process fit): every select_every epochs, the FID of the sampling
    # generator against select_images real images held out of training (features of a small
    # CNN trained on the training images' labels before the GAN, then frozen); the fit ends
    # on the best one's weights, and stops after select_patience checks without a better one
    # (0: runs every epoch). 0: off (the last epoch's weights).
    select_every: int = 0
    select_images: int = 256  # held out (at most a fifth of the data)
    select_patience: int = 0
    max_minutes: float = 0.0  # wall-clock training budget (0: none): the fit ends after the
    #                           first epoch past it (still on the best selected weights)
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
        require(self.arch in ARCHS, f"arch must be one of {sorted(ARCHS)}, got {self.arch!r}")
        require(self.loss in ("auto", "bce", "hinge"),
                f"loss must be auto, bce or hinge, got {self.loss!r}")
        require(self.spectral_norm in ("auto", "on", "off", True, False),
                f"spectral_norm must be auto, on or off, got {self.spectral_norm!r}")
        if self.augment != "auto":
            try:
                parse_policy(self.augment)
            except ValueError as exc:
                require(False, str(exc))
        require(self.ema == -1.0 or 0 <= self.ema < 1, "ema must be in [0, 1) (or -1: auto)")
        require(self.r1_gamma >= 0 and self.r1_every >= 1, "r1_gamma >= 0, r1_every >= 1")
        require(self.snapshot_every >= 0, "snapshot_every must be >= 0")
        require(self.select_every >= 0 and self.select_patience >= 0,
                "select_every and select_patience must be >= 0")
        require(self.select_images >= 16, "select_images must be >= 16")
        require(self.max_minutes >= 0, "max_minutes must be >= 0")

    def recipe(self) -> Recipe:
        """The settings with every "auto" resolved for the arch."""
        modern = self.arch == "sngan"
        sn = self.spectral_norm
        return Recipe(
            loss=self.loss if self.loss != "auto" else ("hinge" if modern else "bce"),
            spectral_norm=modern if sn == "auto" else sn in ("on", True),
            augment=parse_policy(self.augment if self.augment != "auto"
                                 else ("color,translation,cutout" if modern
                                       else "translation")),
            ema=self.ema if self.ema >= 0 else (0.999 if modern else 0.0))

    @staticmethod
    def search_space() -> dict[str, dict]:
        return {"lr": {"type": "loguniform", "low": 5e-5, "high": 1e-3},
                "beta1": {"type": "choice", "values": [0.0, 0.5]},
                "batch_size": {"type": "choice", "values": [64, 128]},
                "loss": {"type": "choice", "values": ["bce", "hinge"]},
                "augment": {"type": "choice", "values": ["", "color,translation,cutout"]}}
