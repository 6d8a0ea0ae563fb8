"""Differential privacy data-parallel on a real local Ray: the noise two Ray Train workers add
to their all-reduced gradient is one Gaussian of the std the accountant assumes for the global
batch (measured over gloo), and a 2-worker DP argn run on Adult registers its ε, the
accountant's for the steps taken."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import synth
from jobs import train
from tests.unit.test_dp import declared, opacus_epsilon


def noise_loop(config: dict) -> None:
    """Each worker: zero gradients (no row), its share of the noise, the all-reduce."""
    import ray.train
    import torch

    from synth.dp.sgd import DPStep

    ctx = ray.train.get_context()
    net = torch.nn.Linear(300, 100)
    step = DPStep(net, torch.optim.SGD(net.parameters(), lr=0.0), lambda rows: 0.0,
                  max_grad_norm=config["norm"], noise=config["noise"], q=0.01,
                  global_rows=1000, world=ctx.get_world_size())
    grads = [torch.zeros_like(p) for p in net.parameters()]
    step.noise_and_reduce(grads, torch.Generator().manual_seed(ctx.get_world_rank() + 1))
    flat = torch.cat([g.flatten() for g in grads])
    Path(config["out"], f"rank-{ctx.get_world_rank()}.json").write_text(json.dumps(
        {"std": float(flat.std()), "sum": float(flat.sum())}))


def test_noise_on_the_all_reduced_gradient_has_the_accountants_std(ray_local, tmp_path):
    import sys

    from ray import cloudpickle
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/

    trainer = TorchTrainer(noise_loop, train_loop_config={"norm": 2.0, "noise": 1.5,
                                                          "out": str(tmp_path)},
                           scaling_config=ScalingConfig(num_workers=2,
                                                        resources_per_worker={"CPU": 1}),
                           run_config=RunConfig(storage_path=str(tmp_path), name="dp-noise"))
    trainer.fit()
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1]  # the all-reduce: both workers hold the same global sum
    # sigma x C = 3.0 on the global sum: not 3/sqrt(2) (each worker's share) nor 3 x sqrt(2)
    assert ranks[0]["std"] == pytest.approx(3.0, rel=0.03)


def test_two_worker_dp_argn_registers_its_epsilon(ray_local, adult_small, tmp_path):
    rows = adult_small.iloc[:3000].reset_index(drop=True)
    data, md = tmp_path / "rows.csv", tmp_path / "metadata.json"
    rows.to_csv(data, index=False)
    md.write_text(json.dumps(declared(rows)))
    store = tmp_path / "store"
    assert train.main(["--data", str(data), "--model", "argn", "--name", "dp", "--store",
                       str(store), "--metadata", str(md), "num_workers=2",
                       "params.dp.epsilon=3", "params.dp.epochs=2", "params.hidden=64",
                       "checkpoint_every=1"]) == 0
    record = json.loads((store / "dp" / "1" / "training.json").read_text())
    rec = record["dp"]
    assert rec["steps"] == 2 * (len(rows) // 512) and rec["epsilon"] <= 3.0
    assert rec["epsilon"] == pytest.approx(opacus_epsilon(
        rec["noise_multiplier"], rec["sample_rate"], rec["steps"], rec["delta"],
        rec["statistics_noise_multiplier"]), rel=1e-5)
    m = record["metrics"]
    assert m["param_digest"][0] == m["param_digest"][1]  # one model on both ranks
    model = synth.load_synthesizer("dp", store=str(store))
    assert model.privacy == rec
    assert isinstance(model.sample(20, seed=0), pd.DataFrame)
    from jobs.cli import version_line

    assert "\u03b5 " in version_line(1, str(store / "dp" / "1"))
