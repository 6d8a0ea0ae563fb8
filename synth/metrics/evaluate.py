"""synth.evaluate: fidelity, Wasserstein, utility, privacy and detection in one Report.

Fidelity runs on every row through the mergeable statistics (the Ray job feeds the same
functions block by block); the other groups run on bounded random samples whose sizes are in
EvalConfig and in the report's settings."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from synth.config import build_config
from synth.data.constraints import ConstraintSet
from synth.data.metadata import Metadata
from synth.errors import ConfigError
from synth.metrics.config import EvalConfig
from synth.metrics.counts import Counts, Plan
from synth.metrics.disclosure import membership_disclosure
from synth.metrics.display import distributions
from synth.metrics.fidelity import fidelity_counts, summarize
from synth.metrics.inputs import check_inputs
from synth.metrics.report import Report, versions

MIN_ROWS = 10  # below this the sample-based metrics (cross-validation, models) are skipped


def make_config(config: EvalConfig | dict | None = None, **overrides: Any) -> EvalConfig:
    if isinstance(config, EvalConfig) and not overrides:
        cfg = config
    else:
        base = config if isinstance(config, dict) else (
            {} if config is None else {f: getattr(config, f) for f in config.__dataclass_fields__})
        cfg = build_config(EvalConfig, {**base, **overrides}, where="evaluation config")
    cfg.validate()
    return cfg


def bounded(df: pd.DataFrame | None, rows: int, seed: int) -> pd.DataFrame | None:
    """At most `rows` random rows (all of them, in order, when there are fewer)."""
    if df is None or len(df) <= rows:
        return df
    return df.sample(rows, random_state=seed).reset_index(drop=True)


def fidelity_part(plan: Plan, real: Counts, synthetic: Counts, cfg: EvalConfig
                  ) -> tuple[dict, dict]:
    thresholds = (cfg.correlation_threshold, cfg.association_threshold)
    scores, details = summarize(plan, real, synthetic, thresholds)
    details["distributions"] = distributions(plan, real, synthetic)
    return scores, details


def sample_metrics(real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None,
                   md: Metadata, target: str | None, cfg: EvalConfig
                   ) -> tuple[dict, dict, dict]:
    """(scores, details, skipped) of the sample-based groups on bounded samples. Their
    modules (scikit-learn, torch) load only when a group runs."""
    from synth.metrics.detection import detection
    from synth.metrics.privacy import privacy
    from synth.metrics.utility import utility
    from synth.metrics.wasserstein import wasserstein

    scores, details, skipped = {}, {}, {}
    seed = cfg.seed
    smallest = min(len(real), len(synthetic), MIN_ROWS if holdout is None else len(holdout))
    if smallest < MIN_ROWS:
        reason = f"needs at least {MIN_ROWS} rows in every data set (smallest has {smallest})"
        return scores, details, {g: reason for g in cfg.metrics if g != "fidelity"}
    if "wasserstein" in cfg.metrics:
        s, d = wasserstein(bounded(real, cfg.sample_rows, seed),
                           bounded(synthetic, cfg.sample_rows, seed + 1), md, cfg.joint_rows, seed)
        scores.update(s)
        details["wasserstein"] = d
    if "utility" in cfg.metrics:
        if target is None or holdout is None:
            skipped["utility"] = "needs a target column and a holdout set"
        else:
            s, d = utility(bounded(real, cfg.sample_rows, seed),
                           bounded(synthetic, cfg.sample_rows, seed + 1),
                           bounded(holdout, cfg.sample_rows, seed + 2), md, target,
                           cfg.evaluators, seed)
            scores.update(s)
            details["utility"] = d
    if "privacy" in cfg.metrics:
        if holdout is None:
            skipped["privacy"] = "needs a holdout set of real rows the model never saw"
        else:
            s, d = privacy(bounded(real, cfg.reference_rows, seed + 3),
                           bounded(synthetic, cfg.privacy_rows, seed + 4),
                           bounded(holdout, cfg.privacy_rows, seed + 5), md,
                           cfg.membership_threshold)
            scores.update(s)
            qi = list(cfg.quasi_identifiers) or None
            missing = [c for c in qi or [] if c not in real.columns]
            if missing:
                raise ConfigError(f"quasi_identifiers: {missing[0]!r} is not a column")
            disclosure = membership_disclosure(real, holdout, synthetic, qi,
                                               cfg.disclosure_distance, cfg.privacy_rows, seed)
            d["disclosure"] = {k: disclosure.pop(k) for k in (
                "membership_disclosure_h", "membership_disclosure_columns")}
            scores.update(disclosure)
            details["privacy"] = d
    if "detection" in cfg.metrics:
        n = min(cfg.detection_rows, len(real), len(synthetic))
        s, d = detection(bounded(real, n, seed + 6), bounded(synthetic, n, seed + 7), md, seed)
        scores.update(s)
        details["detection"] = d
    return scores, details, skipped


def settings_of(cfg: EvalConfig, md: Metadata, target: str | None, rows: dict[str, int],
                exact: bool, seconds: float) -> dict[str, Any]:
    return {"config": {f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "metadata": md.to_dict(), "target": target, "rows": rows,
            "fidelity": "all rows" + ("" if exact else " (bounded-error sketches, see "
                                      "details.column_shapes[*].error_bound)"),
            "versions": versions(), "seconds": round(seconds, 2)}


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | dict | None = None,
             target: str | None = None, holdout: pd.DataFrame | None = None,
             config: EvalConfig | dict | None = None, **overrides: Any) -> Report:
    """Compare synthetic rows with the real ones they stand in for.

    `real` is the data the model was trained on, `holdout` real rows it never saw (needed for
    utility and privacy), `target` the column a downstream model predicts (needed for utility).
    `config`/keyword overrides: see synth.metrics.config.EvalConfig."""
    start = time.perf_counter()
    cfg = make_config(config, **overrides)
    md = check_inputs(real, synthetic, metadata, target, holdout)
    scores, details = {}, {}
    exact = True
    if "fidelity" in cfg.metrics:
        plan, rc, sc = fidelity_counts(real, synthetic, md)
        scores, details["fidelity"] = fidelity_part(plan, rc, sc, cfg)
        exact = details["fidelity"]["exact"]
    if md.constraints:  # declared rules: the share of synthetic rows that obey them all
        details["constraints"] = ConstraintSet(md).validity(real, synthetic)
        scores["constraints_valid"] = details["constraints"]["valid"]
    more, more_details, skipped = sample_metrics(real, synthetic, holdout, md, target, cfg)
    scores.update(more)
    details.update(more_details)
    rows = {"real": len(real), "synthetic": len(synthetic),
            "holdout": 0 if holdout is None else len(holdout)}
    settings = settings_of(cfg, md, target, rows, exact, time.perf_counter() - start)
    settings["skipped"] = skipped
    return Report({k: float(v) if v is not None else np.nan for k, v in scores.items()},
                  details, settings)
