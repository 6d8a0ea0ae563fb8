"""`serve deploy serving/config.yaml`, as the README says, against a `ray start --head` on
loopback (own ports, token auth), then a real HTTP request to the deployed app."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

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
