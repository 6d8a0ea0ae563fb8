"""report.html: one self-contained page (inline SVG and CSS, no scripts, nothing fetched)
drawn from report.json's content. Every user-provided string is HTML-escaped."""

from __future__ import annotations

import json
from html import escape
from typing import Any

import numpy as np

REAL, SYNTH = "#1f77b4", "#ff7f0e"
CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1300px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:right}th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;border:1px solid #eee;padding:.4em;width:min-content}
figcaption{font-size:.9em;font-weight:600}.note{color:#666;font-size:.9em}
.key span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
.band{display:inline-block;min-width:3.5em;text-align:center;border-radius:.3em;color:#fff;
font-weight:600;padding:0 .4em}.band-good{background:#2e7d32}.band-fair{background:#ef8f00}
.band-poor{background:#c62828}td.sentence{text-align:left}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}"""
BAND_ORDER = ("good", "fair", "poor")
EFFECT_COLUMNS = 4  # the detector's most telling columns drawn as where-they-differ plots


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4f}"
    return escape(str(v))


def _table(rows: list[list[Any]], head: list[str]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _figure(kind: str, caption: str, svg: str, **attrs: str) -> str:
    extra = "".join(f' data-{k}="{escape(v)}"' for k, v in attrs.items())
    return (f'<figure data-figure="{kind}"{extra}><figcaption>{escape(caption)}</figcaption>'
            f"{svg}</figure>")


def _svg(width: float, height: float) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            'role="img" font-family="system-ui,sans-serif">')


def bars(real: list[float], synthetic: list[float] | None, labels: list[str], width: int = 360,
         height: int = 170) -> str:
    """Grouped bars, real vs synthetic, one group per label (one series when synthetic is
    None), on a y axis marked at 0 and its top value."""
    n = max(len(real), 1)
    series = [("real", REAL, real)] + ([("synthetic", SYNTH, synthetic)] if synthetic else [])
    top = max([v or 0 for _, _, vals in series for v in vals] + [1e-12])
    left, right = 38, 40  # room for the axis values, and for the last label's slant
    slot = (width - left - right) / n
    step_w = slot / len(series)
    parts = [_svg(width, height + 62),
             f'<line x1="{left - 2}" y1="8" x2="{left - 2}" y2="{height + 8}" stroke="#999"/>',
             f'<text x="{left - 5}" y="14" font-size="9" text-anchor="end">{top:.3g}</text>',
             f'<text x="{left - 5}" y="{height + 8}" font-size="9" text-anchor="end">0</text>']
    for i in range(len(real)):
        for k, (name, color, vals) in enumerate(series):
            v = vals[i] or 0
            h = v / top * height
            parts.append(f'<rect x="{left + i * slot + k * step_w:.1f}" y="{height + 8 - h:.1f}" '
                         f'width="{max(step_w - 0.5, 0.5):.1f}" height="{h:.1f}" '
                         f'fill="{color}"><title>{escape(labels[i])}: {name} {v:.4f}'
                         f"</title></rect>")
    step = max(1, -(-n // 8))
    for i in range(0, n, step):
        x, y = left + (i + 0.5) * slot, height + 20
        parts.append(f'<text x="{x:.1f}" y="{y}" font-size="9" transform="rotate(30 {x:.1f} {y})"'
                     f">{escape(_short(labels[i], 14))}<title>{escape(labels[i])}</title></text>")
    return "".join(parts) + "</svg>"


def hbars(values: list[float], labels: list[str], width: int = 420, row: int = 17) -> str:
    """Horizontal bars with their labels and values: for rankings (detection importance)."""
    top = max([v or 0 for v in values] + [1e-12])
    left, right = 130, 52
    parts = [_svg(width, row * len(values) + 6)]
    for i, (v, name) in enumerate(zip(values, labels, strict=True)):
        v = v or 0
        y = 3 + i * row
        w = max(v, 0) / top * (width - left - right)
        parts.append(f'<text x="{left - 6}" y="{y + row * 0.7:.1f}" font-size="11" '
                     f'text-anchor="end">{escape(_short(name, 20))}</text>'
                     f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" '
                     f'fill="{REAL}"><title>{escape(name)}: {v:.4f}</title></rect>'
                     f'<text x="{left + w + 4:.1f}" y="{y + row * 0.7:.1f}" font-size="10">'
                     f"{v:.3f}</text>")
    return "".join(parts) + "</svg>"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def heatmap(names: list[str], value: dict[tuple[str, str], float], cell: int = 16) -> str:
    """Lower-triangle heatmap of a per-pair value in 0..1 (white 0 -> red 1), with its scale."""
    pad, top = 112, 92
    side = cell * len(names)
    parts = [_svg(pad + side + 50, top + side + 34)]
    for i, a in enumerate(names):
        label = escape(_short(a, 16))
        parts.append(f'<text x="{pad - 4}" y="{top + i * cell + cell * 0.7:.1f}" font-size="10" '
                     f'text-anchor="end">{label}</text>')
        x = pad + i * cell + cell * 0.6
        parts.append(f'<text x="{x:.1f}" y="{top - 4}" font-size="10" '
                     f'transform="rotate(-60 {x:.1f} {top - 4})">{label}</text>')
        for j, b in enumerate(names[:i]):
            v = value.get((b, a), value.get((a, b)))
            if v is None:
                continue
            parts.append(f'<rect x="{pad + j * cell}" y="{top + i * cell}" width="{cell - 1}" '
                         f'height="{cell - 1}" fill="{_red(v)}"><title>'
                         f"{escape(b)} | {escape(a)}: {v:.4f}</title></rect>")
    y = top + side + 12  # the scale: 0 (white) to 1 (red) in five steps
    for k in range(6):
        parts.append(f'<rect x="{pad + k * 24}" y="{y}" width="23" height="10" '
                     f'fill="{_red(k / 5)}" stroke="#ddd" stroke-width="0.5"/>')
    parts.append(f'<text x="{pad - 4}" y="{y + 9}" font-size="9" text-anchor="end">0</text>'
                 f'<text x="{pad + 148}" y="{y + 9}" font-size="9">1</text>')
    return "".join(parts) + "</svg>"


def _red(v: float) -> str:
    shade = int(255 * (1 - min(max(v, 0.0), 1.0)))
    return f"rgb(255,{shade},{shade})"


def _key() -> str:
    return (f'<p class="key"><span style="background:{REAL}"></span>real'
            f'<span style="background:{SYNTH}"></span>synthetic</p>')


def _columns_section(fid: dict) -> str:
    figs = []
    for name, dist in fid.get("distributions", {}).items():
        score = fid["column_shapes"].get(name, {}).get("score")
        figs.append(_figure("column", f"{name} (shape score {_fmt(score)})",
                            _distribution_svg(dist), column=name))
    return "<h2>Columns</h2>" + _key() + f'<div class="grid">{"".join(figs)}</div>'


def _pairs_section(fid: dict) -> str:
    """Three lower-triangle heatmaps: how strongly each pair is related in the real data, in
    the synthetic data (|Pearson r| for two continuous columns, Cramér's V otherwise), and how
    far apart the two are."""
    names = list(fid.get("distributions", {}))
    real, synthetic, diff = {}, {}, {}
    for key, d in fid.get("column_pair_trends", {}).items():
        a, b = key.split(" | ", 1)
        if d.get("score") is None:
            continue
        if d["metric"] == "CorrelationSimilarity":
            diff[(a, b)] = 2 * (1 - d["score"])
            real[(a, b)], synthetic[(a, b)] = abs(d["real"]), abs(d["synthetic"])
        else:
            diff[(a, b)] = 1 - d["score"]
            real[(a, b)] = d.get("real_association")
            synthetic[(a, b)] = d.get("synthetic_association")
    note = ("<p class='note'>Pair strength is |Pearson r| for two continuous columns and "
            "Cramér's V otherwise (darker = stronger). The difference is |Δ Pearson r| / 2 for "
            "two continuous columns and the total variation distance of the contingency tables "
            "otherwise (darker = further apart); hover a cell for its value.</p>")
    figs = [_figure("pair-real", "Pair strength, real data", heatmap(names, _known(real))),
            _figure("pair-synthetic", "Pair strength, synthetic data",
                    heatmap(names, _known(synthetic))),
            _figure("pair-heatmap", "Difference, real vs synthetic", heatmap(names, diff))]
    return "<h2>Column pairs</h2>" + note + f'<div class="grid">{"".join(figs)}</div>'


def _known(values: dict[tuple[str, str], Any]) -> dict[tuple[str, str], float]:
    return {k: float(v) for k, v in values.items()
            if isinstance(v, int | float) and v == v}


def _detection_section(det: dict, fid: dict) -> str:
    imp = det.get("importance", {})
    names = list(imp)[:20]
    svg = hbars([imp[n] for n in names], names)
    parts = ["<h2>Detection: where synthetic rows give themselves away</h2>", _figure(
        "detection-importance", "Share of the detector's AUC lost when a column is shuffled",
        svg)]
    dists = fid.get("distributions", {})
    worst = max((n for n in names if n in dists), key=lambda n: imp[n] or 0, default=None)
    if worst is not None:  # the column the detector leans on most, real vs synthetic
        parts.append(_figure("detection-worst", f"{worst}: the detector's most telling column",
                             _distribution_svg(dists[worst]), column=worst))
    telling = [n for n in names if n in dists][:EFFECT_COLUMNS]
    effects = [_figure("column-effect", _effect_caption(n, dists[n]), _effect_svg(dists[n]),
                       column=n) for n in telling]
    note = ("<p class='note'>Where in each of the most telling columns the synthetic rows "
            "differ: the synthetic share minus the real share of each bin (above the line: "
            "too many synthetic rows there).</p>")
    return (parts[0] + f'<div class="grid">{"".join(parts[1:])}</div>'
            + (note + f'<div class="grid">{"".join(effects)}</div>' if effects else ""))


def _labels(dist: dict) -> list[str]:
    if dist["type"] == "continuous":
        return [f"{e:.4g}" for e in dist["edges"][:-1]] if dist["edges"] else []
    return dist["labels"]


def _effect_caption(name: str, dist: dict) -> str:
    gap = np.asarray(dist["synthetic"]) - np.asarray(dist["real"])
    if not len(gap):
        return name
    i = int(np.abs(gap).argmax())
    edges = dist.get("edges") or []
    where = (f"{edges[i]:.4g} to {edges[i + 1]:.4g}" if dist["type"] == "continuous"
             and i + 1 < len(edges) else _labels(dist)[i])
    return (f"{name}: largest gap at {where} ({100 * gap[i]:+.1f} points of the rows in "
            "synthetic)")


def _effect_svg(dist: dict, width: int = 360, height: int = 150) -> str:
    """Diverging bars: synthetic share minus real share per bin, around a zero line."""
    gap = np.asarray(dist["synthetic"], dtype=float) - np.asarray(dist["real"], dtype=float)
    labels, n = _labels(dist), max(len(gap), 1)
    top = float(np.abs(gap).max(initial=0)) or 1e-9
    left, right, mid = 44, 30, 8 + height / 2
    slot = (width - left - right) / n
    parts = [_svg(width, height + 56),
             f'<line x1="{left - 2}" y1="{mid:.1f}" x2="{width - right}" y2="{mid:.1f}" '
             'stroke="#999"/>',
             f'<text x="{left - 5}" y="14" font-size="9" text-anchor="end">+{top:.2g}</text>',
             f'<text x="{left - 5}" y="{height + 8}" font-size="9" text-anchor="end">'
             f"-{top:.2g}</text>"]
    for i, g in enumerate(gap):
        h = max(abs(g) / top * (height / 2), 0.5)
        y = mid - h if g > 0 else mid
        colour = SYNTH if g > 0 else REAL
        parts.append(f'<rect x="{left + i * slot:.1f}" y="{y:.1f}" width="'
                     f'{max(slot - 1, 0.5):.1f}" height="{h:.1f}" fill="{colour}"><title>'
                     f"{escape(labels[i] if i < len(labels) else '')}: {g:+.4f}</title></rect>")
    step = max(1, -(-n // 8))
    for i in range(0, min(n, len(labels)), step):
        x, y = left + (i + 0.5) * slot, height + 20
        parts.append(f'<text x="{x:.1f}" y="{y}" font-size="9" transform="rotate(30 {x:.1f} '
                     f'{y})">{escape(_short(labels[i], 14))}</text>')
    return "".join(parts) + "</svg>"


def _distribution_svg(dist: dict) -> str:
    return bars(dist["real"], dist["synthetic"], _labels(dist))


def _trained_privacy(settings: dict) -> str:
    """The differential privacy the model was trained with, where the report knows its model
    (settings.training_privacy: None = none; absent = rows from files, nothing to say)."""
    if "training_privacy" not in settings:
        return ""
    dp = settings["training_privacy"]
    if not dp:
        return ("<p class='note' data-section='training-privacy'>trained without differential "
                "privacy: the figures below are the only privacy evidence</p>")
    return ("<p data-section='training-privacy'>trained with differential privacy: "
            f"\u03b5 = {float(dp['epsilon']):.4g}, \u03b4 = {float(dp['delta']):.3g} "
            f"({int(dp['steps'])} DP-SGD steps, noise multiplier "
            f"{float(dp['noise_multiplier']):.3g})</p>")


def _privacy_section(priv: dict, settings: dict) -> str:
    syn, hold = np.asarray(priv.get("dcr_synthetic", [])), np.asarray(priv.get("dcr_holdout", []))
    top = float(max(syn.max(initial=0), hold.max(initial=0), 1e-9))
    edges = np.linspace(0, top, 26)
    hs = np.histogram(syn, edges)[0] / max(len(syn), 1)
    hh = np.histogram(hold, edges)[0] / max(len(hold), 1)
    labels = [f"{e:.3f}" for e in edges[:-1]]
    cap = ("Distance to the closest training row (Gower): holdout rows (blue) vs synthetic rows "
           "(orange); synthetic mass left of the holdout's means memorization")
    figure = _figure("privacy-dcr", cap, bars(hh.tolist(), hs.tolist(), labels, width=640))
    return "<h2>Privacy</h2>" + _trained_privacy(settings) + figure


def _utility_section(util: dict) -> str:
    rows, names, real, synthetic = [], [], [], []
    key = util.get("primary")
    for name, d in util.get("evaluators", {}).items():
        rows.append([name, d["trtr"][key], d["tstr"][key], d["ratio"]])
        names.append(name)
        real.append(d["trtr"][key])
        synthetic.append(d["tstr"][key])
    head = ["evaluator", f"train real ({key})", "train synthetic", "ratio"]
    cap = (f"{key} on real holdout rows of a model trained on real rows (blue) and on "
           "synthetic rows (orange), per evaluator")
    return (f"<h2>Utility (target {escape(str(util.get('target')))}, {util.get('task')})</h2>"
            + _figure("utility-tstr", cap, bars(real, synthetic, names, width=480))
            + _table(rows, head))


def _band(band: str) -> str:
    safe = band if band in BAND_ORDER else "poor"
    return f"<span class='band band-{safe}'>{escape(band)}</span>"


def _verdict_section(verdicts: dict[str, dict[str, Any]]) -> str:
    """The headline: the overall band (the weakest pillar's) and one row per pillar."""
    if not verdicts:
        return ""
    worst = max((v["band"] for v in verdicts.values()),
                key=lambda b: BAND_ORDER.index(b) if b in BAND_ORDER else len(BAND_ORDER))
    rows = "".join(
        f"<tr><td>{escape(pillar)}</td><td>{_band(v['band'])}</td><td>{escape(v['score'])}"
        f"</td><td>{_fmt(v['value'])}</td><td class='sentence'>{escape(v['sentence'])}</td></tr>"
        for pillar, v in verdicts.items())
    return (f"<section data-section='verdicts'><h2>Verdict: {_band(worst)}</h2>"
            "<p class='note'>Overall: the weakest pillar's band. Thresholds and their reasons: "
            "synth/metrics/bands.py.</p><table><tr><th>pillar</th><th>band</th><th>score</th>"
            f"<th>value</th><th>what it means</th></tr>{rows}</table></section>")


PILLARS = {"fidelity": ("quality", "column_", "missing_", "wasserstein", "constraints"),
           "utility": ("tstr", "trtr"), "privacy": ("dcr", "exact_copies", "nndr", "membership"),
           "detection": ("detection",)}


def _pillar(key: str) -> str:
    return next((p for p, prefixes in PILLARS.items() if key.startswith(prefixes)), "other")


def _scores_section(scores: dict[str, Any], verdicts: dict[str, dict[str, Any]]) -> str:
    """The scores grouped by pillar, each under its band and sentence."""
    groups: dict[str, list[list[Any]]] = {}
    for k, v in scores.items():
        groups.setdefault(_pillar(k), []).append([k, v])
    parts = ["<h2>Scores by pillar</h2>"]
    for pillar in (*PILLARS, "other"):
        if pillar not in groups:
            continue
        v = verdicts.get(pillar)
        head = f"<h3>{escape(pillar)} {_band(v['band']) if v else ''}</h3>"
        note = f"<p class='note'>{escape(v['sentence'])}</p>" if v else ""
        parts.append(f"<section data-pillar='{pillar}'>{head}{note}"
                     f"{_table(groups[pillar], ['metric', 'value'])}</section>")
    return "".join(parts)


def render(doc: dict[str, Any]) -> str:
    scores, details, settings = doc["scores"], doc["details"], doc["settings"]
    subject = settings.get("subject") or {}
    about = "; ".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in subject.items())
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>raysynth evaluation"
             f"</title><style>{CSS}</style></head><body><h1>raysynth evaluation report</h1>",
             f"<p data-section='subject'>{about}</p>" if about else "",
             f"<p class='note'>target: {escape(str(settings.get('target')))}; rows: "
             f"{escape(str(settings.get('rows')))}; fidelity on "
             f"{escape(str(settings.get('fidelity')))}; skipped: "
             f"{escape(str(settings.get('skipped') or 'nothing'))}</p>",
             _verdict_section(doc.get("verdicts") or {}),
             _scores_section(scores, doc.get("verdicts") or {})]
    if "fidelity" in details:
        parts += [_columns_section(details["fidelity"]), _pairs_section(details["fidelity"])]
    if "utility" in details:
        parts.append(_utility_section(details["utility"]))
    if "detection" in details:
        parts.append(_detection_section(details["detection"], details.get("fidelity", {})))
    if "privacy" in details:
        parts.append(_privacy_section(details["privacy"], settings))
    if "wasserstein" in details:
        w = details["wasserstein"]
        parts += ["<h2>Wasserstein distances</h2>", f"<p class='note'>{escape(w['note'])}</p>",
                  _table([[k, v] for k, v in w["per_column"].items()],
                         ["column", "W1 / real range"])]
    parts.append("<h2>Settings</h2><details><summary>what was run, with which settings and "
                 "versions</summary><pre>" + escape(json.dumps(settings, indent=1, default=str))
                 + "</pre></details></body></html>")
    return "".join(parts)
