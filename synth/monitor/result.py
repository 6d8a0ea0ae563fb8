"""What a check found (CheckResult), the thresholds it judged by, where its files go, and the
history every check against one baseline appends to; shared by the table check (check.py) and
the image check (image_check.py)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from synth.data.io import exists, join, read_table, write_bytes, write_table
from synth.errors import DataError
from synth.monitor.drift import METRICS
from synth.monitor.report import render


@dataclass(frozen=True)
class Thresholds:
    """A column is flagged when a drift figure exceeds its threshold (None: not used)."""

    psi: float | None = 0.2
    js: float | None = 0.1
    ks: float | None = 0.1
    wasserstein: float | None = 0.25  # in baseline standard deviations
    fid_ratio: float | None = 3.0  # images: FID over the baseline's real-vs-real floor


@dataclass
class CheckResult:
    rows: int
    violations: list[dict[str, Any]]
    drift: dict[str, dict[str, Any]]
    flagged: dict[str, list[str]]
    thresholds: Thresholds
    data: str = ""
    baseline: str = ""
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    distributions: dict[str, Any] = field(default_factory=dict)
    kind: str = "table"  # or "images" (synth/monitor/image_check.py)

    @property
    def alarm(self) -> bool:
        return bool(self.flagged)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "time": self.time, "data": self.data, "baseline": self.baseline,
                "rows": self.rows, "alarm": self.alarm, "flagged": self.flagged,
                "thresholds": asdict(self.thresholds), "violations": self.violations,
                "drift": self.drift, "distributions": self.distributions}


@dataclass(frozen=True)
class Checked:
    """What a check was asked: the data, the baseline's folder, where results go."""

    data: str
    baseline: str
    output: str | None
    history: str | None
    thresholds: Thresholds
    examples: int


def write_result(result: CheckResult, output: str | None, history: str | None) -> None:
    doc = result.to_json()
    if output:
        write_bytes(join(output, "check.json"), json.dumps(doc, indent=1, default=str).encode())
        write_bytes(join(output, "violations.json"),
                    json.dumps(result.violations, indent=1, default=str).encode())
        write_bytes(join(output, "drift.json"), json.dumps(result.drift, indent=1).encode())
    past = None
    if history:
        past = append_history(history, result)
    if output:
        write_bytes(join(output, "report.html"), render(doc, past).encode())


def history_rows(result: CheckResult, number: int) -> pd.DataFrame:
    counts: dict[str, int] = {}
    for v in result.violations:
        counts[v["column"]] = counts.get(v["column"], 0) + v["count"]
    return pd.DataFrame([{"check": number, "time": result.time, "data": result.data,
                          "rows": result.rows,
                          "column": name, **{m: d.get(m) for m in METRICS},
                          **{k: d[k] for k in ("fid", "fid_ratio") if k in d},
                          "null_share": d["null_share"], "violations": counts.get(name, 0),
                          "flagged": name in result.flagged}
                         for name, d in result.drift.items()])


def append_history(path: str, result: CheckResult) -> pd.DataFrame:
    past = read_table(path) if exists(path) else None
    if past is not None and not {"check", "column", "time", *METRICS} <= set(past.columns):
        raise DataError(f"{path} is not a monitor history (its columns: "
                        f"{', '.join(map(str, past.columns[:8]))}); give another history=PATH")
    new = history_rows(result, 1 if past is None else int(past["check"].max()) + 1)
    table = new if past is None else pd.concat([past, new], ignore_index=True)
    write_table(table, path)
    return table
