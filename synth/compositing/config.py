"""The compositing job's one typed config (CLI flags, YAML and the Python call)."""

from __future__ import annotations

from dataclasses import dataclass

from synth.compositing.boxes import FORMATS
from synth.config import require

INVALID = ("error", "skip")


@dataclass(frozen=True)
class CompositeConfig:
    backgrounds: str = ""  # folder/prefix of background images
    objects: str = ""  # folder/prefix of object images (subfolders: categories)
    boxes: str = ""  # table: one output image per row
    output: str = ""  # prefix: images/, annotations/, coco.json, _manifest.json
    box_column: str = "boxes"
    box_format: str = "xyxy"  # xyxy | xywh | cxcywh
    relative: bool = False  # coordinates as fractions of the background's width and height
    object_column: str = "object"  # optional: a category, a file, or one per box
    background_column: str = "background"  # optional: a background file or category
    invalid: str = "error"  # a box empty after rounding or outside the frame: error | skip
    masks: bool = True  # COCO RLE masks of what each object left visible
    seed: int = 0  # picks of backgrounds and objects: row r uses (seed, r)
    images_per_file: int = 500  # images per annotation part (one Ray task each)
    concurrency: int = 2  # Ray Data tasks at once
    num_cpus: float = 1.0  # per task
    overwrite: bool = False  # replace another run's files under the output prefix

    def validate(self) -> None:
        for name in ("backgrounds", "objects", "boxes", "output"):
            require(bool(getattr(self, name)), f"{name} is required: --{name} PATH")
        require(self.box_format in FORMATS, f"box_format must be one of "
                f"{', '.join(FORMATS)}, got {self.box_format!r}")
        require(self.invalid in INVALID,
                f"invalid must be one of {', '.join(INVALID)}, got {self.invalid!r}")
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        require(self.images_per_file >= 1, "images_per_file must be >= 1")
        require(self.concurrency >= 1, "concurrency must be >= 1")
        require(not self.output.endswith((".csv", ".parquet", ".json", ".png")),
                f"output is a prefix (a folder or s3://bucket/prefix), got {self.output!r}")

    def run_record(self) -> dict:
        """What makes two runs write the same files (not how many tasks write them)."""
        skip = ("concurrency", "num_cpus", "overwrite")
        return {k: v for k, v in self.__dict__.items() if k not in skip}
