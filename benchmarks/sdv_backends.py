"""Optional SDV backends (`pip install raysynth[sdv]`), for benchmarks and comparisons only.

SDV is BSL-1.1 licensed: it may not be offered as a synthetic-data service, so it never sits on
raysynth's core or serving path (synth/ and serving/ never import it; a test checks). Importing
this module registers `sdv_ctgan`, `sdv_tvae`, `sdv_copulagan` and `sdv_gaussian_copula` in
synth's registry with the same fit/sample protocol. They cannot be saved: SDV persists models
with pickle, which raysynth refuses to write or load."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from synth.errors import ConditionError, NotFittedError, SynthError
from synth.models.registry import SYNTHESIZERS, register_synthesizer

_CLASSES = {"sdv_ctgan": "CTGANSynthesizer", "sdv_tvae": "TVAESynthesizer",
            "sdv_copulagan": "CopulaGANSynthesizer",
            "sdv_gaussian_copula": "GaussianCopulaSynthesizer"}


class SDVBackend:
    """fit(df) / sample(n, conditions=, seed=) over an SDV single-table synthesizer."""

    name = "sdv"
    sdv_class = ""

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.model = None

    def fit(self, data: pd.DataFrame, metadata: dict | None = None) -> SDVBackend:
        import sdv.single_table as st
        from sdv.metadata import Metadata

        md = (Metadata.load_from_dict(metadata) if metadata
              else Metadata.detect_from_dataframes({"table": data}))
        self.model = getattr(st, self.sdv_class)(md, **self.params)
        self.model.fit({"table": data})
        return self

    def sample(self, num_rows: int, conditions: dict | None = None, seed: int | None = None
               ) -> pd.DataFrame:
        if self.model is None:
            raise NotFittedError(f"{self.name} is not fitted; call fit(data) first")
        if seed is not None:  # SDV draws from the global generators
            np.random.seed(seed)
            torch.manual_seed(seed)
        if not conditions:
            out = self.model.sample(num_rows)
        else:
            from sdv.sampling import Condition

            try:
                out = self.model.sample_from_conditions(
                    [Condition(column_values=conditions, num_rows=num_rows)])
            except Exception as exc:  # noqa: BLE001 - SDV raises its own hierarchy
                raise ConditionError(f"{self.name}: {exc}") from None
        return next(iter(out.values())) if isinstance(out, dict) else out

    def save(self, path: str) -> str:
        raise SynthError(f"{self.name} cannot be saved: SDV stores models with pickle, which "
                         "raysynth does not write or load; use a raysynth model to save")


for _name, _cls in _CLASSES.items():
    if _name not in SYNTHESIZERS:
        register_synthesizer(_name)(type(_cls, (SDVBackend,), {"name": _name, "sdv_class": _cls}))
