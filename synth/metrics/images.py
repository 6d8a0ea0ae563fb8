"""Image metrics on extractor features (synth/metrics/extractors.py), registered by name:
fid, kid, inception_score, precision_recall (k-NN manifolds, Kynkäänniemi et al. 2019), ppl
(perceptual path length on the generator's latent space, measured in the extractor's feature
space: LPIPS weights cannot be had here) and attribute_accuracy (a classifier trained on real
images predicts the attribute a conditional model was asked for). `evaluate_images` runs them
all and puts a real-vs-real split beside them as the floor."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from scipy import linalg

from synth.data.images import to_unit
from synth.registry import Registry

IMAGE_METRICS: Registry[Any] = Registry("image metric")


@IMAGE_METRICS.register("fid")
def fid(real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the two feature sets."""
    return fid_from_stats(real.mean(0), np.cov(real, rowvar=False), fake.mean(0),
                          np.cov(fake, rowvar=False))


def fid_from_stats(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance between two Gaussians given by their means and covariances."""
    with warnings.catch_warnings():  # fewer images than dimensions: singular, handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():  # near-singular: regularize as the reference does
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(covmean)))


@IMAGE_METRICS.register("kid")
def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 20, subset_size: int = 100,
        seed: int = 0) -> float:
    """Unbiased MMD² with the cubic polynomial kernel, averaged over random subsets."""
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(real), len(fake))
    d = real.shape[1]
    values = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        values.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values))


@IMAGE_METRICS.register("inception_score")
def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) on a classifier's probabilities."""
    p = np.clip(probs, 1e-12, 1)
    marginal = p.mean(0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(1).mean()))


def _radii(feats: np.ndarray, k: int) -> np.ndarray:
    d = np.sqrt(((feats[:, None] - feats[None]) ** 2).sum(-1))
    return np.sort(d, axis=1)[:, k]  # column 0 is the point itself


def _covered(points: np.ndarray, centers: np.ndarray, radii: np.ndarray) -> np.ndarray:
    d = np.sqrt(((points[:, None] - centers[None]) ** 2).sum(-1))
    return (d <= radii[None]).any(axis=1)


@IMAGE_METRICS.register("precision_recall")
def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """Precision: share of fakes inside the real k-NN manifold; recall: the reverse."""
    precision = _covered(fake, real, _radii(real, k)).mean()
    recall = _covered(real, fake, _radii(fake, k)).mean()
    return {"precision": float(precision), "recall": float(recall)}


@IMAGE_METRICS.register("ppl")
def ppl(model: Any, extractor: Any, n: int = 64, eps: float = 1e-2, seed: int = 0) -> float:
    """Mean (d(f(G(z_t)), f(G(z_t+eps))) / eps)^2 along linear paths between latent pairs (same
    attributes for both ends), features of the extractor, 1%/99% outliers dropped."""
    gen = torch.Generator().manual_seed(seed)
    cfg, net = model.config, model.generator
    z0, z1 = torch.randn(n, cfg.z_dim, generator=gen), torch.randn(n, cfg.z_dim, generator=gen)
    t = torch.rand(n, 1, generator=gen)
    cond = model.labels.onehot(model.labels.draw({}, n, gen))
    cond = cond if cond.shape[1] else None
    with torch.no_grad():
        a = net(torch.lerp(z0, z1, t), cond)
        b = net(torch.lerp(z0, z1, t + eps), cond)
    fa, fb = extractor.features(a), extractor.features(b)
    dist = ((fa - fb) ** 2).sum(1) / eps**2
    lo, hi = np.percentile(dist, [1, 99])
    return float(dist[(dist >= lo) & (dist <= hi)].mean())


@IMAGE_METRICS.register("attribute_accuracy")
def attribute_accuracy(model: Any, classifier: Any, per_value: int = 32, seed: int = 0
                       ) -> dict[str, float]:
    """For each attribute, generate `per_value` images per value and count how often the
    real-data classifier predicts the value asked for."""
    out = {}
    for attribute, values in model.labels.values.items():
        if attribute not in getattr(classifier, "columns", []):
            continue
        hits = 0
        for i, value in enumerate(values):
            sample = model.sample(per_value, conditions={attribute: value}, seed=seed + i)
            predicted = classifier.predict(to_unit(sample.images), attribute)
            hits += sum(str(p) == str(value) for p in predicted)
        out[attribute] = hits / (per_value * len(values))
    return out
