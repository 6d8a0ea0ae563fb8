"""Bias across sensitive attributes, real beside synthetic, and rebalancing.

    doc = synth.monitor.bias(real, synthetic, sensitive=["sex", "race"], target="income")
    rows = synth.monitor.rebalance(model, 10_000, "sex")           # equal shares of sex
    rows = synth.monitor.rebalance(model, 10_000, "sex", {"Female": 0.6, "Male": 0.4})

For each sensitive attribute and each of its groups: the group's share of the rows, its
outcome rate (the share of `positive` target values, by default the target's rarest value),
and the fidelity of the synthetic rows within the group (column shapes of the other columns
against the real rows of the same group). Per attribute, demographic parity as difference
(highest minus lowest outcome rate) and ratio (lowest over highest), for real and synthetic:
a generator that widens the gap amplifies a bias the data has. `rebalance` gives the requested
group shares exactly: by quota (unconditioned rows, each group's first ones kept) where the
group is common enough, else by one condition per output row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.data.codecs import OTHER, CategoricalCodec
from synth.data.metadata import Metadata, detect_metadata
from synth.errors import ConditionError, DataError
from synth.metrics.fidelity import column_shapes

MIN_ROWS = 30  # a group needs this many real and synthetic rows for its fidelity


def bias(real: pd.DataFrame, synthetic: pd.DataFrame, sensitive: list[str],
         target: str | None = None, positive: Any = None) -> dict[str, Any]:
    """The bias report's figures (JSON-ready)."""
    for name in [*sensitive, *([target] if target else [])]:
        for label, df in (("real", real), ("synthetic", synthetic)):
            if name not in df.columns:
                raise DataError(f"column {name!r} is not in the {label} data")
    if target is not None and positive is None:
        positive = real[target].value_counts().idxmin()
    md = detect_metadata(real)
    out = {"target": target, "positive": None if positive is None else str(positive),
           "rows": {"real": len(real), "synthetic": len(synthetic)}, "attributes": {}}
    for attr in sensitive:
        groups = [g for g in real[attr].value_counts().index]
        rows = [_group(real, synthetic, attr, g, target, positive, md) for g in groups]
        out["attributes"][attr] = {"groups": rows, "parity": {
            side: _parity([r[f"{side}_rate"] for r in rows]) for side in ("real", "synthetic")}}
    return out


def _group(real: pd.DataFrame, synthetic: pd.DataFrame, attr: str, group: Any,
           target: str | None, positive: Any, md: Any) -> dict[str, Any]:
    r, s = real[real[attr] == group], synthetic[synthetic[attr] == group]
    row = {"group": str(group), "real_rows": len(r), "synthetic_rows": len(s),
           "real_share": len(r) / max(len(real), 1), "synthetic_share": len(s) / max(
               len(synthetic), 1)}
    for side, df in (("real", r), ("synthetic", s)):
        row[f"{side}_rate"] = (float((df[target] == positive).mean())
                               if target is not None and len(df) else None)
    others = [c for c in real.columns if c != attr]
    if len(r) >= MIN_ROWS and len(s) >= MIN_ROWS:
        sub = Metadata({c: md.columns[c] for c in others})
        row["shapes"] = float(column_shapes(r[others], s[others], sub)["column_shapes"])
    else:
        row["shapes"] = None
    return row


def _parity(rates: list[float | None]) -> dict[str, float | None]:
    known = [x for x in rates if x is not None]
    if not known:
        return {"difference": None, "ratio": None}
    hi, lo = max(known), min(known)
    return {"difference": hi - lo, "ratio": lo / hi if hi > 0 else None}


