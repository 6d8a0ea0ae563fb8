"""Generated timestamps moved to a new period, or stamped with the current time.

`retime={"column": "ts", "start": "2026-12-01", "period": "day"}` moves every row to the
period (day, week or month) that begins at `start`, keeping each row's place within its own
period: the wall-clock time of day (and, for a week, the day counted from the start's weekday;
for a month, the elapsed share of the month, so month lengths differ without spilling over).
Wall-clock places are kept in the column's own time zone, so a daylight-saving day keeps the
hour-of-day pattern (a time that day skips moves forward, a repeated one takes its first
occurrence). `stamp="now"` (or {"column": "ts", "at": "now" | a timestamp}) puts the column at
the current time (UTC for a column without a zone). Either way, every datetime column of a row
moves by the same amount, so the gaps between them (end - start) are kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import ConditionError

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Shift:
    column: str
    mode: str  # "retime" or "stamp"
    start: pd.Timestamp | None = None  # retime: the new period's first instant (wall clock)
    period: str = "day"
    at: pd.Timestamp | None = None  # stamp: None = now


def parse_shift(retime: dict[str, Any] | None, stamp: str | dict[str, Any] | None,
                schema: Any) -> Shift | None:
    """The requested shift, checked against the model's columns (`schema.codecs`)."""
    if retime is not None and stamp is not None:
        raise ConditionError("give retime or stamp, not both")
    dated = [c for c, k in schema.codecs.items() if schema.metadata.kind(c) == "datetime"]
    if retime is not None:
        if not isinstance(retime, dict) or set(retime) - {"column", "start", "period"}:
            raise ConditionError('retime takes {"column": ..., "start": ..., "period": "day" | '
                                 f'"week" | "month"}}, got {retime!r}')
        period = retime.get("period", "day")
        if period not in PERIODS:
            raise ConditionError(f"retime period must be one of {', '.join(PERIODS)}, got "
                                 f"{period!r}")
        return Shift(_column(retime.get("column"), dated), "retime",
                     start=_when(retime.get("start"), "retime start").normalize(), period=period)
    if stamp is None:
        return None
    spec = {"at": "now"} if stamp == "now" else stamp
    if not isinstance(spec, dict) or set(spec) - {"column", "at"}:
        raise ConditionError(f'stamp takes "now" or {{"column": ..., "at": "now" | a time}}, '
                             f"got {stamp!r}")
    at = spec.get("at", "now")
    return Shift(_column(spec.get("column"), dated), "stamp",
                 at=None if at == "now" else _when(at, "stamp at"))


def _column(name: Any, dated: list[str]) -> str:
    if not dated:
        raise ConditionError("this model has no datetime column to retime or stamp")
    if name is None:
        return dated[0]
    if name not in dated:
        raise ConditionError(f"{name!r} is not a datetime column of this model; datetime "
                             f"columns: {', '.join(dated)}")
    return name


def _when(value: Any, what: str) -> pd.Timestamp:
    try:
        out = pd.Timestamp(value)
    except (TypeError, ValueError):
        out = pd.NaT
    if out is pd.NaT:
        raise ConditionError(f"{what} {value!r} is not a date or time")
    return out


def apply_shift(df: pd.DataFrame, shift: Shift, schema: Any) -> pd.DataFrame:
    """`df` with every datetime column moved by the row's shift of `shift.column`."""
    if df.empty:
        return df
    parsed = {c: _parse(df[c], schema.codecs[c]) for c in schema.codecs
              if schema.metadata.kind(c) == "datetime" and c in df}
    old = parsed[shift.column]
    tz = old.dt.tz
    new = _retimed(old, shift) if shift.mode == "retime" else _stamped(old, shift, tz)
    delta = (new - old).fillna(pd.Timedelta(0))  # a row without a value stays where it is
    out = df.copy()
    for col, values in parsed.items():
        out[col] = _format(values + delta, df[col], schema.codecs[col])
    return out


def _parse(series: pd.Series, codec: Any) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, format=codec.meta.datetime_format, errors="coerce")


def _format(moved: pd.Series, original: pd.Series, codec: Any) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(original):
        return moved.astype(original.dtype)
    fmt = codec.meta.datetime_format or "%Y-%m-%d %H:%M:%S"
    return moved.dt.strftime(fmt).astype(object).where(moved.notna(), None)


def _retimed(ts: pd.Series, shift: Shift) -> pd.Series:
    tz = ts.dt.tz
    wall = ts.dt.tz_localize(None) if tz is not None else ts  # the local wall clock
    start = shift.start.tz_localize(None) if shift.start.tzinfo else shift.start
    day = wall.dt.normalize()
    if shift.period == "day":
        target = start + (wall - day)
    elif shift.period == "week":
        days = (wall.dt.weekday - start.weekday()) % 7
        target = start + pd.to_timedelta(days, unit="D") + (wall - day)
    else:
        first = wall.dt.to_period("M").dt.start_time
        length = wall.dt.days_in_month.to_numpy() * 86400.0
        share = (wall - first).dt.total_seconds().to_numpy() / length
        new_length = start.days_in_month * 86400.0
        target = pd.Series(start + pd.to_timedelta(np.floor(share * new_length), unit="s"),
                           index=ts.index)
    if tz is None:
        return target
    ambiguous = np.ones(len(target), dtype=bool)  # a repeated hour: its first occurrence
    return target.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous=ambiguous)


def _stamped(ts: pd.Series, shift: Shift, tz: Any) -> pd.Series:
    at = shift.at if shift.at is not None else pd.Timestamp.now(tz="UTC")
    if tz is not None:
        at = (at if at.tzinfo else at.tz_localize("UTC")).tz_convert(tz)
    elif at.tzinfo is not None:
        at = at.tz_convert("UTC").tz_localize(None)
    return pd.Series(at, index=ts.index).astype(ts.dtype).where(ts.notna())
