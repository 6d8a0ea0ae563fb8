"""Integration fixtures: a real S3 protocol endpoint (moto server on 127.0.0.1), the session's
local Ray, and a `ray start --head` on loopback for job submission and `serve deploy`."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from jobs.common import LOCAL_RAY_ENV
from jobs.common import free_port as _free_port


@pytest.fixture(scope="session")
def s3_bucket():
    """A bucket on a moto S3 server bound to loopback; AWS_ENDPOINT_URL points at it."""
    from scripts.local_s3 import start

    server, env = start(_free_port(), "raysynth")  # `make sample-s3`'s server, atomic PUTs
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield "s3://raysynth"
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def ray_local(s3_bucket):
    """One real local Ray per test session, loopback only, with more logical CPUs than cores so
    Ray Data, Train and Serve tasks can run side by side. Started after the moto server so its
    workers inherit the S3 endpoint and test credentials."""
    import ray

    os.environ.update(LOCAL_RAY_ENV)
    ray.init(address="local", num_cpus=8, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def ray_head():
    """`ray start --head --block` on loopback with the jobs API and token authentication (a
    random token for this test, in the environment only), on free ports so that it lives beside
    the session's Ray. Stopped by ending that process group (never a bare `ray stop`, which would
    end every Ray on the machine)."""
    token = secrets.token_hex(32)
    venv_bin = str(Path(sys.executable).parent)  # a job's `python -m ...` is this venv's
    env = {**os.environ, **LOCAL_RAY_ENV, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token,
           "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}
    ports = {flag: _free_port() for flag in (
        "port", "dashboard-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
        "metrics-export-port", "runtime-env-agent-port", "ray-client-server-port",
        "node-manager-port", "object-manager-port")}
    cmd = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
           "--node-ip-address=127.0.0.1", "--num-cpus=4", "--include-dashboard=true",
           "--dashboard-host=127.0.0.1", "--disable-usage-stats",
           *[f"--{flag}={port}" for flag, port in ports.items()]]
    marker = Path("/tmp/ray/ray_current_cluster")  # `ray start` records its address here
    before = marker.read_text() if marker.exists() else None
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        address = f"http://127.0.0.1:{ports['dashboard-port']}"
        request = urllib.request.Request(f"{address}/api/version",
                                         headers={"Authorization": f"Bearer {token}"})
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(request, timeout=5).read()
                break
            except OSError:  # the head is still starting
                assert time.time() < deadline and proc.poll() is None, "ray head did not start"
                time.sleep(1)
        yield address, env
    finally:
        # SIGTERM to the head's whole process group (to `ray start` alone it waited 10 s every
        # time), a moment to exit, then SIGKILL to whatever is left
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass  # the group kill below ends it
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            if before is None:  # leave no pointer to the stopped head for a later ray.init()
                marker.unlink(missing_ok=True)
            else:
                marker.write_text(before)
