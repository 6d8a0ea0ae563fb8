"""The optional SDV baselines live outside synth/ and follow the same fit/sample protocol."""

from __future__ import annotations

import pytest

import synth

pytest.importorskip("sdv")


def test_sdv_backends_register_on_import_and_sample(credit):
    import benchmarks.sdv_backends  # noqa: F401 - registers the backends

    assert {"sdv_copulagan", "sdv_ctgan"} <= set(synth.list_synthesizers())
    model = synth.create_synthesizer("sdv_gaussian_copula").fit(credit)
    out = model.sample(200, conditions={"Status": "bad"}, seed=1)
    assert len(out) == 200 and (out["Status"] == "bad").all()
    with pytest.raises(synth.SynthError, match="pickle"):
        model.save("anywhere")
