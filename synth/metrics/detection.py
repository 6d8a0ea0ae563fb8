"""Detection and its explanation: a gradient-boosted classifier learns to tell real rows from
synthetic ones. `detection_auc` is its cross-validated ROC AUC (0.5: indistinguishable, 1: every
row is told apart); `detection_score` = 2 * (1 - max(auc, 0.5)) puts it on 0..1, higher better.
Per-column importances (the drop of held-out AUC when that column is shuffled) say *where* the
synthetic data gives itself away."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from synth.data.metadata import Metadata
from synth.metrics.columns import compared_columns, continuous_values, discrete_values

FOLDS = 3
MAX_CATEGORIES = 250  # HistGradientBoosting's native categorical limit (255 bins)


def _features(real: pd.DataFrame, synthetic: pd.DataFrame, md: Metadata
              ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One numeric column per compared column: continuous values (NaN kept), discrete codes
    from one shared code book (nulls a code) marked categorical when they are few enough."""
    names = list(compared_columns(md))
    cols, categorical = [], []
    for c in names:
        if compared_columns(md)[c] == "continuous":
            cols.append(np.r_[continuous_values(real[c], md.columns[c]),
                              continuous_values(synthetic[c], md.columns[c])])
            categorical.append(False)
        else:
            values = np.r_[discrete_values(real[c]), discrete_values(synthetic[c])]
            codes = pd.factorize(values, use_na_sentinel=False)[0]
            cols.append(codes.astype(float))
            categorical.append(codes.max(initial=0) < MAX_CATEGORIES)
    return np.stack(cols, 1), np.asarray(categorical, dtype=bool), names


def _model(categorical: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=100, categorical_features=categorical,
                                          random_state=seed)


def _importances(model, x: np.ndarray, y: np.ndarray, names: list[str], seed: int
                 ) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    base = roc_auc_score(y, model.predict_proba(x)[:, 1])
    out = {}
    for j, name in enumerate(names):
        shuffled = x.copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        out[name] = max(0.0, float(base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1])))
    return out


def detection(real: pd.DataFrame, synthetic: pd.DataFrame, md: Metadata, seed: int = 0
              ) -> tuple[dict, dict]:
    """(scores, details). Callers pass bounded samples of the same size or near it."""
    x, categorical, names = _features(real, synthetic, md)
    y = np.r_[np.ones(len(real)), np.zeros(len(synthetic))]
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    oof = np.zeros(len(y))
    importances = {n: 0.0 for n in names}
    for k, (tr, te) in enumerate(folds.split(x, y)):
        model = _model(categorical, seed).fit(x[tr], y[tr])
        oof[te] = model.predict_proba(x[te])[:, 1]
        if k == 0:
            importances = _importances(model, x[te], y[te], names, seed)
    auc = float(roc_auc_score(y, oof))
    total = sum(importances.values())
    ranked = dict(sorted(importances.items(), key=lambda kv: -kv[1]))
    share = {k: (v / total if total > 0 else 0.0) for k, v in ranked.items()}
    return ({"detection_auc": auc, "detection_score": 2.0 * (1.0 - max(auc, 0.5))},
            {"auc_drop": ranked, "importance": share, "folds": FOLDS,
             "rows": {"real": len(real), "synthetic": len(synthetic)}})
