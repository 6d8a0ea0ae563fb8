"""Differential privacy (synth/dp, argn's dp path) on real Adult rows: the accountant against
Opacus's own RDPAccountant, per-row clipping against torch.func, the noise's measured spread,
a DP argn fit whose reported ε is the accountant's for the steps it took, codecs that read
nothing but declarations, and bad input refused before any compute."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.func import functional_call, grad, vmap

import synth
from synth.dp import accountant
from synth.dp.sgd import DPStep, vmap_clipped
from synth.errors import ConfigError, DataError

DATA = Path(__file__).resolve().parents[2] / "data"
BOUNDS = {"age": (17, 90), "fnlwgt": (0, 1_500_000), "education_num": (1, 16),
          "capital_gain": (0, 99_999), "capital_loss": (0, 4_500), "hours_per_week": (1, 99)}


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.read_csv(DATA / "adult_train.csv.gz").head(4000)


def declared(_rows: pd.DataFrame | None = None) -> dict:
    """Adult's codebook as declared metadata (data/adult_metadata.json): published category
    lists and bounds, not these rows' extremes."""
    return json.loads((DATA / "adult_metadata.json").read_text())


def opacus_epsilon(noise: float, q: float, steps: int, delta: float,
                   stats: float | None = None) -> float:
    """ε as Opacus's RDPAccountant computes it (its own history and orders)."""
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(noise, q, steps)] + ([(stats, 1.0, 1)] if stats else [])
    return acc.get_epsilon(delta=delta, alphas=accountant.ORDERS)


def test_accountant_matches_opacus_and_calibrates():
    for noise, q, steps in ((1.1, 0.01, 1000), (0.8, 0.05, 200), (3.0, 0.002, 5000)):
        assert accountant.epsilon(noise, q, steps, 1e-5) == pytest.approx(
            opacus_epsilon(noise, q, steps, 1e-5), rel=1e-9)
    assert accountant.epsilon(1.1, 0.01, 1000, 1e-5, 12.0) == pytest.approx(
        opacus_epsilon(1.1, 0.01, 1000, 1e-5, 12.0), rel=1e-9)
    noise = accountant.training_noise(3.0, 1e-5, 0.01, 1000, 100, 12.0)
    assert accountant.epsilon(noise, 0.01, 1000, 1e-5, 12.0) <= 3.0
    assert accountant.epsilon(noise * 0.99, 0.01, 1000, 1e-5, 12.0) > 3.0
    stats = accountant.stats_noise_for(3.0, 0.1, 1e-5)
    assert accountant.epsilon(1.0, 1.0, 0, 1e-5, stats) == pytest.approx(0.3, abs=0.01)
    with pytest.raises(ConfigError, match="too small to train a single epoch"):
        accountant.training_noise(0.001, 1e-5, 0.5, 20, 2, None)
    with pytest.raises(ConfigError, match="lower dp.epochs"):
        accountant.training_noise(0.05, 1e-6, 0.01, 2_000_000, 100, None)


def test_clipped_sums_match_per_row_gradients_and_noise_has_its_spread():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    x, y = torch.randn(50, 5), torch.randn(50)

    def row_loss(call, xb, yb):
        return ((call(xb).squeeze(1) - yb) ** 2).mean()

    clipped = vmap_clipped(net, row_loss, 0.5, chunk=16)
    clipped((x, y))
    got = {k: p.grad.clone() for k, p in net.named_parameters()}
    want = {k: torch.zeros_like(p) for k, p in net.named_parameters()}
    for i in range(50):  # one row at a time, by hand
        net.zero_grad()
        row_loss(net, x[i:i + 1], y[i:i + 1]).backward()
        g = {k: p.grad.clone() for k, p in net.named_parameters()}
        scale = min(1.0, 0.5 / float(torch.sqrt(sum((v ** 2).sum() for v in g.values()))))
        for k in g:
            want[k] += g[k] * scale
    for k in want:
        torch.testing.assert_close(got[k], want[k], atol=1e-5, rtol=1e-5)
    big = torch.nn.Linear(200, 100)  # noise alone (no rows): std sigma x C on every entry
    step = DPStep(big, torch.optim.SGD(big.parameters(), lr=0.0), lambda rows: (
        [setattr(p, "grad", torch.zeros_like(p)) for p in big.parameters()], 0.0)[1],
                  max_grad_norm=2.0, noise=1.5, q=0.01, global_rows=1000)
    grads = [torch.zeros_like(p) for p in big.parameters()]
    step.noise_and_reduce(grads, torch.Generator().manual_seed(1))
    assert float(torch.cat([g.flatten() for g in grads]).std()) == pytest.approx(3.0, rel=0.02)


