"""Mode-specific normalization (Xu et al. 2019, section 4.2): a variational (Bayesian) Gaussian
mixture per continuous column, fitted on a bounded sample so its cost does not grow with rows.
A value becomes (mode one-hot, alpha) with alpha = (x - mu_k) / (4 sigma_k) in [-1, 1]."""

from __future__ import annotations

import warnings

import numpy as np

STD_MULTIPLIER = 4.0


class ModeNormalizer:
    """Fitted mixture as plain arrays (means, stds, weights) of its valid modes."""

    def __init__(self, max_modes: int = 10, sample_rows: int = 10_000,
                 weight_threshold: float = 0.005) -> None:
        self.max_modes, self.sample_rows = max_modes, sample_rows
        self.weight_threshold = weight_threshold
        self.means = np.zeros(1)
        self.stds = np.ones(1)
        self.weights = np.ones(1)

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> ModeNormalizer:
        sample = x if len(x) <= self.sample_rows else rng.choice(x, self.sample_rows, replace=False)
        n_unique = len(np.unique(sample))
        spread = float(np.std(sample)) or max(abs(float(sample[0])), 1.0) * 1e-3
        if n_unique < 2:
            self.means, self.stds = np.array([sample[0]]), np.array([spread])
            self.weights = np.ones(1)
            return self
        # scikit-learn loads here, not at import: a Ray Train worker gets the fitted modes
        # and never fits, and its import costs ~0.6 s of every worker's start
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        gmm = BayesianGaussianMixture(
            n_components=min(self.max_modes, n_unique),
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001, max_iter=100, n_init=1,
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(sample.reshape(-1, 1))
        valid = gmm.weights_ > self.weight_threshold
        self.means = gmm.means_.ravel()[valid]
        self.stds = np.sqrt(gmm.covariances_.ravel()[valid])
        self.stds = np.maximum(self.stds, spread * 1e-6)
        self.weights = gmm.weights_[valid] / gmm.weights_[valid].sum()
        return self

    def transform(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(alpha, mode) per value; the mode is *sampled* from its posterior, as in CTGAN."""
        z = (x[:, None] - self.means[None, :]) / self.stds[None, :]
        logp = np.log(self.weights)[None, :] - 0.5 * z**2 - np.log(self.stds)[None, :]
        logp -= logp.max(axis=1, keepdims=True)
        probs = np.exp(logp)
        cum = np.cumsum(probs, axis=1)
        u = rng.random(len(x))[:, None] * cum[:, -1:]
        mode = np.minimum((cum < u).sum(axis=1), self.n_modes - 1)
        alpha = (x - self.means[mode]) / (STD_MULTIPLIER * self.stds[mode])
        return np.clip(alpha, -0.99, 0.99), mode

    def inverse(self, alpha: np.ndarray, mode: np.ndarray) -> np.ndarray:
        alpha = np.clip(alpha, -1.0, 1.0)
        return alpha * STD_MULTIPLIER * self.stds[mode] + self.means[mode]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"means": self.means, "stds": self.stds, "weights": self.weights}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.means, self.stds, self.weights = arrays["means"], arrays["stds"], arrays["weights"]
