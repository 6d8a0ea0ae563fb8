"""`serve deploy serving/config.yaml`, as the README says, against a `ray start --head` on
loopback (own ports, token auth), then a real HTTP request to the deployed app; and `synth
serve` as a user runs it: the URL and a curl line that works (the key from $RAYSYNTH_API_KEY,
never printed), and Ctrl-C to its process group ends it and its local Ray within seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from jobs.common import LOCAL_RAY_ENV
from jobs.common import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_deploy_of_the_shipped_config(ray_head, fitted, tmp_path):
    from synth.store import ModelStore

    address, env = ray_head
    store = tmp_path / "store"
    ModelStore(str(store)).add_version("adult", fitted("gaussian_copula").save)
    config = yaml.safe_load((ROOT / "serving" / "config.yaml").read_text())
    port = _free_port()
    config["http_options"]["port"] = port  # the shipped host is already 127.0.0.1
    config["applications"][0]["args"]["store"] = str(store)
    key_file = tmp_path / "api-key"  # the mounted secret the shipped config points at
    key_file.write_text("deploy-key\n")
    config["applications"][0]["args"]["api_key_file"] = str(key_file)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    serve = str(Path(sys.executable).parent / "serve")
    out = subprocess.run([serve, "deploy", str(path), "-a", address], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    base, deadline, health = f"http://127.0.0.1:{port}", time.monotonic() + 180, None
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{base}/healthz", timeout=5)
            if health.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    assert health is not None and health.json() == {"status": "ok", "models": 1}
    url = f"{base}/v1/models/adult/generate"
    assert httpx.post(url, json={"num_samples": 5}, timeout=60).status_code == 401
    r = httpx.post(url, json={"num_samples": 5, "seed": 1}, timeout=60,
                   headers={"X-API-Key": "deploy-key"})
    assert r.status_code == 200 and len(r.json()["rows"]) == 5


def _group(pgid: int) -> list[str]:
    """The processes still in a process group."""
    out = subprocess.run(["ps", "-o", "pid=,comm=", "-g", str(pgid)], capture_output=True,
                         text=True)
    return out.stdout.split("\n")[:-1]


def test_synth_serve_prints_a_working_curl_line_and_ctrl_c_stops_everything(fitted, tmp_path):
    from synth.store import ModelStore

    store = tmp_path / "store"
    ModelStore(str(store)).add_version("adult", fitted("gaussian_copula").save)
    port, secret = _free_port(), "serve-key-never-printed"
    env = {**os.environ, **LOCAL_RAY_ENV, "PYTHONPATH": str(ROOT), "RAYSYNTH_API_KEY": secret}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "serve", "--store", str(store),
                             "--port", str(port)], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not any(x.startswith("try: ") for x in lines):
            assert proc.poll() is None and time.monotonic() < deadline, "\n".join(lines)
            lines.append(proc.stdout.readline().rstrip("\n"))
        curl = next(x for x in lines if x.startswith("try: "))[len("try: "):]
        assert "$RAYSYNTH_API_KEY" in curl and secret not in "\n".join(lines)
        assert f"serving on http://127.0.0.1:{port}" in "\n".join(lines)
        done = subprocess.run(["bash", "-c", curl.replace("/NAME/", "/adult/")], env=env,
                              capture_output=True, text=True, timeout=60)
        assert len(json.loads(done.stdout)["rows"]) == 5, done.stdout + done.stderr
        assert (tmp_path / "runs" / "_logs" / "serve.log").is_file()  # Ray's logs, not here
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)  # ~3 s here; bounded at 15 s by serving.stop, then killed
        while _group(proc.pid) and time.monotonic() - started < 60:
            time.sleep(0.5)
        stopped = time.monotonic() - started
        print(f"synth serve and its Ray stopped {stopped:.1f} s after Ctrl-C")
        assert not _group(proc.pid), _group(proc.pid)  # its local Ray went with it
    finally:
        if _group(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