def test_argn_ghost_norms_equal_torch_func_norms(adult):
    from synth.models.argn.private import clipped_backward, row_grad_norms
    from synth.models.argn.session import draw_ranks

    m = synth.create_synthesizer("argn", hidden=32, embedding_dim=4)
    m.prepare(adult.head(1500))
    tokens = torch.as_tensor(m._encode(m._constraint_set().to_model(adult.head(40))))
    net = m.new_network()
    with torch.no_grad():  # away from the zero init of the ordinal output part
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    ranks = draw_ranks(40, len(m.tokens.columns), 0.25, torch.Generator().manual_seed(0))
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = dict(net.named_buffers())

    def one(p, xi, ri):
        logits = functional_call(net, (p, buffers), (xi[None], ri[None]))
        return torch.nn.functional.cross_entropy(logits[0], xi, reduction="sum")

    per_row = vmap(grad(one), in_dims=(None, 0, 0))(params, tokens, ranks)
    want = torch.sqrt(sum(v.reshape(40, -1).pow(2).sum(1) for v in per_row.values()))
    _, norms = row_grad_norms(net, tokens, ranks)
    torch.testing.assert_close(norms, want, rtol=1e-4, atol=1e-6)
    clipped_backward(net, tokens, ranks, 1.0)
    scale = (1.0 / want).clamp(max=1.0)
    for k, p in net.named_parameters():
        torch.testing.assert_close(p.grad, torch.einsum("b,b...->...", scale, per_row[k]),
                                   rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def private_model(adult, tmp_path_factory):
    model = synth.create_synthesizer("argn", hidden=64, dp={"epsilon": 3.0, "epochs": 2})
    model.fit(adult, metadata=declared(adult))
    path = str(tmp_path_factory.mktemp("dp") / "model")
    model.save(path)
    return model, path


def test_dp_argn_reports_the_epsilon_of_its_steps(private_model, adult):
    model, path = private_model
    rec = model.privacy
    assert rec["steps"] == rec["planned_steps"] == 2 * (len(adult) // 512)
    assert rec["delta"] == pytest.approx(1 / (10 * len(adult)))
    assert rec["epsilon"] <= 3.0
    assert rec["epsilon"] == pytest.approx(opacus_epsilon(
        rec["noise_multiplier"], rec["sample_rate"], rec["steps"], rec["delta"],
        rec["statistics_noise_multiplier"]), rel=1e-5)
    assert json.loads(Path(path, "privacy.json").read_text()) == rec
    assert synth.load_synthesizer(path).privacy == rec
    rows = model.sample(2000, seed=0)
    for c, (lo, hi) in BOUNDS.items():
        assert rows[c].between(lo, hi).all(), c
    assert set(rows.sex.dropna()) <= {"Female", "Male"}
    assert rows.sex.nunique() == 2 and rows.age.nunique() > 20  # it learned something


def test_private_codecs_and_tokens_come_from_declarations(private_model, adult):
    model, _ = private_model
    tr = model.transformer
    age = tr.codecs["age"].state
    assert (age["min"], age["max"]) == BOUNDS["age"]  # not the rows' own extremes
    assert tr.codecs["sex"].levels == ["Female", "Male"]
    assert np.allclose(tr.codecs["sex"].probs, 0.5)  # no real frequencies kept
    tokens = model.tokens
    assert np.array_equal(tokens.numeric["age"].points, np.arange(17, 91))  # range only
    gain = tokens.numeric["capital_gain"]
    assert set(gain.points) <= {0.0, 99_999.0}  # candidates only, never a row's value


def test_bad_input_fails_before_any_compute(adult):
    md = declared(adult)
    for params, match in (({"epsilon": 1.0, "delta": 0.01}, "not below 1/n"),
                          ({"epsilon": 1e-4}, "too small to train a single epoch")):
        with pytest.raises(ConfigError, match=match):
            synth.create_synthesizer("argn", dp=params).fit(adult, metadata=md)
    with pytest.raises(ConfigError, match="-1"):
        synth.create_synthesizer("argn", dp={"epsilon": -1})
    with pytest.raises(ConfigError, match=r"potnet cannot train with differential privacy .*; "
                       "families that can: argn, ctgan, tvae"):
        synth.create_synthesizer("potnet", dp={"epsilon": 1.0})
    with pytest.raises(ConfigError, match="set pac=1 with dp"):
        synth.create_synthesizer("ctgan", dp={"epsilon": 1.0})
    from jobs import tune  # a search reads real rows to pick its trial: refused under dp

    assert tune.main(["--data", str(DATA / "adult_train.csv.gz"), "--models", "argn",
                      'fixed.argn.dp={"epsilon": 1}', "--dry-run"]) == 2
    bare = {"columns": {k: {"kind": v["kind"]} for k, v in md["columns"].items()}}
    with pytest.raises(ConfigError, match="'age' needs min and max.*'sex' needs its values"):
        synth.create_synthesizer("argn", dp={"epsilon": 1.0}).fit(adult, metadata=bare)
    strict = json.loads(json.dumps(md))
    strict["columns"]["workclass"]["nullable"] = False
    with pytest.raises(DataError, match="'workclass' has nulls but is not declared nullable"):
        synth.create_synthesizer("argn", dp={"epsilon": 1.0}).fit(adult, metadata=strict)
    fewer = json.loads(json.dumps(md))
    fewer["columns"]["race"]["values"] = ["White", "Black"]
    with pytest.raises(DataError, match="'race' has values outside its declared values"):
        synth.create_synthesizer("argn", dp={"epsilon": 1.0}).fit(adult, metadata=fewer)


def test_http_model_info_and_store_listing_show_epsilon(private_model):
    from jobs.cli import version_line
    from serving.catalog import describe_files
    from serving.schemas import ModelInfo

    model, path = private_model
    info = describe_files(path, "dp", 1)
    assert info["privacy"]["epsilon"] == model.privacy["epsilon"]
    assert ModelInfo(**info, versions=[1]).privacy.delta == model.privacy["delta"]
    assert f"\u03b5 {model.privacy['epsilon']:g}" in version_line(1, path)


def test_the_pipelines_report_prints_the_epsilon(private_model, adult, tmp_path):
    from jobs.pipeline import evaluate

    model, path = private_model
    paths = {"train": str(tmp_path / "train.csv"), "holdout": str(tmp_path / "holdout.csv")}
    adult.head(600).to_csv(paths["train"], index=False)
    adult.tail(300).to_csv(paths["holdout"], index=False)
    out = evaluate(path, paths, str(tmp_path / "report"), "income", seed=0)
    doc = json.loads(Path(out["report"]).read_text())
    assert doc["settings"]["training_privacy"]["epsilon"] == model.privacy["epsilon"]
    html = Path(out["report_html"]).read_text()
    assert f"\u03b5 = {model.privacy['epsilon']:.4g}" in html
    assert "trained with differential privacy" in html


def test_a_resumed_session_counts_the_steps_of_its_checkpoint(adult):
    from synth.models.session import Shard, no_reduce, no_wrap

    model = synth.create_synthesizer("argn", hidden=32, dp={"epsilon": 3.0, "epochs": 2})
    model.prepare(adult, metadata=declared(adult))
    tokens = model._encode(model._constraint_set().to_model(adult))
    shard = Shard(tokens, len(tokens))
    first = model._session(shard, no_wrap, no_reduce, torch.device("cpu"))
    first.run_epoch()
    state, rng = first.state_dict(), first.rng_state()
    resumed = model._session(shard, no_wrap, no_reduce, torch.device("cpu"))
    resumed.load_state_dict(state)
    resumed.set_rng_state(rng)
    assert resumed.dp_steps == first.dp_steps == len(adult) // 512
    resumed.run_epoch()
    resumed.finish()
    rec = model.privacy
    assert rec["steps"] == 2 * (len(adult) // 512) == rec["planned_steps"]
    assert rec["epsilon"] == pytest.approx(opacus_epsilon(
        rec["noise_multiplier"], rec["sample_rate"], rec["steps"], rec["delta"],
        rec["statistics_noise_multiplier"]), rel=1e-5)
    half = first.privacy()  # after one epoch: less spent
    assert half["steps"] == rec["steps"] // 2 and half["epsilon"] < rec["epsilon"]


def test_dp_tvae_trains_on_declared_codecs_and_noisy_modes(adult, tmp_path):
    rows = adult.head(1500)
    model = synth.create_synthesizer("tvae", dp={"epsilon": 3.0, "epochs": 1})
    model.fit(rows, metadata=declared(rows))
    rec = model.privacy
    assert rec["steps"] == len(rows) // 500 and rec["epsilon"] <= 3.0
    assert rec["epsilon"] == pytest.approx(opacus_epsilon(
        rec["noise_multiplier"], rec["sample_rate"], rec["steps"], rec["delta"],
        rec["statistics_noise_multiplier"]), rel=1e-5)
    tr = model.transformer
    assert (tr.codecs["age"].state["min"], tr.codecs["age"].state["max"]) == BOUNDS["age"]
    for name, norm in tr.normalizers.items():  # modes inside the declared range
        lo, hi = BOUNDS[name]
        assert ((norm.means >= lo - 1) & (norm.means <= hi + 1)).all(), name
    model.save(str(tmp_path / "m"))
    assert synth.load_synthesizer(str(tmp_path / "m")).privacy == rec
    out = model.sample(200, seed=0)
    assert out["age"].between(*BOUNDS["age"]).all() and set(out.sex.dropna()) <= {
        "Female", "Male"}


def test_dp_ctgan_accounts_its_critic_steps(adult):
    rows = adult.head(1500)
    model = synth.create_synthesizer("ctgan", pac=1, batch_size=300, discriminator_steps=2,
                                     generator_dim=(64,), discriminator_dim=(64,),
                                     dp={"epsilon": 3.0, "epochs": 1})
    model.fit(rows, metadata=declared(rows))
    rec = model.privacy
    assert rec["steps"] == 2 * (len(rows) // 300)  # critic steps: the ones that read rows
    assert rec["sample_rate"] == pytest.approx(300 / len(rows)) and rec["epsilon"] <= 3.0
    assert rec["epsilon"] == pytest.approx(opacus_epsilon(
        rec["noise_multiplier"], rec["sample_rate"], rec["steps"], rec["delta"],
        rec["statistics_noise_multiplier"]), rel=1e-5)
    counts = model.sampler.counts  # noisy category counts, never the rows' exact ones
    exact = np.concatenate([np.bincount(model.transformer.codecs[s.column].encode(
        rows[s.column]), minlength=s.dim) for s in model.transformer.conditional_spans])
    assert len(counts) == len(exact) and not np.allclose(counts, exact)
    out = model.sample(300, seed=0)
    assert out["age"].between(*BOUNDS["age"]).all() and set(out.race.dropna()) <= set(
        declared(rows)["columns"]["race"]["values"])
