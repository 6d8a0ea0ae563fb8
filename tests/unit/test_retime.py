"""Generated timestamps moved to a new day, week or month (daylight-saving days included),
or stamped with the current time: every row lands in the target period, the hour-of-day
pattern and the gaps between a row's datetimes are kept, and so are the column's zone, unit
and string format; the HTTP request takes the same with errors naming the field."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synth
from serving.generate import body_chunks, model_conditions
from serving.requests import Invalid
from serving.schemas import GenerateRequest
from synth.errors import ConditionError
from synth.metrics.fidelity import column_shapes

ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def sensor():
    """Five days of readings in Berlin time, busiest around 14:00, each with an end time."""
    rng = np.random.default_rng(0)
    n = 3000
    days = pd.Timestamp("2026-11-02", tz=ZONE) + pd.to_timedelta(rng.integers(0, 5, n), unit="D")
    hours = np.clip(rng.normal(14, 3, n), 0, 23.99)
    ts = (days + pd.to_timedelta(hours * 3600, unit="s")).round("s").astype(
        f"datetime64[ms, {ZONE}]")
    df = pd.DataFrame({"ts": ts, "end": ts + pd.to_timedelta(rng.exponential(600, n).round(),
                                                             unit="s"),
                       "reading": rng.normal(20, 2, n).round(2)})
    rule = {"type": "inequality", "low": "ts", "high": "end"}
    model = synth.create_synthesizer("gaussian_copula").fit(df, {"constraints": [rule]})
    return df, model


def _hours(ts: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"hour": ts.dt.tz_convert(ZONE).dt.hour.astype(str)})


@pytest.mark.parametrize("day", ["2026-12-01", "2026-03-29", "2026-10-25"])  # DST both ways
def test_a_day_of_readings_moves_to_another_day(sensor, day):
    df, model = sensor
    source = model.sample(4000, seed=1)
    moved = model.sample(4000, seed=1, retime={"column": "ts", "start": day, "period": "day"})
    local = moved.ts.dt.tz_convert(ZONE)
    assert (local.dt.normalize() == pd.Timestamp(day, tz=ZONE)).all()
    assert column_shapes(_hours(source.ts), _hours(moved.ts))["column_shapes"] >= 0.95
    assert ((moved.end - moved.ts) == (source.end - source.ts)).all()  # gaps kept
    assert moved.dtypes.to_dict() == df.dtypes.to_dict()  # zone and unit kept
    assert moved.reading.equals(source.reading)


def test_weeks_months_and_stamps(sensor):
    _, model = sensor
    week = model.sample(2000, seed=2, retime={"start": "2026-12-07", "period": "week"})
    assert week.ts.dt.tz_convert(ZONE).dt.normalize().between(
        pd.Timestamp("2026-12-07", tz=ZONE), pd.Timestamp("2026-12-13", tz=ZONE)).all()
    month = model.sample(2000, seed=2, retime={"start": "2027-02-01", "period": "month"})
    assert (month.ts.dt.tz_convert(ZONE).dt.month == 2).all()  # 28 days: nothing spills over
    before = pd.Timestamp.now(tz="UTC")
    now = model.sample(1, stamp="now")
    assert before <= now.ts.iloc[0] <= pd.Timestamp.now(tz="UTC") and now.end.iloc[0] >= \
        now.ts.iloc[0]
    fixed = model.sample(3, stamp={"column": "end", "at": "2026-12-24 18:00"}, seed=3)
    assert (fixed.end == pd.Timestamp("2026-12-24 18:00", tz="UTC")).all()
    chunks = list(model.iter_sample(500, seed=1, chunk_rows=128,
                                    retime={"start": "2026-12-01"}))
    assert pd.concat(chunks, ignore_index=True).equals(
        model.sample(500, seed=1, retime={"start": "2026-12-01"}))


def test_string_datetimes_keep_their_format():
    rng = np.random.default_rng(1)
    stamps = pd.Timestamp("2026-05-04") + pd.to_timedelta(rng.integers(0, 86400 * 3, 500),
                                                          unit="s")
    df = pd.DataFrame({"when": stamps.strftime("%d.%m.%Y %H:%M"), "v": rng.normal(size=500)})
    model = synth.create_synthesizer("gaussian_copula").fit(
        df, {"columns": {"when": {"kind": "datetime", "datetime_format": "%d.%m.%Y %H:%M"}}})
    out = model.sample(300, seed=0, retime={"start": "2026-06-01"})
    assert out.when.str.match(r"^01\.06\.2026 \d\d:\d\d$").all()


@pytest.mark.parametrize("kwargs, message", [
    ({"retime": {"column": "reading", "start": "2026-01-01"}}, "not a datetime column"),
    ({"retime": {"start": "soon"}}, "is not a date or time"),
    ({"retime": {"start": "2026-01-01", "period": "year"}}, "day, week, month"),
    ({"retime": {"start": "2026-01-01"}, "stamp": "now"}, "not both"),
    ({"stamp": "later"}, 'stamp takes "now"'),
])
def test_bad_shifts_are_refused(sensor, kwargs, message):
    with pytest.raises(ConditionError, match=message):
        sensor[1].sample(3, **kwargs)


def test_the_http_request_takes_retime_and_stamp(sensor):
    model = sensor[1]
    req = GenerateRequest(num_samples=50, seed=1, output_format="json",
                          retime={"start": "2026-12-01"})
    rows = json.loads(b"".join(body_chunks(model, req, model_conditions(model, req), 16, {})))
    assert all(r["ts"].startswith("2026-12-01") for r in rows["rows"])
    bad = GenerateRequest(num_samples=5, retime={"column": "reading", "start": "2026-12-01"})
    with pytest.raises(Invalid) as info:
        model_conditions(model, bad)
    assert info.value.to_json()["detail"][0]["loc"] == ["body", "retime"]
    assert GenerateRequest(stamp="now").shift() == (None, "now")
