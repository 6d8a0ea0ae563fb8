"""The serving hardening without Ray: keys that fail closed and rotate, the Guard middleware
(auth before the body, size and time limits on the body), streamed bodies that are checked
before their 200 and end detectably when they fail, condition-group limits, the heavy lane,
and a model listing from metadata that reports broken entries per model."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI, Request

from serving import auth, lanes
from serving.auth import KeyRing
from serving.catalog import Catalog, describe_files, describe_model
from serving.encode import csv_chunks, json_chunks, jsonl_chunks
from serving.generate import open_stream, stream_failure
from serving.guard import Guard, GuardState
from serving.requests import Invalid, check_groups
from serving.schemas import GenerateRequest
from serving.settings import load_settings, reconfigured
from synth.budget import Budget
from synth.errors import BudgetExceeded, ConditionError, ConfigError
from synth.store import ModelStore


@pytest.fixture
def no_env_key(monkeypatch):
    monkeypatch.delenv("RAYSYNTH_API_KEY", raising=False)
    monkeypatch.delenv("RAYSYNTH_API_KEY_FILE", raising=False)


def test_no_key_refuses_to_start_unless_auth_none_is_explicit(no_env_key, monkeypatch):
    with pytest.raises(ConfigError, match="no API key"):
        KeyRing(load_settings({}))
    assert KeyRing(load_settings({"auth": "none"})).allows(None)
    monkeypatch.setenv("RAYSYNTH_API_KEY", "env-key")
    ring = KeyRing(load_settings({}))
    assert ring.allows("env-key") and not ring.allows(None) and not ring.allows("clé")


def test_a_key_file_rotates_without_a_restart_and_fails_closed(no_env_key, tmp_path,
                                                               monkeypatch):
    monkeypatch.setattr(auth, "RECHECK_S", 0.0)
    path = tmp_path / "key"
    path.write_text("old-key\n")
    ring = KeyRing(load_settings({"api_key_file": str(path)}))
    assert ring.allows("old-key") and not ring.allows("new-key")
    path.write_text("new-key\nold-key\n")  # rotation: both for a while
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert ring.allows("new-key") and ring.allows("old-key")
    path.write_text("new-key\n")
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert ring.allows("new-key") and not ring.allows("old-key")
    path.unlink()  # the secret vanished: deny everything, never open up
    assert not ring.allows("new-key") and not ring.allows(None)


def test_user_config_cannot_switch_auth(no_env_key):
    settings = load_settings({"api_key_file": "/run/secret"})
    for key, value in [("auth", "none"), ("api_key_file", ""), ("api_key_env", "X")]:
        with pytest.raises(ConfigError, match="cannot change through user_config"):
            reconfigured(settings, {key: value})
    assert reconfigured(settings, {"pins": {"a": 2}}).pins == {"a": 2}


def _guarded_app(state: GuardState) -> tuple[FastAPI, list[int]]:
    app, reads = FastAPI(), []

    @app.post("/v1/echo")
    async def echo(request: Request) -> dict:
        body = await request.body()
        reads.append(len(body))
        return {"size": len(body)}

    @app.get("/healthz")
    async def health() -> dict:
        return {"status": "ok"}

    app.add_middleware(Guard, state=state)
    return app, reads


def test_guard_checks_the_key_before_the_body_and_bounds_the_body(no_env_key, monkeypatch):
    monkeypatch.setenv("RAYSYNTH_API_KEY", "k")
    state = GuardState(KeyRing(load_settings({})), max_body_bytes=2048, body_timeout_s=0.3)
    app, reads = _guarded_app(state)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            assert (await c.get("/healthz")).status_code == 200  # open
            r = await c.post("/v1/echo", content=b"x" * 100, headers={"X-API-Key": "clé".encode()})
            assert r.status_code == 401 and reads == []  # refused before the body was read
            ok = await c.post("/v1/echo", content=b"x" * 100, headers={"X-API-Key": "k"})
            assert ok.json() == {"size": 100}
            big = await c.post("/v1/echo", content=b"x" * 4096, headers={"X-API-Key": "k"})
            assert big.status_code == 413

            async def chunked():  # no content-length: counted as it arrives
                for _ in range(8):
                    yield b"x" * 512

            r = await c.post("/v1/echo", content=chunked(), headers={"X-API-Key": "k"})
            assert r.status_code == 413

            async def slow():
                yield b"{"
                await asyncio.sleep(1.0)
                yield b"}"

            r = await c.post("/v1/echo", content=slow(), headers={"X-API-Key": "k"})
            assert r.status_code == 408
        assert reads == [100]

    asyncio.run(run())


def test_a_failing_stream_ends_with_an_error_clients_detect():
    def frames():
        yield pd.DataFrame({"a": [1, 2]})
        raise BudgetExceeded("the work ran past its time budget of 1 s")

    doc = json.loads(b"".join(json_chunks(frames(), {"model": "m"}, stream_failure)))
    assert doc["rows"] == [{"a": 1}, {"a": 2}] and doc["error"]["status"] == 408
    lines = b"".join(jsonl_chunks(frames(), stream_failure)).decode().splitlines()
    assert json.loads(lines[-1])["error"]["status"] == 408 and len(lines) == 3
    text = b"".join(csv_chunks(frames(), stream_failure)).decode()
    assert text.splitlines()[-1].startswith("#error,408,")
    with pytest.raises(BudgetExceeded):  # whole bodies (no trailer) raise instead
        b"".join(json_chunks(frames(), {"model": "m"}))

    def broken():
        raise RuntimeError("a bug, not the request's fault")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError):
        b"".join(jsonl_chunks(broken(), stream_failure))


def test_an_infeasible_streamed_request_fails_before_its_first_byte(fitted):
    model = fitted("ctgan")
    req = GenerateRequest(num_samples=5000, output_format="jsonl", seed=1,
                          conditions={"fnlwgt": 123457})  # valid, but never met
    with pytest.raises(Invalid, match="too rare"):
        open_stream(model, req, req.plain_conditions(), 1000, {})
    ok = GenerateRequest(num_samples=2500, output_format="csv", seed=1)
    body = b"".join(open_stream(model, ok, None, 1000, {}))
    assert len(pd.read_csv(io.BytesIO(body))) == 2500
    with Budget(1e-6).active(), pytest.raises(BudgetExceeded):
        open_stream(model, ok, None, 1000, {})


def test_condition_groups_are_limited():
    rows = [{"age": 20 + i} for i in range(50)]
    check_groups(GenerateRequest(num_samples=50, conditions=rows), 50)
    with pytest.raises(Invalid, match="max_condition_groups"):
        check_groups(GenerateRequest(num_samples=50, conditions=rows), 49)


def test_heavy_requests_wait_bounded_then_are_refused(monkeypatch):
    monkeypatch.setattr(lanes, "MAX_WAIT_S", 0.2)
    lane = lanes.Lanes(heavy=1)

    async def run() -> list[str]:
        out = []

        async def job(heavy: bool, hold: float) -> None:
            try:
                async with lane.slot(heavy, Budget(10)):
                    out.append("ran")
                    await asyncio.sleep(hold)
            except lanes.Overloaded:
                out.append("503")

        await asyncio.gather(job(True, 0.6), job(True, 0), job(False, 0))
        return out

    assert sorted(asyncio.run(run())) == ["503", "ran", "ran"]
    assert lanes.is_heavy(GenerateRequest(num_samples=5, conditions={"a": 1}), 100)
    assert not lanes.is_heavy(GenerateRequest(num_samples=5), 100)


def test_the_listing_reads_metadata_only_and_reports_broken_entries(fitted, tmp_path):
    store = ModelStore(str(tmp_path))
    model = fitted("gaussian_copula")
    for name in ("adult", "census", "pinned"):
        store.add_version(name, model.save)
    (tmp_path / "census" / "1" / "transformer.npz").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "adult" / "1" / "weights.pt").unlink(missing_ok=True)  # weights never read
    info = describe_files(str(tmp_path / "adult" / "1"), "adult", 1)
    assert info == describe_model(model, "adult", 1)
    infos, broken = Catalog(str(tmp_path), pins={"pinned": 7}).describe_all()
    assert [i["name"] for i in infos] == ["adult"]
    assert {b["name"] for b in broken} == {"census", "pinned"}
    assert "no version 7" in next(b for b in broken if b["name"] == "pinned")["detail"]


def test_condition_errors_name_their_status():
    assert stream_failure(ConditionError("x")).status == 422
    assert stream_failure(BudgetExceeded("y")).status == 408
    assert stream_failure(ValueError("z")) is None


# in a fresh interpreter, so that the kill reaches only what this script started
STOP = """
import subprocess, sys, time
from serving.stop import descendants, stop_within
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
assert child.pid in descendants(__import__("os").getpid())
quick = stop_within(lambda: None, 5.0)
start = time.monotonic()
hung = stop_within(lambda: time.sleep(60), 0.5)
child.wait(timeout=10)
print(quick, hung, child.returncode, round(time.monotonic() - start, 1))
"""


def test_a_shutdown_that_hangs_is_cut_short_and_its_processes_killed():
    """`synth serve`'s Ctrl-C: ray.shutdown() bounded, the local Ray's processes killed past
    the bound (serving.stop)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", STOP], cwd=root, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    quick, hung, code, seconds = out.stdout.split()
    assert (quick, hung, code) == ("True", "False", "-9") and float(seconds) < 30  # not 60