def rebalance_counts(n: int, groups: list[Any], targets: str | dict[Any, float] = "parity"
                     ) -> dict[Any, int]:
    """Rows per group for n rows: equal shares ("parity") or the given shares (normalised),
    largest remainders first so the counts add up to n."""
    if targets == "parity":
        shares = {g: 1.0 for g in groups}
    elif isinstance(targets, dict):
        unknown = [g for g in targets if g not in groups]
        if unknown:
            raise ConditionError(f"rebalance: {unknown[0]!r} is not a group; groups: "
                                 f"{', '.join(map(str, groups))}")
        shares = {g: float(v) for g, v in targets.items()}
        if any(v < 0 for v in shares.values()) or not sum(shares.values()):
            raise ConditionError("rebalance: shares must be >= 0 and not all 0")
    else:
        raise ConditionError(f"rebalance targets must be 'parity' or {{group: share}}, got "
                             f"{targets!r}")
    total = sum(shares.values())
    exact = {g: n * v / total for g, v in shares.items()}
    counts = {g: int(np.floor(x)) for g, x in exact.items()}
    for g in sorted(exact, key=lambda g: counts[g] - exact[g])[:n - sum(counts.values())]:
        counts[g] += 1
    return counts


QUOTA_FACTOR = 20  # a quota sample may draw up to this many times the rows a group needs
BLOCK = 20_000  # unconditioned rows drawn at a time for the quotas


def rebalance(model: Any, n: int, column: str, targets: str | dict[Any, float] = "parity",
              seed: int = 0, method: str = "auto") -> pd.DataFrame:
    """n rows whose `column` has the requested group shares (exact counts), shuffled with
    `seed`. `method="quota"` draws unconditioned rows and keeps each group's first rows up to
    its count: a group's rows are then exactly what the model makes unconditioned (its
    within-group fidelity untouched); `"conditions"` generates each row under a per-row
    condition on its group (any count of a rare group, at the cost of the model's conditional
    fidelity); `"auto"` fills by quota the groups common enough to need at most QUOTA_FACTOR
    times their count in draws, the rest by conditions."""
    codec = model.schema.codecs.get(column)
    if not isinstance(codec, CategoricalCodec):
        raise ConditionError(f"rebalance: {column!r} is not a categorical column of the model")
    if method not in ("auto", "quota", "conditions"):
        raise ConditionError(f"rebalance method must be auto, quota or conditions, got "
                             f"{method!r}")
    groups = [g for g in codec.levels if g != OTHER]
    counts = {g: c for g, c in rebalance_counts(n, groups, targets).items() if c}
    parts = [] if method == "conditions" else _quota(model, column, counts, seed, method)
    for g in [g for g in counts if counts[g] > 0]:  # what the quotas did not fill
        table = pd.DataFrame({column: np.full(counts[g], g, dtype=object)})
        parts.append(model.sample(len(table), conditions=table, seed=seed + 1))
    out = pd.concat(parts, ignore_index=True)
    return out.iloc[np.random.default_rng(seed).permutation(len(out))].reset_index(drop=True)


def _quota(model: Any, column: str, counts: dict[Any, int], seed: int, method: str
           ) -> list[pd.DataFrame]:
    """Unconditioned blocks of the seed's stream, each group's rows kept up to its count
    (`counts` is decremented); with "auto", the groups too rare for it are left to conditions
    (judged on the first block)."""
    total, drawn, parts = sum(counts.values()), 0, []
    limit = QUOTA_FACTOR * total
    while drawn < limit and any(c > 0 for c in counts.values()):
        block = model.sample(BLOCK, seed=seed, start=drawn)
        drawn += BLOCK
        if method == "auto" and drawn == BLOCK:
            shares = block[column].value_counts(normalize=True)
            for g in list(counts):
                if counts[g] > QUOTA_FACTOR * shares.get(g, 0.0) * total:
                    counts[g] = -counts[g]  # marked: conditions, below
        for g in counts:
            if counts[g] > 0:
                rows = block[block[column] == g].head(counts[g])
                parts.append(rows)
                counts[g] -= len(rows)
    short = [g for g, c in counts.items() if c > 0]
    if method == "quota" and short:
        raise ConditionError(f"rebalance: {limit:,} unconditioned rows held too few of "
                             f"{short[0]!r} for its quota; use method='auto' or 'conditions'")
    for g in counts:
        counts[g] = abs(counts[g])
    return parts
