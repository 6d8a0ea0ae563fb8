"""The check's HTML report: the verdict, the flagged columns and why, the rule violations, the
drift table, baseline-vs-current bars for the columns that moved most, and the drift history
of this baseline's checks as a time series."""

from __future__ import annotations

import json
from html import escape
from typing import Any

import pandas as pd

from synth.metrics.html import CSS, _figure, _svg, _table, bars

TOP = 6  # columns charted
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def render(doc: dict[str, Any], history: pd.DataFrame | None = None) -> str:
    flagged = doc["flagged"]
    verdict = (f"ALARM: {len(flagged)} column(s) crossed a threshold" if flagged
               else "no alarm: no rule broken, no drift over its threshold")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>raysynth monitor check"
             f"</title><style>{CSS}</style></head><body><h1>raysynth monitor check</h1>",
             f"<p class='note'>data: {escape(str(doc['data']))}; baseline: "
             f"{escape(str(doc['baseline']) or 'given')}; rows: {doc['rows']:,}; at "
             f"{escape(doc['time'])}</p>",
             f"<p data-section='verdict'><b>{escape(verdict)}</b></p>",
             _flagged(flagged), _violations(doc["violations"]), _features(doc), _drift(doc),
             _charts(doc), _history(history, doc["thresholds"].get("psi")),
             _fid_history(history, doc["thresholds"].get("fid_ratio")),
             "<h2>Thresholds</h2><pre>" + escape(json.dumps(doc["thresholds"])) + "</pre>",
             "</body></html>"]
    return "".join(parts)


def _flagged(flagged: dict[str, list[str]]) -> str:
    if not flagged:
        return ""
    return "<h2>Flagged columns</h2>" + _table([[c, "; ".join(r)] for c, r in flagged.items()],
                                               ["column", "why"])


def _violations(violations: list[dict[str, Any]]) -> str:
    if not violations:
        return "<h2>Rule violations</h2><p>none</p>"
    rows = [[v["column"], v["rule"]["type"], v["count"], v["share"],
             ", ".join(map(str, v["examples"])) or "-"] for v in violations]
    return "<h2>Rule violations</h2>" + _table(rows, ["column", "rule", "rows", "share",
                                                      "examples"])


def _features(doc: dict[str, Any]) -> str:
    """Images: the batch's FID in the baseline's feature space, against its floor."""
    f = doc["drift"].get("features") if doc.get("kind") == "images" else None
    if not f:
        return ""
    return ("<h2>Image features</h2><p data-section='features'>FID "
            f"{_num(f['fid'])} against the baseline's real-vs-real floor {_num(f['fid_floor'])}"
            f": ratio {_num(f['fid_ratio'])} (threshold "
            f"{doc['thresholds'].get('fid_ratio')}), in the baseline's frozen classifier "
            "features. Attributes below are judged by the same classifier.</p>")


def _fid_history(history: pd.DataFrame | None, threshold: float | None) -> str:
    if (history is None or "fid_ratio" not in history.columns
            or history["fid_ratio"].notna().sum() < 2):
        return ""
    rows = history[history["fid_ratio"].notna()]
    return _figure("fid-history", "FID over its floor per check (dashed: the threshold)",
                   lines(rows, ["features"], "fid_ratio", threshold))


def _drift(doc: dict[str, Any]) -> str:
    rows = [[c, d["psi"], d["js"], d["ks"], d["wasserstein"], d["null_share"],
             "; ".join(d["flags"]) or "-"] for c, d in _ranked(doc["drift"])]
    return ("<h2>Drift per column</h2><p class='note'>PSI and Jensen-Shannon over ~20 bins of "
            "equal baseline mass (categories: each one plus unseen values); KS and "
            "Wasserstein (in baseline standard deviations) for numbers.</p>"
            + _table(rows, ["column", "PSI", "JS", "KS", "W1 / std", "null share", "flags"]))


def _ranked(drift: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(drift.items(), key=lambda kv: -(kv[1].get("psi") or 0))


def _charts(doc: dict[str, Any]) -> str:
    dists = doc.get("distributions") or {}
    figs = []
    for name, _ in _ranked(doc["drift"])[:TOP]:
        if name in dists:
            d = dists[name]
            figs.append(_figure("drift-column", f"{name}: baseline (blue) vs current (orange)",
                                bars(d["baseline"], d["current"], d["labels"]), column=name))
    if not figs:
        return ""
    return ("<h2>Columns that moved most</h2><p class='note'>numbers: shares in the baseline's "
            "5%-quantile bins (below and above its range at the ends); categories: the most "
            "frequent ones and values the baseline never saw</p>"
            f'<div class="grid">{"".join(figs)}</div>')


def _history(history: pd.DataFrame | None, threshold: float | None) -> str:
    if history is None or history["check"].nunique() < 2:
        return ("<h2>History</h2><p class='note'>the drift history appears after two checks "
                "against this baseline</p>")
    worst = (history.groupby("column")["psi"].max().sort_values(ascending=False)
             .head(TOP).index.tolist())
    return ("<h2>History</h2>" + _figure("drift-history", "PSI per check, the columns that "
                                         "moved most (dashed: the threshold)",
                                         lines(history, worst, "psi", threshold)))


def lines(history: pd.DataFrame, columns: list[str], metric: str,
          threshold: float | None = None, width: int = 640, height: int = 200) -> str:
    """One polyline per column over the checks in order, with a legend and the threshold."""
    times = sorted(history["check"].unique())
    top = max(float(history[history["column"].isin(columns)][metric].max() or 0),
              threshold or 0, 1e-9)
    left, bottom = 44, 24
    step = (width - left - 130) / max(len(times) - 1, 1)
    parts = [_svg(width, height + bottom),
             f'<line x1="{left}" y1="6" x2="{left}" y2="{height}" stroke="#999"/>',
             f'<text x="{left - 4}" y="12" font-size="9" text-anchor="end">{top:.3g}</text>',
             f'<text x="{left - 4}" y="{height}" font-size="9" text-anchor="end">0</text>']
    if threshold is not None:
        y = height - threshold / top * (height - 8)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 130}" y2="{y:.1f}" '
                     f'stroke="#999" stroke-dasharray="4 3"><title>threshold {threshold}'
                     "</title></line>")
    for k, name in enumerate(columns):
        rows = history[history["column"] == name].set_index("check")[metric]
        pts = [(left + times.index(t) * step, height - (float(v or 0) / top) * (height - 8))
               for t, v in rows.items()]
        colour = COLOURS[k % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + f'"><title>{escape(name)}'
                     "</title></polyline>")
        parts.append(f'<text x="{width - 124}" y="{14 + 14 * k}" font-size="11" '
                     f'fill="{colour}">{escape(name[:18])}</text>')
    stamp = history.groupby("check")["time"].first()
    parts.append(f'<text x="{left}" y="{height + 16}" font-size="9">check {times[0]}: '
                 f'{escape(str(stamp[times[0]])[:16])}</text><text x="{width - 130}" '
                 f'y="{height + 16}" font-size="9" text-anchor="end">check {times[-1]}: '
                 f'{escape(str(stamp[times[-1]])[:16])}</text>')
    return "".join(parts) + "</svg>"


