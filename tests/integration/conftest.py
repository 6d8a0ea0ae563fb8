"""Integration fixtures: a real S3 protocol endpoint (moto server on 127.0.0.1)."""

from __future__ import annotations

import os
import socket

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_bucket():
    """A bucket on a moto S3 server bound to loopback; AWS_ENDPOINT_URL points at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="raysynth")
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

    from jobs.common import LOCAL_RAY_ENV

    os.environ.update(LOCAL_RAY_ENV)
    ray.init(address="local", num_cpus=8, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
