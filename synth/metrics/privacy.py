"""Privacy: how close synthetic rows sit to the rows the model was trained on, judged against
real rows the model never saw (the holdout). All distances are Gower distances.

- DCR (distance to closest record): each synthetic row's distance to its nearest training row,
  beside the same for holdout rows. `dcr_ratio` = median DCR(synthetic) / median DCR(holdout):
  about 1 or more when the model does not sit closer to its training data than fresh real data
  does; `exact_copies` = share of synthetic rows equal to a training row (holdout baseline in
  `exact_copies_holdout`).
- NNDR: nearest / second-nearest training distance per synthetic row (median); near 0 means a
  synthetic row singles out one training record.
- Membership disclosure: an attacker holding as many training rows (members) as holdout rows
  (non-members) guesses "member" when a row lies within a threshold of a synthetic row (by
  default the median of those distances, so half the rows are guessed members); its precision,
  recall and F1 (precision 0.5 = guessing), and the threshold-free attack AUC (0.5 = guessing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from synth.data.metadata import Metadata
from synth.metrics.gower import encode, nearest


def _median_ratio(a: np.ndarray, b: np.ndarray) -> float:
    mb = float(np.median(b))
    return float(np.median(a)) / mb if mb > 0 else float("nan")


def _attack(members: np.ndarray, others: np.ndarray, threshold: float | None
            ) -> dict[str, float]:
    """Scores of the distance-threshold membership attack (distance to synthetic data)."""
    if threshold is None:
        threshold = float(np.median(np.r_[members, others]))
    guess_m, guess_o = members <= threshold, others <= threshold
    tp, fp = int(guess_m.sum()), int(guess_o.sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / len(members)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    y = np.r_[np.ones(len(members)), np.zeros(len(others))]
    auc = roc_auc_score(y, -np.r_[members, others]) if len(members) and len(others) else np.nan
    return {"membership_precision": precision, "membership_recall": recall,
            "membership_f1": f1, "membership_auc": float(auc), "membership_threshold": threshold}


def privacy(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, md: Metadata,
            threshold: float | None = None) -> tuple[dict, dict]:
    """(scores, details). Callers pass bounded samples: the cost is |queries| x |train|."""
    n_attack = min(len(train), len(holdout))
    members = train.iloc[:n_attack]
    tr, sy, ho, mem = encode([train, synthetic, holdout, members], md, reference=train)
    syn_d = nearest(sy, tr, k=2)
    hold_d = nearest(ho, tr, k=1)[:, 0]
    d1, d2 = syn_d[:, 0], syn_d[:, -1]
    nndr = np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), np.where(d1 > 0, 1.0, 0.0))
    member_d = nearest(mem, sy, k=1)[:, 0]
    other_d = nearest(ho.__class__(ho.num[:n_attack], ho.cat[:n_attack]), sy, k=1)[:, 0]
    scores = {"dcr_ratio": _median_ratio(d1, hold_d),
              "dcr_synthetic_median": float(np.median(d1)),
              "dcr_holdout_median": float(np.median(hold_d)),
              "exact_copies": float((d1 == 0).mean()),
              "exact_copies_holdout": float((hold_d == 0).mean()),
              "nndr": float(np.median(nndr))}
    scores.update(_attack(member_d, other_d, threshold))
    details = {"dcr_synthetic": d1.round(5).tolist(), "dcr_holdout": hold_d.round(5).tolist(),
               "rows": {"train": len(train),
               "synthetic": len(synthetic), "holdout": len(holdout), "attack": n_attack}}
    return scores, details