def render_bias(doc: dict[str, Any]) -> str:
    """The bias report: per sensitive attribute, group shares and outcome rates (real beside
    synthetic), parity figures and fidelity within each group."""
    target = doc.get("target")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>raysynth bias report"
             f"</title><style>{CSS}</style></head><body><h1>raysynth bias report</h1>",
             f"<p class='note'>rows: real {doc['rows']['real']:,}, synthetic "
             f"{doc['rows']['synthetic']:,}; outcome: "
             + (f"{escape(str(target))} = {escape(str(doc['positive']))}" if target else "none")
             + "</p>"]
    for attr, part in doc["attributes"].items():
        groups = part["groups"]
        labels = [g["group"] for g in groups]
        parity = part.get("parity") or {}
        parts.append(f"<h2>{escape(attr)}</h2>")
        if target:
            parts.append("<p data-section='parity'>demographic parity difference: real "
                         f"{_num(parity['real']['difference'])}, synthetic "
                         f"{_num(parity['synthetic']['difference'])}; ratio: real "
                         f"{_num(parity['real']['ratio'])}, synthetic "
                         f"{_num(parity['synthetic']['ratio'])}</p>")
        if doc.get("kind") == "images":
            balance = part["balance"]
            parts.append("<p data-section='balance'>judged by a classifier trained on the "
                         f"real images (held-out accuracy "
                         f"{_num(doc['classifier_accuracy'].get(attr))}): total variation "
                         f"from the real shares {_num(balance['total_variation'])}, rarest "
                         f"over commonest {_num(balance['min_over_max'])}, agreement with "
                         f"the value asked for {_num(balance['agreement'])}</p>")
            parts.append(_table([[g["group"], g["real_share"], g.get("asked_share"),
                                  g["synthetic_share"], g.get("agreement")] for g in groups],
                                ["value", "share (real)", "share (asked)",
                                 "share (judged in generated)", "agreement"]))
        else:
            parts.append(_table([[g["group"], g["real_share"], g["synthetic_share"],
                                  g["real_rate"], g["synthetic_rate"], g["shapes"]]
                                 for g in groups],
                                ["group", "share (real)", "share (synthetic)",
                                 "outcome rate (real)", "outcome rate (synthetic)",
                                 "column shapes in group"]))
        figs = [_figure("bias-shares", f"{attr}: group shares, real (blue) vs synthetic "
                        "(orange)", bars([g["real_share"] for g in groups],
                                         [g["synthetic_share"] for g in groups], labels),
                        column=attr)]
        if target:
            figs.append(_figure("bias-rates", f"{attr}: outcome rate per group",
                                bars([g["real_rate"] or 0 for g in groups],
                                     [g["synthetic_rate"] or 0 for g in groups], labels),
                                column=attr))
        parts.append(f'<div class="grid">{"".join(figs)}</div>')
    return "".join(parts) + "</body></html>"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def render_conditions(doc: dict[str, Any]) -> str:
    """How well each condition is honoured: a table, then per condition the shape score of
    every other column, conditioned beside unconditioned, against the real rows that meet it."""
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>raysynth conditions"
             f"</title><style>{CSS}</style></head><body><h1>raysynth: conditions honoured</h1>",
             f"<p class='note'>model: {escape(str(doc['model']))}. Blue: conditioned rows, "
             "orange: unconditioned rows, each scored against the real rows that meet the "
             "condition; blue above orange means the model carried the condition into the "
             "column.</p>",
             _table([[json.dumps(c["condition"]), c["real_rows"], c["honoured"],
                      c["rejected_rows"], c["others_conditioned"], c["others_unconditioned"],
                      ", ".join(c["worst"])] for c in doc["conditions"]],
                    ["condition", "real rows", "honoured", "rejected", "other columns "
                     "(conditioned)", "(unconditioned)", "worst columns"])]
    figs = []
    for c in doc["conditions"]:
        names = list(c["columns"])
        figs.append(_figure("condition-columns", json.dumps(c["condition"]),
                            bars([c["columns"][n]["conditioned"] for n in names],
                                 [c["columns"][n]["unconditioned"] for n in names], names,
                                 width=480)))
    return "".join(parts) + f'<div class="grid">{"".join(figs)}</div></body></html>'
