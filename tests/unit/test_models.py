"""Every registered tabular model: fit -> sample (with conditions) -> save -> load, determinism,
and clear errors for bad input. Real Adult rows throughout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synth
from synth.errors import (
    ConditionError,
    ConfigError,
    DataError,
    ModelLoadError,
    NotFittedError,
    RegistryError,
)
from synth.metrics import column_shapes
from synth.models.conditions import parse_conditions

MODELS = ["ctgan", "tvae", "gaussian_copula", "argn", "binary_diffusion", "potnet"]
DATA = Path(__file__).resolve().parents[2] / "data"


def test_registry_lists_models_and_rejects_unknown_names():
    assert set(MODELS) <= set(synth.list_synthesizers())
    with pytest.raises(RegistryError, match="valid names: .*ctgan"):
        synth.create_synthesizer("ctgann")
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        synth.create_synthesizer("ctgan", epoch=3)
    with pytest.raises(ConfigError, match="multiple of pac"):
        synth.create_synthesizer("ctgan", batch_size=55)


@pytest.mark.parametrize("name", MODELS)
def test_sample_has_the_training_schema(name, fitted, adult_small):
    out = fitted(name).sample(3000, seed=1)
    assert len(out) == 3000 and list(out.columns) == list(adult_small.columns)
    assert out.dtypes.equals(adult_small.dtypes)
    for col in ("workclass", "sex", "income"):
        assert set(out[col].dropna()) <= set(adult_small[col].dropna())
    assert out["age"].between(adult_small["age"].min(), adult_small["age"].max()).all()


@pytest.mark.parametrize("name", MODELS)
def test_seed_gives_identical_rows_whatever_the_batch_size(name, fitted):
    model = fitted(name)
    a = model.sample(5000, seed=7)
    b = model.sample(5000, seed=7, batch_size=2048)
    c = model.sample(3000, seed=7, batch_size=100_000)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a.head(3000), c)
    assert not a.equals(model.sample(5000, seed=8))


@pytest.mark.parametrize("name", MODELS)
def test_save_load_roundtrip(name, fitted, tmp_path):
    model = fitted(name)
    model.save(str(tmp_path / "m"))
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert "config.json" in files and "_COMPLETE" in files
    assert not [f for f in files if f.endswith((".pkl", ".pickle"))]
    loaded = synth.load_synthesizer(str(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.sample(2000, seed=3), model.sample(2000, seed=3))
    cond = {"sex": "Female"}
    pd.testing.assert_frame_equal(loaded.sample(300, conditions=cond, seed=3),
                                  model.sample(300, conditions=cond, seed=3))


@pytest.mark.parametrize("name", MODELS)
def test_conditions_are_honoured(name, fitted):
    model = fitted(name)
    out = model.sample(400, conditions={"sex": "Female", "age": {"min": 25, "max": 50}}, seed=2)
    assert len(out) == 400
    assert (out["sex"] == "Female").all() and out["age"].between(25, 50).all()
    per_row = pd.DataFrame({"sex": ["Male", "Female", "Female", None],
                            "relationship": ["Husband", None, "Unmarried", None]})
    rows = model.sample(4, conditions=per_row, seed=1)
    with pytest.raises(ConditionError, match="one output row per conditions row"):
        model.sample(10, conditions=per_row)
    assert list(rows["sex"].iloc[:3]) == ["Male", "Female", "Female"]
    assert rows["relationship"].iloc[0] == "Husband" and rows["relationship"].iloc[2] == "Unmarried"


def _shapes(real: pd.DataFrame, synthetic: pd.DataFrame, model, skip: str | None = None):
    """Mean column-shape score, optionally without the conditioned column (which rejection
    makes trivially right)."""
    scores = column_shapes(real, synthetic, model.metadata)
    kept = [v for k, v in scores.items() if k not in (skip, "column_shapes")]
    return sum(kept) / len(kept)


@pytest.mark.parametrize("cond", [{"sex": "Female"}, {"income": ">50K"}])
def test_copula_conditioned_rows_follow_the_conditional(cond, fitted, adult_small):
    """The columns that were not conditioned on move toward real[mask]: the conditional is
    sampled, nothing is overwritten (overwriting would leave them at the marginal)."""
    model = fitted("gaussian_copula")
    col, value = next(iter(cond.items()))
    subset = adult_small[adult_small[col] == value].reset_index(drop=True)
    conditioned = _shapes(subset, model.sample(len(subset), conditions=cond, seed=5), model, col)
    unconditioned = _shapes(subset, model.sample(len(subset), seed=5), model, col)
    assert conditioned > unconditioned + 0.02, (conditioned, unconditioned)


def test_ctgan_imposes_a_category_through_its_conditional_vector(fitted):
    """Native conditioning: with the conditional vector fixed to a category, far more
    generated rows carry it than without (rejection alone would only get the latter). A
    30-epoch model on all of Adult carries it in ~98% of rows; this small CI model in ~80%."""
    model = fitted("ctgan")
    plan = model._plan(parse_conditions({"income": ">50K"}, model.transformer))
    assert plan is not None

    def share(plan):
        out = model.transformer.decode(*model._generate(seed=0, segment=0, first=0, k=2, plan=plan))
        return (out["income"] == ">50K").mean()

    with_vector, without = share(plan), share(None)
    assert with_vector > 0.6 and with_vector > 2 * without, (with_vector, without)


@pytest.mark.xfail(strict=True, reason="issue 2 criterion not met: a Gaussian copula carries "
                   "categorical dependence only through one correlation per pair; conditioned "
                   "shapes trail the unconditional ones by 0.07-0.12 (see "
                   "benchmarks/BENCHMARKS.md, conditional fidelity)")
def test_copula_conditioned_shapes_within_005_of_unconditional(fitted, adult_small):
    model = fitted("gaussian_copula")
    base = _shapes(adult_small, model.sample(len(adult_small), seed=5), model)
    worst = min(_shapes(adult_small[adult_small[c] == v].reset_index(drop=True),
                        model.sample(int((adult_small[c] == v).sum()), conditions={c: v}, seed=5),
                        model)
                for c, v in (("sex", "Female"), ("income", ">50K")))
    assert worst >= base - 0.05


def test_copula_conditions_on_numbers_natively(fitted):
    model = fitted("gaussian_copula")
    out = model.sample(500, conditions={"age": 40, "education": "Masters"}, seed=0)
    assert (out["age"] == 40).all() and (out["education"] == "Masters").all()
    assert out["age"].dtype == np.int64


@pytest.mark.parametrize("conditions, error, match", [
    ({"colour": "red"}, ConditionError, "unknown column 'colour'"),
    ({"sex": "Martian"}, ConditionError, "'Martian' of column 'sex' never occurs"),
    ({"age": {"min": 500}}, ConditionError, "outside the training range"),
    ({"age": {"min": 50, "max": 20}}, ConditionError, "min 50 > max 20"),
    ({"age": {"low": 1}}, ConditionError, "takes keys 'min' and/or 'max'"),
    ({"age": "old"}, ConditionError, "not a numerical value"),
    (["sex"], ConditionError, "must be a dict"),
])
def test_bad_conditions_are_named(fitted, conditions, error, match):
    with pytest.raises(error, match=match):
        fitted("gaussian_copula").sample(10, conditions=conditions)


def test_impractical_rejection_is_reported_not_looped(fitted):
    model = fitted("tvae")
    with pytest.raises(ConditionError, match="acceptance"):
        model.sample(1000, conditions={"sex": "Female", "age": {"min": 89},
                                       "capital_gain": {"min": 99990}})


@pytest.mark.parametrize("rows", [0, -5, 2.5, "10", True])
def test_bad_row_counts(fitted, rows):
    with pytest.raises(DataError, match="num_rows must be a positive integer"):
        fitted("gaussian_copula").sample(rows)
    with pytest.raises(DataError, match="batch_size must be a positive integer"):
        fitted("gaussian_copula").sample(10, batch_size=rows)


def test_unfitted_and_bad_inputs():
    model = synth.create_synthesizer("gaussian_copula")
    with pytest.raises(NotFittedError, match="call fit"):
        model.sample(10)
    with pytest.raises(DataError, match="empty"):
        model.fit(pd.DataFrame())
    with pytest.raises(DataError, match="single row"):
        model.fit(pd.DataFrame({"a": [1.0], "b": ["x"]}))
    with pytest.raises(DataError, match="'b' has no values"):
        model.fit(pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]}))
    with pytest.raises(DataError, match="is numerical but holds 'abc'"):
        model.fit(pd.DataFrame({"a": ["1", "abc", "3"], "b": ["x", "y", "x"]}),
                  metadata={"a": "numerical"})


def test_corrupt_or_missing_model_directories(fitted, tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        synth.load_synthesizer(str(tmp_path / "nothing" / "here"))
    path = tmp_path / "m"
    fitted("ctgan").save(str(path))
    (path / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelLoadError, match="weights.pt is not a valid weights file"):
        synth.load_synthesizer(str(path))
    (path / "_COMPLETE").unlink()
    with pytest.raises(ModelLoadError, match="incomplete"):
        synth.load_synthesizer(str(path))


@pytest.mark.parametrize("name", MODELS)
def test_inconsistent_model_files_are_reported(name, fitted, tmp_path):
    path = tmp_path / "m"
    fitted(name).save(str(path))
    # a transformer state from another table: parses fine, does not fit the weights/columns
    other = synth.create_synthesizer("gaussian_copula").fit(
        pd.DataFrame({"x": np.arange(50.0), "y": ["a", "b"] * 25}))
    other.save(str(tmp_path / "other"))
    for f in ("transformer.json", "transformer.npz"):
        (path / f).write_bytes((tmp_path / "other" / f).read_bytes())
    with pytest.raises(ModelLoadError, match="not a consistent"):
        synth.load_synthesizer(str(path)).sample(10, seed=0)
    (path / "config.json").write_text(json.dumps({"synthesizer": name, "params": {"bogus": 1}}))
    with pytest.raises(ModelLoadError, match="bogus"):
        synth.load_synthesizer(str(path))


def test_pickled_payload_is_refused(fitted, tmp_path):
    """weights_only=True: a weights file that smuggles a pickled object does not load."""
    import pickle

    path = tmp_path / "m"
    fitted("ctgan").save(str(path))
    import torch

    torch.save({"generator": {}, "sampler_counts": torch.zeros(1), "x": Exploit()},
               path / "weights.pt")
    with pytest.raises(ModelLoadError):
        synth.load_synthesizer(str(path))
    assert pickle  # imported for clarity of what is refused


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("columns", [["carat", "depth", "price"], ["cut", "color", "clarity"]])
def test_all_numeric_or_all_categorical_tables(name, columns, tmp_path):
    real = pd.read_parquet(DATA / "diamonds.parquet", columns=columns).head(1500)
    params = {"epochs": 2} if name != "gaussian_copula" else {}
    if name == "binary_diffusion":  # the schema is the point here, not the samples' quality
        params.update(dim=32, sample_steps=4)
    model = synth.create_synthesizer(name, **params).fit(real)
    out = model.sample(300, seed=0)
    assert list(out.columns) == columns and len(out) == 300
    model.save(str(tmp_path / "m"))
    pd.testing.assert_frame_equal(synth.load_synthesizer(str(tmp_path / "m")).sample(300, seed=0),
                                  out)


def _mixed_frame(n: int = 600) -> pd.DataFrame:
    """Every column kind at once (a small fake: dates, nulls, booleans, keys, free text)."""
    rng = np.random.default_rng(0)
    words = np.array(["late", "delivery", "great", "price", "broken", "box", "fast", "refund"])
    joined = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    return pd.DataFrame({
        "order_id": [f"ORD-{i:06d}" for i in range(n)],
        "joined": joined.strftime("%Y-%m-%d"),
        "paid_at": pd.Series(joined + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")),
        "vip": rng.random(n) < 0.2,
        "amount": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2.0, 30.0, n).round(2)),
        "items": rng.integers(1, 9, n),
        "channel": rng.choice(["web", "app", "store", None], n, p=[0.5, 0.3, 0.15, 0.05]),
        "review": [" ".join(rng.choice(words, rng.integers(4, 9))) + "." for _ in range(n)],
    })


# budgets that learn 600 rows: the diffusion needs many small steps; potnet's minority modes
# (a 10% null share) collapse at the paper's marginal penalty on so few rows (measured: 0 nulls
# at 1.0, 8% at 5.0)
MIXED_PARAMS = {
    "ctgan": {"epochs": 150, "batch_size": 200}, "tvae": {"epochs": 150, "batch_size": 200},
    "argn": {"epochs": 150, "batch_size": 200},
    "binary_diffusion": {"epochs": 600, "batch_size": 200, "lr": 1e-3, "dim": 64,
                         "sample_steps": 20},
    "potnet": {"epochs": 300, "batch_size": 200, "marginal_penalty": 5.0},
}


@pytest.mark.parametrize("name", MODELS)
def test_every_column_kind_roundtrips(name, tmp_path):
    real = _mixed_frame()
    model = synth.create_synthesizer(name, **MIXED_PARAMS.get(name, {})).fit(real)
    kinds = {c: m.kind for c, m in model.metadata.columns.items()}
    assert kinds == {"order_id": "id", "joined": "datetime", "paid_at": "datetime",
                     "vip": "boolean", "amount": "numerical", "items": "numerical",
                     "channel": "categorical", "review": "text"}
    out = model.sample(1000, seed=0, id_offset=5000)
    assert out["order_id"].is_unique and out["order_id"].iloc[0] == "ORD-005000"
    assert pd.to_datetime(out["joined"], format="%Y-%m-%d").notna().all()
    assert out["paid_at"].dtype == real["paid_at"].dtype
    assert out["vip"].dtype == bool and out["items"].dtype == real["items"].dtype
    assert 0.02 < out["amount"].isna().mean() < 0.25  # nulls reproduced near the real 10%
    # text is generated from word frequencies, not copied (a tiny vocabulary allows a few
    # chance coincidences; a copying generator would score ~1.0 here)
    assert out["review"].dropna().isin(set(real["review"])).mean() < 0.05
    model.save(str(tmp_path / "m"))
    back = synth.load_synthesizer(str(tmp_path / "m")).sample(1000, seed=0, id_offset=5000)
    pd.testing.assert_frame_equal(back, out)


@pytest.mark.parametrize("name", ["ctgan", "tvae", "gaussian_copula"])
def test_chunked_sampling_equals_one_call_and_small_unseeded_requests_work(fitted, name):
    """iter_sample's chunks join into sample() exactly (what streamed HTTP responses rely on);
    an unseeded request smaller than a block returns its rows."""
    model = fitted(name)
    whole = model.sample(5000, seed=4, conditions={"sex": "Female"})
    parts = list(model.iter_sample(5000, conditions={"sex": "Female"}, seed=4, chunk_rows=1500))
    assert [len(p) for p in parts] == [1500, 1500, 1500, 500]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    small = model.sample(7)
    assert len(small) == 7 and list(small.columns) == list(whole.columns)
