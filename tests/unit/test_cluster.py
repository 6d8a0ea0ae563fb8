"""cluster.yaml and cluster/: validated with Ray's own cluster-config schema (no AWS call), every
command it runs exists in the project, the IAM policies are least-privilege JSON, and the
setup script refuses a checkout of another version."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import ray
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "cluster.yaml").read_text())
VERSION = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
COMMAND_KEYS = ("initialization_commands", "setup_commands", "head_setup_commands",
                "worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands")


def _commands() -> list[str]:
    return [c for key in COMMAND_KEYS for c in CONFIG.get(key, [])]


def test_ray_validates_the_cluster_config():
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(CONFIG))  # merged with Ray's AWS defaults
    validate_config(prepared)  # Ray's ray-schema.json; raises on any unknown or bad key
    assert prepared["provider"]["type"] == "aws"
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_node_types_cpu_head_gpu_workers_from_zero():
    types = CONFIG["available_node_types"]
    head = types[CONFIG["head_node_type"]]["node_config"]["InstanceType"]
    assert not head.startswith(("g", "p")), "the head is a CPU node"
    workers = {k: v for k, v in types.items() if k != CONFIG["head_node_type"]}
    assert workers and all(v["min_workers"] == 0 for v in workers.values())
    assert all(v["node_config"]["InstanceType"].split(".")[0] in ("g5", "g6")
               for v in workers.values())
    assert sum(v["max_workers"] for v in workers.values()) >= CONFIG["max_workers"] > 0
    assert CONFIG["idle_timeout_minutes"] > 0


def test_images_pin_the_ray_version_the_client_runs():
    docker = CONFIG["docker"]
    for image in (docker["head_image"], docker["worker_image"]):
        assert image.startswith(f"rayproject/ray:{ray.__version__}-"), image


def test_every_key_is_commented():
    lines = (ROOT / "cluster.yaml").read_text().splitlines()
    bare = [f"{i + 1}: {line}" for i, line in enumerate(lines)
            if re.match(r"^( {0,6})[\w.~/-]+:", line) and "#" not in line
            and not lines[i - 1].lstrip().startswith("#")]
    assert not bare, "keys without a comment:\n" + "\n".join(bare)


def test_every_command_it_runs_exists_in_the_project():
    commands = _commands()
    files = re.findall(r"~/raysynth/(\S+)", " ".join(commands))
    assert files and all((ROOT / f).is_file() for f in files), files
    setup = [c for c in commands if "cluster/setup.sh" in c]
    assert setup == [f"bash ~/raysynth/cluster/setup.sh {VERSION}"]  # the project's version
    assert all(c.split()[0] in ("bash", "ray", "ulimit") for c in commands), commands
    ray_cli = Path(sys.executable).parent / "ray"  # `ray start` / `ray stop` of this Ray
    assert "start" in subprocess.run([str(ray_cli), "--help"], capture_output=True,
                                     text=True).stdout
    mounts = CONFIG["file_mounts"]
    assert mounts["~/raysynth"] == "." and "auth_token" in " ".join(mounts)


def test_the_documented_jobs_and_files_exist():
    text = (ROOT / "cluster" / "README.md").read_text() + (ROOT / "cluster.yaml").read_text()
    modules = set(re.findall(r"python -m ([\w.]+)", text))
    assert {"jobs.pipeline", "jobs.train", "jobs.sample", "jobs.tune"} <= modules
    for module in modules:
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module
    for path in set(re.findall(r"\b((?:configs|serving|cluster)/[\w./-]+\.(?:yaml|sh|json))",
                               text)):
        assert (ROOT / path).is_file(), path


def test_iam_policies_are_least_privilege():
    s3 = json.loads((ROOT / "cluster/iam/s3-policy.json").read_text())
    for st in s3["Statement"]:
        assert all(a.startswith("s3:") and "*" not in a for a in st["Action"])
        assert "RAYSYNTH_BUCKET" in st["Resource"] and st["Resource"] != "*"
    head = json.loads((ROOT / "cluster/iam/head-policy.json").read_text())
    stops = next(s for s in head["Statement"] if "ec2:TerminateInstances" in s["Action"])
    tag = stops["Condition"]["StringEquals"]["ec2:ResourceTag/ray-cluster-name"]
    assert tag == CONFIG["cluster_name"]
    assert not any("*" in a for s in head["Statement"] for a in s["Action"])
    profiles = {t["node_config"]["IamInstanceProfile"]["Name"]
                for t in CONFIG["available_node_types"].values()}
    create = (ROOT / "cluster/iam/create.sh").read_text()
    assert profiles == {"raysynth-head", "raysynth-worker"}
    assert all(p in create for p in profiles)
    passes = next(s for s in head["Statement"] if "iam:PassRole" in s["Action"])
    assert all("raysynth-worker" in r for r in passes["Resource"])


def test_the_head_can_launch_and_tag_only_this_clusters_nodes():
    """RunInstances and CreateTags are conditioned: launches must carry the cluster tag, use
    cluster.yaml's instance types and region; tags are set at launch, or changed later only
    on the cluster's own instances and never the cluster tag itself (else the head could tag
    any instance ray-cluster-name=raysynth and then terminate it)."""
    head = json.loads((ROOT / "cluster/iam/head-policy.json").read_text())
    name, region = CONFIG["cluster_name"], CONFIG["provider"]["region"]
    types = {t["node_config"]["InstanceType"] for t in CONFIG["available_node_types"].values()}
    powerful = {"ec2:RunInstances", "ec2:CreateTags", "ec2:TerminateInstances",
                "ec2:StopInstances", "ec2:StartInstances"}
    for st in head["Statement"]:
        if not powerful & set(st["Action"]):
            continue
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in resources and all(f":{region}:" in r for r in resources), st["Sid"]
        assert st["Condition"]["StringEquals"]["aws:RequestedRegion"] == region, st["Sid"]
    on_instances = [st for st in head["Statement"] if "ec2:RunInstances" in st["Action"]
                    and any(":instance/" in r for r in [st["Resource"]])]
    assert len(on_instances) == 1
    launch = on_instances[0]["Condition"]["StringEquals"]
    assert launch["aws:RequestTag/ray-cluster-name"] == name
    assert set(launch["ec2:InstanceType"]) == types
    tagging = [st for st in head["Statement"] if "ec2:CreateTags" in st["Action"]]
    assert tagging and all(st["Action"] == ["ec2:CreateTags"] for st in tagging)
    for st in tagging:
        cond = st["Condition"]
        at_launch = cond["StringEquals"].get("ec2:CreateAction") == "RunInstances"
        own = cond["StringEquals"].get("ec2:ResourceTag/ray-cluster-name") == name and \
            cond["ForAllValues:StringNotEquals"]["aws:TagKeys"] == ["ray-cluster-name"]
        assert at_launch or own, st["Sid"]


@pytest.mark.parametrize("script", ["cluster/setup.sh", "cluster/iam/create.sh"])
def test_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(ROOT / script)]).returncode == 0


def test_setup_refuses_another_version():
    out = subprocess.run(["bash", str(ROOT / "cluster/setup.sh"), "9.9.9"], capture_output=True,
                         text=True, env={"RAYSYNTH_SRC": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 1 and f"is version '{VERSION}' but cluster.yaml pins '9.9.9'" in (
        out.stderr)
