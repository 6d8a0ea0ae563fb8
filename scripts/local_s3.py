"""A local S3 endpoint for trying the S3 paths on one machine: a moto server on 127.0.0.1 with a
bucket, then (optionally) one command run against it with AWS_ENDPOINT_URL and test
credentials set, and a summary of what landed in the bucket.

    python scripts/local_s3.py --bucket raysynth -- python -m jobs.sample --model adult \\
        --store runs/demo/models --rows 10000000 --output s3://raysynth/adult-10m
    python scripts/local_s3.py --serve          # just serve until Ctrl-C (prints the env)

moto keeps objects in memory, so they live as long as this process: with --serve, the server
stays up after the command so you can look (`aws --endpoint-url ... s3 ls`)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

LOOPBACK = "127.0.0.1"


def atomic_conditional_puts() -> None:
    """Make moto's conditional PUT (If-None-Match: *) atomic, as S3's is: moto checks that
    the key is absent and then stores it in two steps, so two threads of its server can both
    succeed (seen on a loaded machine: two writers claimed one model version). One lock
    around its put_object; idempotent."""
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response.put_object, "atomic", False):
        return
    plain, lock = S3Response.put_object, threading.Lock()

    def put_object(self):  # type: ignore[no-untyped-def]
        with lock:
            return plain(self)

    put_object.atomic = True  # type: ignore[attr-defined]
    S3Response.put_object = put_object  # type: ignore[method-assign]


def start(port: int, bucket: str) -> tuple[object, dict[str, str]]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    atomic_conditional_puts()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://{LOOPBACK}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    return server, env


def summary(env: dict[str, str], bucket: str) -> str:
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    count, size = 0, 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            count, size = count + 1, size + obj["Size"]
    return f"s3://{bucket}: {count} objects, {size / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=5055)
    ap.add_argument("--bucket", default="raysynth")
    ap.add_argument("--serve", action="store_true", help="keep serving until Ctrl-C")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- a command to run against it")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    server, env = start(args.port, args.bucket)
    print(" ".join(f"{k}={v}" for k, v in env.items()), flush=True)
    rc = 0
    try:
        if command:
            rc = subprocess.call(command, env={**os.environ, **env})
            print(summary(env, args.bucket), flush=True)
        if args.serve or not command:
            print(f"serving s3://{args.bucket} on {env['AWS_ENDPOINT_URL']}; Ctrl-C stops it")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
