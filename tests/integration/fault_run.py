"""Run by test_train_distributed.py in its own process: a 3-node local Ray cluster (all on
127.0.0.1; the head and two 1-CPU worker nodes with one `trainer` slot each, so one slot is
spare and at least one worker node hosts a train worker), a 2-worker
run of the model family given (argn by default: every family trains in the one loop, so
one stands for all) that checkpoints every epoch, and the removal of a node hosting a train
worker once checkpoints exist. Prints one JSON line with what happened."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from jobs.common import LOCAL_RAY_ENV

os.environ.update(LOCAL_RAY_ENV)


def registered_checkpoints(storage: Path) -> int:
    """Checkpoints the Ray Train controller has registered (a folder on disk alone may not be:
    a worker killed before the controller polls its report takes the report with it)."""
    try:
        snapshot = json.loads(next(storage.glob("*/checkpoint_manager_snapshot.json")).read_text())
    except (StopIteration, OSError, ValueError):
        return 0
    return len(snapshot.get("checkpoint_results") or [])


def kill_a_worker_node(cluster, storage: Path, done: threading.Event, out: dict) -> None:
    from ray._private.state import available_resources_per_node

    while not done.is_set():
        if registered_checkpoints(storage) >= 1:
            free = available_resources_per_node()
            for node in list(cluster.worker_nodes):
                if free.get(node.node_id, {}).get("trainer", 0) == 0:  # absent when all used
                    out["killed_after_checkpoints"] = registered_checkpoints(storage)
                    cluster.remove_node(node, allow_graceful=False)
                    out["killed"] = node.node_id
                    return
        time.sleep(0.05)


def main(data: str, workdir: str, family: str = "argn") -> None:
    import ray
    from ray.cluster_utils import Cluster

    import synth
    from jobs import train

    storage, output = Path(workdir) / "storage", Path(workdir) / "model"
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 3, "resources": {"trainer": 1}, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1, resources={"trainer": 1})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    out: dict = {"killed": None}
    done = threading.Event()
    watcher = threading.Thread(target=kill_a_worker_node, args=(cluster, storage, done, out))
    watcher.start()
    try:
        out["rc"] = train.main([
            "--data", data, "--model", family, "--output", str(output), "num_workers=2",
            "params.epochs=6", "params.batch_size=200", "checkpoint_every=1",
            "max_failures=2", f"storage={storage}", "run_name=fault",
            *(["params.val_fraction=0"] if family == "argn" else []),  # all 6 epochs
            'resources_per_worker={"CPU": 1, "trainer": 1}'])
    finally:
        done.set()
        watcher.join()
    record = json.loads((output / "training.json").read_text())
    out["resumed_from"] = record["metrics"]["resumed_from"]
    out["epochs"] = record["metrics"]["stopped_at"]
    out["sampled"] = len(synth.load_synthesizer(str(output)).sample(100, seed=0))
    ray.shutdown()
    cluster.shutdown()
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
