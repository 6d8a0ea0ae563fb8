"""Stage bookkeeping of the pipeline: each stage leaves a completion marker
`<run>/_stages/<stage>.json` with its config hash and outputs. A rerun skips a stage only when
its marker exists, its hash matches and its outputs are still there; hashes chain (each
includes the previous stage's), so a changed config reruns that stage and every one after
it."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from synth.data.io import exists, join, read_bytes, write_bytes
from synth.store import json_bytes

MARKERS = "_stages"


def chain_hash(previous: str, stage: str, inputs: dict[str, Any]) -> str:
    doc = json.dumps([previous, stage, inputs], sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


class Stages:
    """Runs stages in order under one run directory (local or s3://), skipping finished ones."""

    def __init__(self, run_dir: str, log: Callable[[str], None] = print) -> None:
        self.run_dir = run_dir
        self.log = log
        self.hash = ""
        self.ran: list[str] = []
        self.skipped: list[str] = []  # not yet said

    def say_skipped(self) -> None:
        """One line for the stages skipped since the last one that ran."""
        if self.skipped:
            self.log(f"skipped (done before with the same config): {', '.join(self.skipped)}")
            self.skipped = []

    def marker(self, stage: str) -> str:
        return join(self.run_dir, MARKERS, f"{stage}.json")

    def run(self, stage: str, inputs: dict[str, Any], fn: Callable[[str], dict[str, Any]],
            paths: Callable[[dict[str, Any]], list[str]]) -> dict[str, Any]:
        """`fn(stage_hash)` -> outputs, unless a marker with this hash says it is done and the
        outputs named by `paths(outputs)` exist."""
        self.hash = chain_hash(self.hash, stage, inputs)
        done = self._finished(stage, paths)
        if done is not None:
            self.skipped.append(stage)
            return done
        self.say_skipped()
        self.log(f"{stage:9s} ...")
        start = time.perf_counter()
        outputs = fn(self.hash)
        seconds = round(time.perf_counter() - start, 1)
        record = {"stage": stage, "config_hash": self.hash, "inputs": inputs,
                  "outputs": outputs, "seconds": seconds,
                  "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        write_bytes(self.marker(stage), json_bytes(record))
        self.ran.append(stage)
        self.log(f"{stage:9s} done in {seconds} s")
        return outputs

    def _finished(self, stage: str, paths: Callable[[dict[str, Any]], list[str]]
                  ) -> dict[str, Any] | None:
        try:
            record = json.loads(read_bytes(self.marker(stage)))
        except (FileNotFoundError, ValueError):
            return None
        if record.get("config_hash") != self.hash:
            return None
        outputs = record["outputs"]
        return outputs if all(exists(p) for p in paths(outputs)) else None
