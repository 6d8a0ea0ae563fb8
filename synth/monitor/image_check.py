"""A check of a batch of images (generated, or new real ones) against an image baseline
(synth/monitor/image_baseline.py), in the baseline's frozen feature space:

    result = synth.monitor.image_check("runs/monitor/digits", "batch.npz",
                                       output="runs/monitor/digits-check-1")

- `features`: the FID between the batch's features and the baseline's, and its ratio to the
  baseline's real-vs-real floor (flagged over `fid_ratio`, default 3: the image-quality bar);
- each attribute: the shares of its values as the baseline's classifier judges the batch,
  against its judgement of the baseline's images (PSI, Jensen-Shannon; flagged over their
  thresholds), and where the batch carries the label (a conditional model's output), how
  often the classifier agrees with it;
- `pixels`: the intensity histogram against the baseline's (PSI, Jensen-Shannon);
- rule violations: a size or channel count other than the baseline's (the batch is resized or
  converted to measure it), label values the baseline never saw.
The result is the tabular check's (CheckResult, kind "images"): the same files, history and
report."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from synth.data.images import ImageData, load_images
from synth.errors import DataError
from synth.metrics.images import fid_from_stats
from synth.monitor.drift import js as js_distance
from synth.monitor.drift import psi
from synth.monitor.image_baseline import MIN_IMAGES, ImageBaseline, pixel_stats
from synth.monitor.result import Checked, CheckResult, Thresholds, write_result


def image_check(base: ImageBaseline | str, data: str | ImageData, output: str | None = None,
                thresholds: Thresholds | None = None, examples: int = 5,
                history: str | None = None, label_columns: list[str] | None = None
                ) -> CheckResult:
    where = base if isinstance(base, str) else ""
    base = ImageBaseline.load(base) if isinstance(base, str) else base
    batch = load_images(data, label_columns=label_columns) if isinstance(data, str) else data
    if len(batch.images) < MIN_IMAGES:
        raise DataError(f"an image check needs at least {MIN_IMAGES} images (FID of fewer "
                        f"means little), got {len(batch.images)}")
    asked = Checked(data if isinstance(data, str) else "ImageData", where, output, history,
                    thresholds or Thresholds(), examples)
    result = judge_images(base, batch, asked.thresholds, examples)
    result.data, result.baseline = asked.data, asked.baseline
    history_path = asked.history or (f"{where.rstrip('/')}/history.parquet" if where else None)
    write_result(result, output, history_path)
    return result


def judge_images(base: ImageBaseline, batch: ImageData, thresholds: Thresholds,
                 examples: int) -> CheckResult:
    stats = base.statistics
    violations = _violations(base, batch, examples)
    x = conform(batch.images, stats["channels"], stats["size"])
    feats = base.extractor.features(x)
    fid = fid_from_stats(base.mean, base.cov, feats.mean(0), np.cov(feats, rowvar=False))
    floor = float(stats["extractor"]["fid_floor"])
    drift: dict[str, dict[str, Any]] = {"features": _entry(
        {"fid": fid, "fid_floor": floor, "fid_ratio": fid / floor if floor > 0 else None})}
    pixels = np.asarray(pixel_stats(x)["histogram"])
    real_pixels = np.asarray(stats["pixels"]["histogram"])
    drift["pixels"] = _entry({"psi": psi(real_pixels, pixels), "js": js_distance(real_pixels,
                                                                                 pixels)})
    dists = {"pixels": {"labels": [f"{v:.2f}" for v in np.linspace(-1, 1, len(pixels) + 1)[:-1]],
                        "baseline": real_pixels.tolist(), "current": pixels.tolist()}}
    for attr in base.extractor.columns:
        judged = np.asarray(base.extractor.predict(x, attr)).astype(str)
        drift[attr], dists[attr] = _attribute(stats["judged"][attr], judged,
                                              batch.labels.get(attr))
    flagged: dict[str, list[str]] = {}
    for v in violations:
        flagged.setdefault(v["column"], []).append(f"{v['rule']['type']}: {v['count']} rows")
    for name, d in drift.items():
        d["flags"] = [f"{m} {d[m]:.3g} > {getattr(thresholds, m)}"
                      for m in ("fid_ratio", "psi", "js")
                      if d.get(m) is not None and getattr(thresholds, m) is not None
                      and d[m] > getattr(thresholds, m)]
        if d["flags"]:
            flagged.setdefault(name, []).extend(d["flags"])
    return CheckResult(len(x), violations, drift, flagged, thresholds, distributions=dists,
                       kind="images")


def conform(images: torch.Tensor, channels: int, size: list[int]) -> torch.Tensor:
    """The batch at the baseline's channel count and size (what the classifier reads)."""
    x = images
    if x.shape[1] != channels:
        x = x.mean(1, keepdim=True) if channels == 1 else x.expand(-1, channels, -1, -1)
    if list(x.shape[-2:]) != list(size):
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
    return x.clamp(-1, 1).contiguous()


def _entry(figures: dict[str, Any]) -> dict[str, Any]:
    out = {"psi": None, "js": None, "ks": None, "wasserstein": None, "null_share": 0.0,
           "baseline_null_share": 0.0, **figures}
    return {k: (round(float(v), 6) if isinstance(v, float | np.floating) else v)
            for k, v in out.items()}


def _attribute(freq: dict[str, int], judged: np.ndarray, labels: Any
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    names = sorted(set(freq) | set(judged.tolist()))
    base = np.array([freq.get(n, 0) for n in names], dtype=np.float64)
    base /= base.sum()
    cur = np.array([(judged == n).mean() for n in names])
    entry = _entry({"psi": psi(base, cur), "js": js_distance(base, cur),
                    "total_variation": float(np.abs(base - cur).sum() / 2)})
    if labels is not None:
        entry["agreement"] = round(float((labels.astype(str).to_numpy() == judged).mean()), 6)
    return entry, {"labels": names, "baseline": base.tolist(), "current": cur.tolist()}


def _violations(base: ImageBaseline, batch: ImageData, examples: int) -> list[dict[str, Any]]:
    rows = len(batch.images)
    out = []
    for rule in base.constraints:
        found: list[Any] = []
        if rule["type"] == "size" and list(batch.images.shape[-2:]) != list(rule["size"]):
            count, found = rows, [list(batch.images.shape[-2:])]
        elif rule["type"] == "channels" and batch.channels != int(rule["channels"]):
            count, found = rows, [batch.channels]
        elif rule["type"] == "categories" and rule["column"] in batch.labels.columns:
            values = batch.labels[rule["column"]].astype(str)
            bad = ~values.isin(set(rule["allowed"]))
            count, found = int(bad.sum()), sorted(set(values[bad]))
        else:
            continue
        if count:
            out.append({"rule": rule, "column": rule["column"], "count": count,
                        "share": round(count / rows, 6),
                        "examples": found[:examples] if examples else []})
    return out
