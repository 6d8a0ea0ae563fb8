from __future__ import annotations

import numpy as np

from synth.data.metadata import detect_metadata
from synth.data.transformer import DataTransformer
from synth.models.ctgan.sampler import CondSampler


def test_real_rows_match_the_requested_categories(adult_small):
    tr = DataTransformer(detect_metadata(adult_small)).fit(adult_small)
    x = tr.transform(adult_small)
    spans = tr.conditional_spans
    s = CondSampler(x, spans)
    rng = np.random.default_rng(0)
    span, level, category = s.sample_train(5000, rng)
    rows = s.sample_rows(category, rng)
    for j, sp in enumerate(spans):
        pick = span == j
        got = x[rows[pick], sp.start:sp.start + sp.dim].argmax(1)
        assert np.array_equal(got, level[pick])


def test_log_frequency_flattens_and_global_counts_fall_back(adult_small):
    tr = DataTransformer(detect_metadata(adult_small)).fit(adult_small)
    x = tr.transform(adult_small)
    spans = tr.conditional_spans
    full = CondSampler(x, spans)
    shard = CondSampler(x[:50], spans, counts=full.counts)  # a shard missing many categories
    rng = np.random.default_rng(1)
    _, _, category = shard.sample_train(4000, rng)
    assert (shard.row_count[category] == 0).any()  # global frequencies ask for them anyway
    rows = shard.sample_rows(category, rng)
    assert rows.min() >= 0 and rows.max() < 50
