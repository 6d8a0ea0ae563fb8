"""Membership disclosure, as defined and validated by El Emam, Mosquera & Fang (2022),
"Validating a membership disclosure metric for synthetic health data", JAMIA Open 5(4),
ooac083: an adversary holds records of people, some of whom were in the training data
(members) and some not, and claims membership for a record when some synthetic record matches
it on the quasi-identifiers within Hamming distance `h`. Its F1 is compared with a naive
adversary's, who claims every record (precision p, the share of members among its records;
recall 1; F1_naive = 2p / (1 + p)):

    relative F1 = (F1 - F1_naive) / (1 - F1_naive)

0 or below: the synthetic data lets the adversary do no better than claiming everyone; the
paper suggests 0.2 as the acceptable ceiling. Here the adversary's records are as many training
rows as holdout rows (p = 0.5), numbers are compared by the decile of the training data they
fall in (categories as they are), and `identified` is the share of members claimed less the
share of non-members claimed: the share of training records the synthetic data singles out
beyond what any record of the population would draw."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CHUNK = 512  # adversary records per comparison block


def codes(frames: list[pd.DataFrame], reference: pd.DataFrame, columns: list[str]
          ) -> list[np.ndarray]:
    """Each frame's quasi-identifiers as integer codes (numbers: training deciles)."""
    out = [np.zeros((len(f), len(columns)), dtype=np.int32) for f in frames]
    for j, c in enumerate(columns):
        ref = reference[c]
        if pd.api.types.is_numeric_dtype(ref) and ref.nunique() > 10:
            edges = np.unique(np.nanquantile(ref.astype(float), np.linspace(0, 1, 11)[1:-1]))
            for f, o in zip(frames, out, strict=True):
                x = f[c].astype(float).to_numpy()
                o[:, j] = np.where(np.isnan(x), -1, np.searchsorted(edges, x, side="right"))
        else:
            levels = {v: i for i, v in enumerate(pd.unique(pd.concat([f[c] for f in frames])
                                                           .astype(str)))}
            for f, o in zip(frames, out, strict=True):
                o[:, j] = f[c].astype(str).map(levels).to_numpy()
    return out


def nearest_hamming(queries: np.ndarray, synthetic: np.ndarray) -> np.ndarray:
    """Each query row's smallest Hamming distance to a synthetic row."""
    best = np.full(len(queries), queries.shape[1], dtype=np.int32)
    for start in range(0, len(queries), CHUNK):
        q = queries[start:start + CHUNK]
        d = (q[:, None, :] != synthetic[None, :, :]).sum(2)
        best[start:start + CHUNK] = d.min(1)
    return best


def membership_disclosure(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                          quasi_identifiers: list[str] | None = None, h: int = 0,
                          rows: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The relative F1 of the matching adversary (and its parts) on `rows` members and as
    many non-members."""
    columns = quasi_identifiers or [c for c in train.columns if c in holdout.columns
                                    and c in synthetic.columns]
    n = min(rows, len(train), len(holdout))
    rng = np.random.default_rng(seed)
    members = train.iloc[rng.choice(len(train), n, replace=False)]
    others = holdout.iloc[rng.choice(len(holdout), n, replace=False)]
    syn = synthetic.iloc[rng.choice(len(synthetic), min(len(synthetic), 4 * rows),
                                    replace=False)]
    m, o, s = codes([members, others, syn], train, columns)
    claim_m = nearest_hamming(m, s) <= h
    claim_o = nearest_hamming(o, s) <= h
    tp, fp = int(claim_m.sum()), int(claim_o.sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / n
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    naive = 2 * 0.5 / 1.5  # p = 0.5
    return {"membership_disclosure": (f1 - naive) / (1 - naive),
            "membership_disclosure_f1": f1,
            "membership_disclosure_identified": recall - fp / n,
            "membership_disclosure_h": h, "membership_disclosure_columns": len(columns)}
