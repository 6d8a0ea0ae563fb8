"""Machine-learning utility: Train on Synthetic, Test on Real (TSTR) against Train on Real,
Test on Real (TRTR), with the same four evaluators on the same real holdout.

Classification (a discrete target): macro F1, accuracy and ROC AUC (one-vs-rest, weighted, for
more than two classes); regression (a continuous target): R² and RMSE. `tstr_ratio` is the
mean over evaluators of TSTR / TRTR on the primary score (macro F1, R²)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor

from synth.data.metadata import Metadata
from synth.metrics.columns import compared_columns, continuous_values, discrete_values
from synth.registry import Registry

EVALUATORS: Registry = Registry("evaluator")


@EVALUATORS.register("linear")
def _linear(task: str, seed: int):
    return LogisticRegression(max_iter=1000) if task == "classification" else Ridge()


@EVALUATORS.register("random_forest")
def _forest(task: str, seed: int):
    cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return cls(n_estimators=100, min_samples_leaf=2, n_jobs=1, random_state=seed)


@EVALUATORS.register("gradient_boosting")
def _boosting(task: str, seed: int):
    cls = HistGradientBoostingClassifier if task == "classification" else \
        HistGradientBoostingRegressor
    return cls(max_iter=200, random_state=seed)


@EVALUATORS.register("mlp")
def _mlp(task: str, seed: int):
    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(hidden_layer_sizes=(100,), max_iter=300, early_stopping=True, random_state=seed)


class Features:
    """One-hot discrete columns and standardized continuous ones, fitted on a training set;
    values the training set never saw encode as all zeros."""

    def __init__(self, md: Metadata, target: str) -> None:
        self.md = md
        shapes = compared_columns(md)
        self.cont = [c for c, s in shapes.items() if s == "continuous" and c != target]
        self.disc = [c for c, s in shapes.items() if s == "discrete" and c != target]

    def fit(self, df: pd.DataFrame) -> Features:
        self.stats = {}
        for c in self.cont:
            x = continuous_values(df[c], self.md.columns[c])
            ok = x[~np.isnan(x)]
            self.stats[c] = (np.median(ok), ok.std() or 1.0) if len(ok) else (0.0, 1.0)
        self.levels = {c: pd.Index(pd.unique(discrete_values(df[c]))) for c in self.disc}
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        parts = []
        for c in self.cont:
            x = continuous_values(df[c], self.md.columns[c])
            med, sd = self.stats[c]
            parts.append(np.stack([(np.where(np.isnan(x), med, x) - med) / sd,
                                   np.isnan(x).astype(float)], 1))
        for c in self.disc:
            idx = self.levels[c].get_indexer(discrete_values(df[c]))
            onehot = np.zeros((len(df), len(self.levels[c])))
            hit = idx >= 0
            onehot[np.flatnonzero(hit), idx[hit]] = 1.0
            parts.append(onehot)
        return np.concatenate(parts, 1) if parts else np.zeros((len(df), 1))


def task_of(md: Metadata, target: str) -> str:
    return "classification" if compared_columns(md).get(target) == "discrete" else "regression"


def _labels(df: pd.DataFrame, target: str) -> np.ndarray:
    return np.asarray([str(v) for v in discrete_values(df[target])], dtype=object)


def _scores_classification(model, x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> dict:
    pred = model.predict(x)
    out = {"f1": skm.f1_score(y, pred, average="macro", zero_division=0),
           "accuracy": skm.accuracy_score(y, pred)}
    proba = np.zeros((len(y), len(classes)))
    seen = list(getattr(model, "classes_", []))
    if seen:
        p = model.predict_proba(x)
        for j, c in enumerate(seen):
            if c in classes:
                proba[:, list(classes).index(c)] = p[:, j]
    present = np.isin(classes, np.unique(y))
    try:
        if len(classes) == 2:
            out["auc"] = skm.roc_auc_score(y == classes[1], proba[:, 1])
        else:
            out["auc"] = skm.roc_auc_score(y, proba[:, present] / np.clip(
                proba[:, present].sum(1, keepdims=True), 1e-12, None), multi_class="ovr",
                average="weighted", labels=classes[present])
    except ValueError:
        out["auc"] = float("nan")
    return out


class _Constant:
    """What a classifier trained on a single class predicts: that class."""

    def __init__(self, label: str) -> None:
        self.classes_ = np.asarray([label], dtype=object)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.classes_[0], dtype=object)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.ones((len(x), 1))


def _fit_score(make: Callable, train: pd.DataFrame, test: pd.DataFrame, feats: Features,
               target: str, task: str, classes: np.ndarray | None) -> dict:
    feats.fit(train)
    x_tr, x_te = feats.transform(train), feats.transform(test)
    if task == "classification":
        y_tr, y_te = _labels(train, target), _labels(test, target)
        model = _Constant(y_tr[0]) if len(set(y_tr)) < 2 else make().fit(x_tr, y_tr)
        return _scores_classification(model, x_te, y_te, classes)
    y_tr = continuous_values(train[target], feats.md.columns[target])
    y_te = continuous_values(test[target], feats.md.columns[target])
    keep_tr, keep_te = ~np.isnan(y_tr), ~np.isnan(y_te)
    pred = make().fit(x_tr[keep_tr], y_tr[keep_tr]).predict(x_te[keep_te])
    return {"r2": skm.r2_score(y_te[keep_te], pred),
            "rmse": float(np.sqrt(skm.mean_squared_error(y_te[keep_te], pred)))}


def utility(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, md: Metadata,
            target: str, evaluators: tuple[str, ...], seed: int = 0) -> tuple[dict, dict]:
    """(scores, details): TSTR and TRTR per evaluator, averaged, and their ratio."""
    task = task_of(md, target)
    classes = None
    if task == "classification":
        classes = np.unique(np.concatenate([_labels(f, target) for f in (train, holdout)]))
    primary = "f1" if task == "classification" else "r2"
    details, ratios = {}, []
    for name in evaluators:
        def make(name=name):
            return EVALUATORS.get(name)(task, seed)
        real = _fit_score(make, train, holdout, Features(md, target), target, task, classes)
        synth = _fit_score(make, synthetic, holdout, Features(md, target), target, task, classes)
        ratio = synth[primary] / real[primary] if real[primary] > 0 else float("nan")
        details[name] = {"trtr": real, "tstr": synth, "ratio": ratio}
        ratios.append(ratio)
    scores = {"tstr_ratio": float(np.nanmean(ratios)) if not np.isnan(ratios).all()
              else float("nan")}
    for key in details[evaluators[0]]["tstr"]:
        scores[f"tstr_{key}"] = float(np.mean([d["tstr"][key] for d in details.values()]))
        scores[f"trtr_{key}"] = float(np.mean([d["trtr"][key] for d in details.values()]))
    return scores, {"task": task, "target": target, "primary": primary, "evaluators": details}
