"""Starting the app on Ray Serve: the one launcher used by `synth serve` (jobs/serve.py) and by
the pipeline's deploy stage. Ray must already be running (jobs/common.start_ray)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from serving.app import build_app
from serving.auth import KeyRing
from serving.settings import load_settings
from serving.stop import stop_within

APP_NAME = "raysynth"
STOP_TIMEOUT_S = 15.0  # ray.shutdown() after Ctrl-C takes ~3 s; past this, kill its processes


def deploy(settings: dict[str, Any], host: str, port: int) -> Any:
    """Build the app from ServeSettings values and run it on Ray Serve at http://host:port.
    Bad settings fail in build_app, before anything is deployed."""
    from ray import serve

    app = build_app(settings)
    serve.start(http_options={"host": host, "port": port})
    serve.run(app, name=APP_NAME, route_prefix="/")
    return app


def local_url(host: str, port: int) -> str:
    """The app's base URL as seen from this machine (a wildcard host is reached on loopback)."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def client_key(settings: dict[str, Any]) -> str | None:
    """The API key a local client sends to the app deployed with `settings` (None: auth off)."""
    ring = KeyRing(load_settings(settings))
    return None if ring.open else ring.first()


def wait_for_model(host: str, port: int, name: str, key: str | None = None,
                   timeout_s: float = 120) -> dict[str, Any]:
    """GET /v1/models/{name} (with the API key) until it answers; its description. A 401 or
    404 is final: raised at once, not polled for `timeout_s`."""
    url = f"{local_url(host, port)}/v1/models/{name}"
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    deadline = time.time() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403, 404):
                raise RuntimeError(f"{url} answered {exc.code}: {exc.read()[:300]!r}") from None
            if time.time() > deadline:
                raise
        except OSError:
            if time.time() > deadline:
                raise
        time.sleep(1)


def try_line(host: str, port: int, keyed: bool, name: str = "NAME") -> str:
    """A curl command that works against the app (the key from $RAYSYNTH_API_KEY, never the
    key itself)."""
    key = ' -H "X-API-Key: $RAYSYNTH_API_KEY"' if keyed else ""
    return (f"curl -s -X POST {local_url(host, port)}/v1/models/{name}/generate{key} "
            "-H 'content-type: application/json' -d '{\"num_samples\": 5, \"seed\": 7}'")


def serve_until_interrupted(local: bool = True) -> None:
    """Keep the endpoint up until Ctrl-C (or SIGTERM). A local Ray ends with this process:
    `ray.shutdown()` stops it and Serve with it at once (asking Serve to shut down first would
    wait on processes that the same Ctrl-C, sent to the process group, may already have
    ended), within STOP_TIMEOUT_S or its processes are killed (serving.stop). On a cluster the
    app is taken down with serve.shutdown()."""
    import signal

    import ray
    from ray import serve

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a process started in the background of a script inherits SIGINT ignored,
    # and Python then never raises KeyboardInterrupt; `synth serve` always stops on it
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        print("stopping ...", flush=True)
        if not local:
            serve.shutdown()
        elif not stop_within(ray.shutdown, STOP_TIMEOUT_S):
            print(f"Ray did not stop within {STOP_TIMEOUT_S:.0f} s: its processes were "
                  "killed", flush=True)
            os._exit(130)  # the driver's Ray threads may still wait on the dead GCS
