"""No data lost or mixed: atomic model versions, rewrites that are never half complete, model
digests, the pipeline's stage checks, transient store errors, content fingerprints and train
runs that find themselves again (no Ray here; the Ray paths: tests/integration)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobs import pipeline, train
from jobs.pipeline_stages import Stages
from synth.data import io
from synth.models.loop import LoopConfig, LoopHooks, run_loop
from synth.store import COMPLETE, ModelStore, write_model_dir


def test_concurrent_registrations_get_distinct_versions_and_their_own_files(tmp_path):
    store, barrier = ModelStore(str(tmp_path)), threading.Barrier(8)
    got: dict[int, str] = {}

    def register(i: int) -> None:
        def write(path: str) -> None:
            barrier.wait()  # every writer is between "which number is next" and claiming it
            write_model_dir(path, {"config.json": b"{}", "who.txt": str(i).encode()})

        version, path = store.add_version("m", write)
        got[version] = (Path(path) / "who.txt").read_text()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 9)) and sorted(got.values()) == [str(i) for i in range(8)]
    assert store.versions("m") == list(range(1, 9))
    assert not [p for p in (tmp_path / "m").iterdir() if p.name.startswith(".staging")]


def test_a_failed_write_registers_nothing_and_a_rewrite_drops_the_old_marker(tmp_path):
    store = ModelStore(str(tmp_path))

    def broken(path: str) -> None:
        io.write_bytes(f"{path}/config.json", b"{}")
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.add_version("m", broken)
    assert store.versions("m") == [] and list((tmp_path / "m").iterdir()) == []
    path = tmp_path / "model"
    write_model_dir(str(path), {"config.json": b"{}", "weights.pt": b"old"})

    class Boom(dict):
        def items(self):
            yield "config.json", b"{}"
            raise OSError("killed while rewriting")

    with pytest.raises(OSError):
        write_model_dir(str(path), Boom())
    assert not (path / COMPLETE).exists()  # half old, half new: never loaded as complete


def test_the_model_digest_follows_the_content(tmp_path):
    path = tmp_path / "model"
    write_model_dir(str(path), {"config.json": b"{}", "weights.pt": b"a"})
    before = io.fingerprint(str(path))
    write_model_dir(str(path), {"config.json": b"{}", "weights.pt": b"a"})
    assert io.fingerprint(str(path)) == before  # rewritten, same content
    write_model_dir(str(path), {"config.json": b"{}", "weights.pt": b"b"})
    assert io.fingerprint(str(path)) != before


def test_a_same_size_same_mtime_edit_changes_the_fingerprint(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    stamp = data.stat().st_mtime
    before = io.fingerprint(str(data))
    data.write_text("a,b\n1,3\n")
    os.utime(data, (stamp, stamp))
    assert io.fingerprint(str(data)) != before


def test_a_transient_store_error_is_not_taken_for_a_missing_marker(tmp_path, monkeypatch):
    stages = Stages(str(tmp_path))
    stages.run("a", {"x": 1}, lambda h: {"out": str(tmp_path)}, lambda out: [out["out"]])

    def throttled(uri: str) -> bytes:
        raise OSError("SlowDown: please reduce your request rate")

    monkeypatch.setattr("jobs.pipeline_stages.read_bytes", throttled)
    with pytest.raises(OSError, match="SlowDown"):  # not "not done": no stage reruns
        Stages(str(tmp_path)).run("a", {"x": 1}, lambda h: {}, lambda out: [])
    with pytest.raises(FileNotFoundError):
        io.read_bytes(str(tmp_path / "missing.json"))


def test_register_is_idempotent_for_the_same_trained_model(fitted, tmp_path):
    model_dir = tmp_path / "trained"
    fitted("gaussian_copula").save(str(model_dir), extra={"training.json": b"{}"})
    cfg = pipeline.PipelineConfig(data="x.csv", output=str(tmp_path / "run"), name="adult")
    first = pipeline.register(cfg, str(model_dir), {"quality": 0.9})
    again = pipeline.register(cfg, str(model_dir), {"quality": 0.9})  # a rerun after a crash
    assert first["version"] == again["version"] == 1
    fitted("tvae").save(str(model_dir), extra={"training.json": b"{}"})  # retrained
    assert pipeline.register(cfg, str(model_dir), {})["version"] == 2


def test_the_holdout_split_stratifies_with_single_members_and_nulls():
    target = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] + [None] * 5, name="t")
    strata = pipeline.strata(target, 0.2)
    assert strata is not None and strata.value_counts().min() >= 5
    from sklearn.model_selection import train_test_split

    train_test_split(target.to_frame(), test_size=0.2, random_state=0, stratify=strata)
    tiny = pd.Series(["a", "b", "c", "c", "d"], name="t")  # every class too small
    train_test_split(tiny.to_frame(), test_size=0.2, random_state=0,
                     stratify=pipeline.strata(tiny, 0.2))


def test_a_resubmitted_train_job_finds_its_run(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,x\n2,y\n")
    cfg = train.TrainConfig(data=str(data), model="tvae", output="m", storage=str(tmp_path))
    name = train.run_name(cfg)
    assert name == train.run_name(train.TrainConfig(**{**cfg.__dict__, "output": "other"}))
    assert name != train.run_name(train.TrainConfig(**{**cfg.__dict__, "params": {"epochs": 3}}))
    data.write_text("a,b\n1,x\n2,z\n")
    assert train.run_name(cfg) != name  # new data: a new run
    spec = train.trainer_spec(cfg)
    assert "checkpoints in" in capsys.readouterr().out
    (tmp_path / spec.run_name).mkdir()
    assert train.trainer_spec(cfg).run_name == spec.run_name
    assert "resuming run" in capsys.readouterr().out


class _Session:
    """A session whose validation scores are given; the loop's best weights must survive a
    restart (loop_state is what the Ray Train checkpoint saves)."""

    def __init__(self) -> None:
        self.epoch, self.w = 0, 0.0

    def run_epoch(self) -> dict:
        self.epoch += 1
        self.w = float(self.epoch)
        return {"rows": 1}

    def state_dict(self) -> dict:
        return {"w": self.w, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.w, self.epoch = state["w"], state["epoch"]

    loop_state = property(lambda self: self.__dict__.setdefault("_ls", {}))


def test_early_stopping_keeps_its_best_weights_across_a_restart():
    scores = {1: 0.5, 2: 0.9, 3: 0.6, 4: 0.6, 5: 0.6}

    class Hooks(LoopHooks):
        def __init__(self, saved=None):
            self.saved = saved

        def restore(self, session):
            if self.saved is None:
                return []
            session.load_state_dict(self.saved["session"])
            session.loop_state.update(self.saved["loop"])
            return self.saved["history"]

        def validate(self, session):
            return scores[session.epoch]

        def report(self, session, metrics, history, checkpoint, final):
            self.saved = {"session": session.state_dict(), "loop": dict(session.loop_state),
                          "history": list(history)}
            if session.epoch == 3 and not getattr(self, "crashed", False):
                self.crashed = True
                raise RuntimeError("node lost")

    cfg = LoopConfig(epochs=5, early_stop_patience=2, validate_every=1, keep_best=True)
    first, hooks = _Session(), Hooks()
    with pytest.raises(RuntimeError):
        run_loop(first, cfg, hooks)
    resumed = _Session()
    run_loop(resumed, cfg, Hooks(hooks.saved))
    assert resumed.w == 2.0  # epoch 2's weights (score 0.9), though epoch 2 ran before the crash


def test_sdv_sdtypes_we_do_not_model_become_categorical_with_a_warning():
    from synth.data.metadata import Metadata

    with pytest.warns(UserWarning, match="ssn"):
        md = Metadata.from_dict({"columns": {"region": {"sdtype": "administrative_unit"},
                                             "grade": {"sdtype": "ordinal"},
                                             "ssn": {"sdtype": "ssn"},
                                             "mail": {"sdtype": "email"}}})
    assert [md.kind(c) for c in ("region", "grade", "ssn", "mail")] == \
        ["categorical", "categorical", "categorical", "text"]


def test_inputs_that_used_to_fail_deep_inside_now_name_the_problem(fitted, tmp_path):
    import synth
    from synth.errors import DataError, ModelLoadError

    path = tmp_path / "m"
    fitted("gaussian_copula").save(str(path))
    (path / "transformer.npz").write_bytes((path / "transformer.npz").read_bytes()[:50])
    with pytest.raises(ModelLoadError, match="transformer.npz"):
        synth.load_synthesizer(str(path))
    data = pd.DataFrame({"x": [1.0, np.inf, 2.0, 3.0], "c": list("abab")})
    with pytest.raises(DataError, match="'x' holds 1 infinite"):
        synth.create_synthesizer("gaussian_copula").fit(data)
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="'a' appears more than once"):
        io.read_table(str(tmp_path / "dup.csv"))


def test_checkpointed_rng_state_includes_every_cuda_device(monkeypatch):
    """A resumed GPU run continues CUDA's random streams (dropout, noise on the device): the
    state saved with a checkpoint carries them (a fake CUDA here: this machine has none)."""
    import torch

    from synth.models import session

    saved = [torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([3], dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: saved)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.extend)
    rng = np.random.default_rng(0)
    state = session.rng_state(rng)
    assert state["cuda"] is saved
    session.set_rng_state(np.random.default_rng(1), state)
    assert restored == saved


def test_a_pipeline_that_would_deploy_without_a_key_fails_before_any_stage(tmp_path,
                                                                          monkeypatch):
    from synth.errors import ConfigError

    monkeypatch.delenv("RAYSYNTH_API_KEY", raising=False)
    monkeypatch.delenv("RAYSYNTH_API_KEY_FILE", raising=False)
    cfg = pipeline.PipelineConfig(data="data/adult_train.csv.gz", output=str(tmp_path / "r"),
                                  deploy=True)
    with pytest.raises(ConfigError, match="no API key"):
        pipeline.run(cfg, None)
    assert not (tmp_path / "r").exists()  # nothing trained, nothing written
