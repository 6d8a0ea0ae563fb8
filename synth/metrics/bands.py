"""Verdicts a newcomer can read: each pillar of a report (fidelity, utility, privacy,
detection) gets a band, good / fair / poor, from one headline score, with one plain sentence.

The thresholds and the reason for each:
- fidelity, `quality` (the mean of column shapes and column pair trends, 1 = identical):
  good >= 0.90, fair >= 0.80. 2019-era models (CTGAN, TVAE, copulas) land at 0.78-0.85 on
  Adult; at 0.90 each column's distribution and each pair's trend differ from the real ones by
  about a tenth or less on average; below 0.80 some columns are visibly wrong.
- utility, `tstr_ratio` (a model trained on synthetic rows, tested on real holdout rows,
  against the same model trained on real rows): good >= 0.95, fair >= 0.80. Within 5% is
  about the spread between two random splits of the real data; below 0.80 a downstream model
  loses a fifth of its score.
- privacy, `dcr_ratio` (median distance of synthetic rows to their closest training row over
  the same for holdout rows, which the model never saw): good >= 0.90, fair >= 0.70. Holdout
  rows show how close unseen real rows sit to the training rows; synthetic rows much closer
  than that are a sign of memorised records. Exact copies of training rows beyond the
  holdout's own rate (+0.5 points), or a membership attack AUC >= 0.60, cap the band at fair.
- detection, `detection_auc` (a classifier telling synthetic rows from real ones; 0.5 = it
  cannot): good <= 0.60, fair <= 0.75. The best open models of 2024-25 (TabSyn, TabDiff,
  TabularARGN) reach about 0.57; above 0.75 most rows are told apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GOOD, FAIR, POOR = "good", "fair", "poor"
ORDER = (GOOD, FAIR, POOR)


@dataclass(frozen=True)
class Rule:
    pillar: str
    score: str  # the headline score in Report.scores
    good: float
    fair: float
    higher_is_better: bool
    sentences: dict[str, str]  # band -> one plain sentence

    def band(self, value: float) -> str:
        if self.higher_is_better:
            return GOOD if value >= self.good else FAIR if value >= self.fair else POOR
        return GOOD if value <= self.good else FAIR if value <= self.fair else POOR


RULES = (
    Rule("fidelity", "quality", 0.90, 0.80, True, {
        GOOD: "Column distributions and pair trends match the real data closely.",
        FAIR: "The overall shape is right; some columns or pairs differ noticeably.",
        POOR: "Several columns or pair trends are clearly unlike the real data."}),
    Rule("utility", "tstr_ratio", 0.95, 0.80, True, {
        GOOD: "Models trained on these rows predict about as well as on real rows.",
        FAIR: "Models trained on these rows lose some accuracy against real-trained ones.",
        POOR: "Models trained on these rows predict much worse than on real rows."}),
    Rule("privacy", "dcr_ratio", 0.90, 0.70, True, {
        GOOD: "Synthetic rows are no closer to training rows than unseen real rows are.",
        FAIR: "Some synthetic rows are closer to training rows than unseen ones: check first.",
        POOR: "Synthetic rows are far closer to training rows than unseen ones: memorised."}),
    Rule("detection", "detection_auc", 0.60, 0.75, False, {
        GOOD: "A classifier can barely tell synthetic rows from real ones.",
        FAIR: "A classifier tells synthetic rows from real ones part of the time.",
        POOR: "A classifier tells synthetic rows from real ones almost always."}),
)


def _privacy_cap(scores: dict[str, Any]) -> str | None:
    """FAIR when exact copies or a membership attack say more than the distances do."""
    copies, baseline = scores.get("exact_copies"), scores.get("exact_copies_holdout")
    if copies is not None and baseline is not None and copies > baseline + 0.005:
        return FAIR
    auc = scores.get("membership_auc")
    if auc is not None and auc >= 0.60:
        return FAIR
    disclosure = scores.get("membership_disclosure")  # El Emam et al.'s ceiling: 0.2
    if disclosure is not None and disclosure > 0.2:
        return FAIR
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and value == value and abs(value) != float("inf")


def verdicts(scores: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """pillar -> {"band", "score", "value", "sentence"} for each pillar whose headline score
    the report has (utility needs a target, privacy a holdout)."""
    out: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        value = scores.get(rule.score)
        if not _finite(value):
            continue
        band = rule.band(float(value))
        if rule.pillar == "privacy":
            cap = _privacy_cap(scores)
            if cap is not None and ORDER.index(cap) > ORDER.index(band):
                band = cap
        out[rule.pillar] = {"band": band, "score": rule.score, "value": float(value),
                            "sentence": rule.sentences[band]}
    return out


def bands(scores: dict[str, Any]) -> dict[str, str]:
    """pillar -> "good" | "fair" | "poor" (report.json's top-level `bands`)."""
    return {pillar: v["band"] for pillar, v in verdicts(scores).items()}


def overall(found: dict[str, dict[str, Any]]) -> str | None:
    """The worst band among the pillars of `verdicts(...)` (a report is as good as its
    weakest pillar); None without any."""
    return max((v["band"] for v in found.values()), key=ORDER.index) if found else None


def verdict_lines(found: dict[str, dict[str, Any]]) -> list[str]:
    """For a terminal: the overall band, then one line per pillar of `verdicts(...)`."""
    if not found:
        return []
    return [f"verdict: {overall(found)} (the weakest pillar's band; thresholds in "
            "synth/metrics/bands.py)"] + [
        f"  {pillar:10s} {v['band']:5s} {v['sentence']} ({v['score']} {v['value']:.3f})"
        for pillar, v in found.items()]
