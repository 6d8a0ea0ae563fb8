"""A shadow-model membership attack on one target record (Stadler, Oprisanu & Troncoso, "Synthetic
Data - Anonymisation Groundhog Day", USENIX Security 2022), for small tables, bounded in time.

The attacker knows the generator's family and settings and holds reference rows from the same
population. Each shadow run draws `rows` reference rows, puts the target in for half of the
runs (replacing one row), fits the family, samples `synthetic_rows` rows and describes them by
the target's Gower distances to them (the nearest, the mean of the 5 nearest, the shares within
0.05 and 0.1). A classifier trained on half the runs says "target was in" for the other half;
its AUC is the attack's success (0.5: the synthetic data says nothing about the target). Runs
stop at `max_seconds`, and the result says how many ran."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synth.api import create_synthesizer
from synth.data.metadata import detect_metadata
from synth.errors import ConfigError
from synth.metrics.gower import encode, nearest


def features(target: pd.DataFrame, synthetic: pd.DataFrame, md: Any,
             reference: pd.DataFrame) -> np.ndarray:
    t, s = encode([target, synthetic], md, reference=reference)
    d = np.sort(nearest(t, s, k=min(5, len(synthetic)))[0])
    full = nearest(t, s, k=len(synthetic))[0]
    return np.array([d[0], d.mean(), (full < 0.05).mean(), (full < 0.1).mean()])


def shadow_attack(family: str, params: dict[str, Any], reference: pd.DataFrame,
                  target: pd.DataFrame, rows: int = 200, runs: int = 20,
                  synthetic_rows: int = 200, seed: int = 0, max_seconds: float = 300.0,
                  metadata: dict | None = None) -> dict[str, Any]:
    """The attack's AUC against `family(**params)` for the one-row `target`."""
    if len(target) != 1:
        raise ConfigError("shadow_attack: target must be one row")
    if runs < 4 or rows < 10 or len(reference) < rows:
        raise ConfigError(f"shadow_attack needs runs >= 4, rows >= 10 and at least `rows` "
                          f"reference rows (runs={runs}, rows={rows}, "
                          f"reference={len(reference)})")
    rng = np.random.default_rng(seed)
    md = detect_metadata(reference, metadata)
    start, feats, labels = time.perf_counter(), [], []
    for i in range(runs):
        if time.perf_counter() - start > max_seconds:
            break
        data = reference.sample(rows, random_state=int(rng.integers(2**31))).reset_index(
            drop=True)
        member = i % 2 == 0
        if member:
            data.iloc[0] = target.iloc[0]
        model = create_synthesizer(family, **{**params, "seed": i})
        model.fit(data, metadata=metadata)
        synthetic = model.sample(synthetic_rows, seed=i)
        feats.append(features(target, synthetic, md, reference))
        labels.append(int(member))
    done = len(labels)
    if done < 4:
        raise ConfigError(f"shadow_attack: only {done} runs fit in max_seconds={max_seconds}")
    x, y = np.array(feats), np.array(labels)
    ins, outs = rng.permutation(np.flatnonzero(y == 1)), rng.permutation(np.flatnonzero(y == 0))
    train = np.r_[ins[:len(ins) // 2], outs[:len(outs) // 2]]  # both classes on both sides
    test = np.r_[ins[len(ins) // 2:], outs[len(outs) // 2:]]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        x[train], y[train])
    auc = float(roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1]))
    return {"shadow_auc": auc, "runs": done, "asked_runs": runs,
            "bounded": done < runs, "seconds": round(time.perf_counter() - start, 1)}
