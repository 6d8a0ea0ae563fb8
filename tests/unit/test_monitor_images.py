"""Image monitoring on real MNIST digits: a baseline of 2,000 training images, then checks of
held-out digits (no alarm), of planted changes (half the digits missing, noise, an unseen
label, another size: each flagged where it belongs and nowhere else), the CLI's exit codes,
the saved classifier read back without pickle, and the report in a headless browser."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import synth.monitor as mon
from synth.data.images import ImageData, to_unit
from synth.errors import DataError

DATA = Path(__file__).resolve().parents[2] / "data" / "mnist5k.npz"
with np.load(DATA) as _npz:
    X, Y = _npz["images"], _npz["labels"]
ORDER = np.random.default_rng(0).permutation(len(X))
TRAIN, TEST = ORDER[:2000], ORDER[2000:2800]


def digits(idx: np.ndarray, images: np.ndarray = X, labels: bool = True) -> ImageData:
    frame = pd.DataFrame({"label": Y[idx]}) if labels else pd.DataFrame(index=range(len(idx)))
    return ImageData(to_unit(images[idx]), frame)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("monitor-images") / "baseline")
    torch.manual_seed(0)
    mon.image_baseline(digits(TRAIN), output=out)
    return out


def test_baseline_files_and_classifier_read_back(base_dir):
    stats = json.loads(Path(base_dir, "statistics.json").read_text())
    assert stats["kind"] == "images" and stats["rows"] == 2000 and stats["size"] == [28, 28]
    assert stats["attributes"]["label"] == {str(k): int(v) for k, v in zip(
        *np.unique(Y[TRAIN], return_counts=True), strict=True)}
    assert stats["extractor"]["fid_floor"] > 0 and stats["extractor"]["floor_rows"] == [1000, 1000]
    assert stats["extractor"]["accuracy"]["label"] > 0.8
    hist = np.asarray(stats["pixels"]["histogram"])
    assert hist.sum() == pytest.approx(1) and hist[0] > 0.7  # MNIST is mostly black
    rules = json.loads(Path(base_dir, "constraints.json").read_text())["constraints"]
    assert [r["type"] for r in rules] == ["size", "channels", "categories"]
    state = torch.load(Path(base_dir, "classifier.pt"), weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    loaded = mon.ImageBaseline.load(base_dir)  # the same classifier: the same judgement
    fresh = loaded.extractor.predict(to_unit(X[TEST[:50]]), "label")
    assert (fresh.astype(int) == Y[TEST[:50]]).mean() > 0.8


def test_held_out_digits_raise_no_alarm(base_dir, tmp_path):
    result = mon.check(base_dir, digits(TEST), output=str(tmp_path / "c"))  # dispatches
    assert result.kind == "images" and not result.alarm, result.flagged
    assert result.violations == []
    f = result.drift["features"]
    assert 0 < f["fid_ratio"] < 3 and f["fid_floor"] > 0
    assert result.drift["label"]["agreement"] > 0.8
    assert result.drift["label"]["total_variation"] < 0.1
    files = {p.name for p in (tmp_path / "c").iterdir()}
    assert {"check.json", "violations.json", "drift.json", "report.html"} <= files


def test_each_planted_change_is_flagged_where_it_belongs(base_dir):
    low = TEST[Y[TEST] < 5]  # half the digits gone: their shares and the features move
    r = mon.image_check(base_dir, digits(low, labels=False))
    assert set(r.flagged) == {"features", "label"}, r.flagged
    assert r.drift["label"]["psi"] > 0.2 and "agreement" not in r.drift["label"]
    rng = np.random.default_rng(0)  # noise: the pixels and the features, not the digits
    noisy = np.clip(X.astype(float) + rng.normal(0, 40, X.shape), 0, 255).astype(np.uint8)
    r = mon.image_check(base_dir, digits(TEST, noisy))
    assert {"features", "pixels"} <= set(r.flagged) and r.drift["pixels"]["psi"] > 0.2
    unseen = digits(TEST)  # 5% of the labels a value the baseline never saw
    unseen.labels["label"] = unseen.labels["label"].where(np.arange(len(TEST)) % 20 != 0, 11)
    r = mon.image_check(base_dir, unseen, examples=0)
    assert set(r.flagged) == {"label"} and len(r.violations) == 1
    v = r.violations[0]
    assert v["rule"]["type"] == "categories" and v["count"] == 40 and v["examples"] == []
    small = ImageData(torch.nn.functional.avg_pool2d(to_unit(X[TEST]), 2),
                      pd.DataFrame({"label": Y[TEST]}))
    r = mon.image_check(base_dir, small)
    assert r.violations[0]["rule"]["type"] == "size" and r.violations[0]["count"] == len(TEST)
    assert r.violations[0]["examples"] == [[14, 14]]


def test_history_and_report_of_two_checks(base_dir, tmp_path):
    hist = str(tmp_path / "history.parquet")
    mon.image_check(base_dir, digits(TEST), history=hist)
    out = str(tmp_path / "c2")
    mon.image_check(base_dir, digits(TEST[Y[TEST] < 5]), output=out, history=hist)
    past = pd.read_parquet(hist)
    assert sorted(past["check"].unique()) == [1, 2]
    ratio = past[past["column"] == "features"].set_index("check")["fid_ratio"]
    assert ratio[2] > 3 > ratio[1]
    html = Path(out, "report.html").read_text()
    assert "data-section='features'" in html and "fid-history" in html
    if headless_browser() is None:
        return
    from scripts import headless

    page = headless.layout(Path(out, "report.html"))
    kinds = [f["kind"] for f in page["figures"]]
    assert "fid-history" in kinds and "drift-column" in kinds
    for fig in page["figures"]:
        assert fig["marks"] > 0 and fig["box"]["right"] <= page["viewport"], fig


def headless_browser() -> str | None:
    from scripts import headless

    found = headless.browser()
    if found is None and os.environ.get("CI"):
        pytest.fail("no Chromium on PATH: scripts/chromium.sh installs it")
    return found


def test_cli_writes_a_baseline_and_exits_by_the_verdict(tmp_path):
    from jobs import monitor as job

    npz = tmp_path / "digits.npz"
    np.savez(npz, images=X[TRAIN[:600]], digit=Y[TRAIN[:600]])
    base = str(tmp_path / "b")
    assert job.main(["baseline", "--data", str(npz), "--output", base,
                     "classifier_epochs=2"]) == 0
    assert mon.check is not None and json.loads(Path(base, "statistics.json").read_text())[
        "attributes"]["digit"]
    same = tmp_path / "same.npz"
    np.savez(same, images=X[TEST], digit=Y[TEST])
    assert job.main(["check", "--baseline", base, "--data", str(same), "--output",
                     str(tmp_path / "c1")]) == 0
    shifted = tmp_path / "shifted.npz"
    np.savez(shifted, images=X[TEST][Y[TEST] < 3], digit=Y[TEST][Y[TEST] < 3])
    assert job.main(["check", "--baseline", base, "--data", str(shifted), "--output",
                     str(tmp_path / "c2")]) == 1
    assert job.main(["check", "--baseline", base, "--data", str(same), "--output",
                     str(tmp_path / "c3"), "fid_ratio=-1"]) == 2


def test_bad_input_is_refused(base_dir, tmp_path):
    with pytest.raises(DataError, match="at least 20 images"):
        mon.image_check(base_dir, digits(TEST[:5]))
    with pytest.raises(DataError, match="at least 20 images"):
        mon.image_baseline(digits(TRAIN[:10]))
    with pytest.raises(DataError, match="not an image baseline: no statistics.json"):
        mon.ImageBaseline.load(str(tmp_path / "nothing"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("statistics.json", "constraints.json", "classifier.json"):
        (broken / name).write_text(Path(base_dir, name).read_text())
    (broken / "features.npz").write_bytes(Path(base_dir, "features.npz").read_bytes())
    (broken / "classifier.pt").write_bytes(b"not a weights file")
    with pytest.raises(Exception, match="not a valid weights file"):
        mon.ImageBaseline.load(str(broken))
