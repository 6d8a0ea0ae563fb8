"""Privacy accounting: Rényi DP of the sampled Gaussian mechanism (Mironov 2017; Mironov, Talwar
& Zhang 2019), computed by Opacus's RDP analysis, not by a formula of ours.

Two releases touch the real rows and compose under RDP (their orders' RDP values add up):
- the data statistics the model's tokens are built from, once: a Gaussian mechanism on
  histograms (every row adds 1 to one cell of each of `k` column histograms: L2 sensitivity
  sqrt(k)), noise multiplier `stats_noise` (noise std over the sensitivity), sampling rate 1;
- DP-SGD: `steps` steps, each on a Poisson sample of the rows with rate `q`, per-row
  gradients clipped to norm C and Gaussian noise of std `noise` x C on their sum.
The (ε, δ) reported is the conversion of the composed RDP curve at the given δ (Opacus's
`get_privacy_spent`, the standard conversion used by its RDPAccountant)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from synth.errors import ConfigError

ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [
    64, 80, 96, 128, 192, 256, 512, 1024]
MAX_NOISE = 200.0  # a noise multiplier past this leaves nothing to learn


def _analysis():
    try:
        from opacus.accountants.analysis import rdp
    except ImportError:  # pragma: no cover - the dp extra is part of the dev install
        raise ConfigError("differential privacy needs Opacus's accountant: pip install "
                          "'raysynth[dp]'") from None
    return rdp


def rdp_curve(noise: float, q: float, steps: int, stats_noise: float | None = None
              ) -> np.ndarray:
    """RDP at every order of `steps` sampled Gaussian steps plus the statistics release."""
    rdp = _analysis()
    total = np.zeros(len(ORDERS))
    if steps > 0:
        total += np.asarray(rdp.compute_rdp(q=q, noise_multiplier=noise, steps=steps,
                                            orders=ORDERS))
    if stats_noise is not None:
        total += np.asarray(rdp.compute_rdp(q=1.0, noise_multiplier=stats_noise, steps=1,
                                            orders=ORDERS))
    return total


def epsilon(noise: float, q: float, steps: int, delta: float,
            stats_noise: float | None = None) -> float:
    """ε at δ after `steps` DP-SGD steps (and the statistics release, when there was one)."""
    curve = rdp_curve(noise, q, steps, stats_noise)
    if not curve.any():
        return 0.0
    with warnings.catch_warnings():  # "optimal order is the largest alpha": noted, not news
        warnings.simplefilter("ignore", UserWarning)
        eps, _ = _analysis().get_privacy_spent(orders=ORDERS, rdp=list(curve), delta=delta)
    return float(eps)


@dataclass(frozen=True)
class Budget:
    """The noise a training run uses and the ε it spends: `noise` for DP-SGD, `stats_noise`
    for the statistics (None: none released)."""

    noise: float
    stats_noise: float | None
    q: float
    steps: int
    delta: float

    @property
    def epsilon(self) -> float:
        return epsilon(self.noise, self.q, self.steps, self.delta, self.stats_noise)


def _search(eps_of, target: float, what: str) -> float:
    """The smallest noise multiplier (to 0.5%) whose ε is at most `target`."""
    low, high = 0.05, 1.0
    while eps_of(high) > target:
        low, high = high, high * 2
        if high > MAX_NOISE:
            raise ConfigError(what)
    if eps_of(low) <= target:
        return low
    while high / low > 1.005:
        mid = (low * high) ** 0.5
        low, high = (mid, high) if eps_of(mid) > target else (low, mid)
    return high


def stats_noise_for(target: float, share: float, delta: float) -> float:
    """The statistics release's noise multiplier: the one that spends `share` of ε alone."""
    return _search(lambda s: epsilon(1.0, 1.0, 0, delta, s), share * target,
                   f"ε={target:g} (δ={delta:.3g}) is too small to train a single epoch: the "
                   f"data statistics alone ({share:.0%} of it) would need a noise multiplier "
                   f"above {MAX_NOISE:g}; raise dp.epsilon")


def training_noise(target: float, delta: float, q: float, steps: int, per_epoch: int,
                   stats_noise: float | None) -> float:
    """The smallest DP-SGD noise multiplier keeping `steps` steps at rate q, composed with the
    statistics release, within ε `target`."""
    def eps_of(s: float, n: int = steps) -> float:
        return epsilon(s, q, n, delta, stats_noise)

    try:
        return _search(eps_of, target, "")
    except ConfigError:
        pass
    one_epoch_ok = eps_of(MAX_NOISE, per_epoch) <= target
    if not one_epoch_ok:
        raise ConfigError(f"ε={target:g} (δ={delta:.3g}) is too small to train a single epoch: "
                          f"{per_epoch} steps at sampling rate {q:.4g} would need a noise "
                          f"multiplier above {MAX_NOISE:g}; raise dp.epsilon") from None
    raise ConfigError(f"ε={target:g} (δ={delta:.3g}) is too small for {steps // per_epoch} "
                      f"epochs at sampling rate {q:.4g} (the noise would pass {MAX_NOISE:g} x "
                      "the clipping norm); lower dp.epochs or raise dp.epsilon") from None
