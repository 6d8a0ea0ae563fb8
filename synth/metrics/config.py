"""The evaluation's settings: which metric groups run and the bounded sample sizes of the
sample-based ones (utility, privacy, detection, Wasserstein). Written into every report."""

from __future__ import annotations

from dataclasses import dataclass

from synth.config import require

GROUPS = ("fidelity", "wasserstein", "utility", "privacy", "detection")
EVALUATORS = ("linear", "random_forest", "gradient_boosting", "mlp")


@dataclass(frozen=True)
class EvalConfig:
    metrics: tuple[str, ...] = GROUPS
    evaluators: tuple[str, ...] = EVALUATORS
    sample_rows: int = 20_000  # per data set, for utility training and per-column Wasserstein
    joint_rows: int = 1_000  # per data set, for the joint (Gower) Wasserstein distance
    privacy_rows: int = 2_000  # synthetic/holdout/attack rows for the privacy metrics
    reference_rows: int = 10_000  # training rows the privacy distances are measured against
    detection_rows: int = 5_000  # per data set, for the real-vs-synthetic classifier
    # Gower distance under which the attacker says "member"; None: the median attack distance
    membership_threshold: float | None = None
    # membership disclosure (synth/metrics/disclosure.py): the adversary's quasi-identifiers
    # (default: every column) and the Hamming distance of a match
    quasi_identifiers: tuple[str, ...] = ()
    disclosure_distance: int = 0
    correlation_threshold: float = 0.5  # real |r| for a pair to count in column_pair_trends
    association_threshold: float = 0.3  # real Cramér's V for the same
    seed: int = 0

    def validate(self) -> None:
        for g in self.metrics:
            require(g in GROUPS, f"unknown metric group {g!r}; valid: {', '.join(GROUPS)}")
        for e in self.evaluators:
            require(e in EVALUATORS, f"unknown evaluator {e!r}; valid: {', '.join(EVALUATORS)}")
        for name in ("sample_rows", "joint_rows", "privacy_rows", "reference_rows",
                     "detection_rows"):
            require(getattr(self, name) >= 10, f"{name} must be >= 10, got {getattr(self, name)}")
        require(self.membership_threshold is None or 0 <= self.membership_threshold <= 1,
                "membership_threshold must be in [0, 1] (or null for the median distance)")
        require(0 <= self.correlation_threshold < 1, "correlation_threshold must be in [0, 1)")
        require(0 <= self.association_threshold < 1, "association_threshold must be in [0, 1)")
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        require(self.disclosure_distance >= 0, "disclosure_distance must be >= 0")
