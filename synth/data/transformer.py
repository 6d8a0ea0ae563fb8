"""Reversible data transformer: a table <-> a float matrix described by an output spec.

Models read only the spec (spans with an activation and a role), never raw columns:
- numerical/datetime: a "value" span (tanh, 1 dim) + a "mode" span (softmax over GMM modes),
  plus a "null" span (softmax, 2) when the column had missing values;
- categorical/boolean: a "category" span (softmax over capped levels; these feed CTGAN's
  conditional vector);
- id/text: no span, generated at decode time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.config import require
from synth.data.codecs import CategoricalCodec, IdCodec, NumericCodec, TextCodec
from synth.data.gmm import ModeNormalizer
from synth.data.metadata import Metadata
from synth.data.schema import new_codec

Codec = NumericCodec | CategoricalCodec | IdCodec | TextCodec


@dataclass(frozen=True)
class Span:
    """One block of the encoded matrix."""

    column: str
    role: str  # value | mode | null | category
    start: int
    dim: int

    @property
    def activation(self) -> str:
        return "tanh" if self.role == "value" else "softmax"

    @property
    def conditional(self) -> bool:
        return self.role == "category"


@dataclass(frozen=True)
class TransformerParams:
    """Transformer settings a neural model's config carries (and validates) as its own."""

    max_modes: int = 10
    gmm_sample_rows: int = 10_000
    max_categories: int = 500
    max_tail_values: int = 10_000

    def validate_transformer(self) -> None:
        require(1 <= self.max_modes <= 50, "max_modes must be in 1..50")
        require(self.gmm_sample_rows >= 100, "gmm_sample_rows must be >= 100")
        require(self.max_categories >= 2, "max_categories must be >= 2")
        require(self.max_tail_values >= 1, "max_tail_values must be >= 1")


@dataclass(frozen=True)
class TransformerOptions(TransformerParams):
    """What the transformer is built with: the model's TransformerParams plus this flag."""

    mode_normalize: bool = True  # False: codecs only (models that need no GMM, e.g. copulas)


class DataTransformer:
    """Fit once on the real table; encode it for training; decode generated matrices."""

    def __init__(self, metadata: Metadata, options: TransformerOptions | None = None) -> None:
        self.metadata = metadata
        self.options = options or TransformerOptions()
        self.codecs: dict[str, Codec] = {}
        self.normalizers: dict[str, ModeNormalizer] = {}
        self.spans: list[Span] = []

    # ----------------------------------------------------------------- fit / spec
    def fit(self, df: pd.DataFrame, seed: int = 0) -> DataTransformer:
        rng = np.random.default_rng(seed)
        for name in self.metadata.columns:
            codec = self._new_codec(name)
            fitted = codec.fit(df[name])
            self.codecs[name] = codec
            if isinstance(codec, NumericCodec) and self.options.mode_normalize:
                norm = ModeNormalizer(self.options.max_modes, self.options.gmm_sample_rows)
                self.normalizers[name] = norm.fit(fitted, rng)
        self._build_spans()
        return self

    def _new_codec(self, name: str) -> Codec:
        return new_codec(name, self.metadata.columns[name], self.options.max_categories,
                         self.options.max_tail_values)

    def _build_spans(self) -> None:
        spans, start = [], 0
        for name, codec in self.codecs.items():
            dims: list[tuple[str, int]] = []
            if isinstance(codec, NumericCodec) and self.options.mode_normalize:
                dims = [("value", 1), ("mode", self.normalizers[name].n_modes)]
                if codec.state["null_rate"] > 0:
                    dims.append(("null", 2))
            elif isinstance(codec, CategoricalCodec):
                dims = [("category", codec.n_levels)]
            for role, dim in dims:
                spans.append(Span(name, role, start, dim))
                start += dim
        self.spans = spans

    @property
    def output_dim(self) -> int:
        return sum(s.dim for s in self.spans)

    @property
    def value_spans(self) -> list[Span]:
        return [s for s in self.spans if s.activation == "tanh"]

    @property
    def softmax_spans(self) -> list[Span]:
        return [s for s in self.spans if s.activation == "softmax"]

    @property
    def conditional_spans(self) -> list[Span]:
        return [s for s in self.spans if s.conditional]

    # ----------------------------------------------------------------- encode / decode
    def transform(self, df: pd.DataFrame, seed: int = 0) -> np.ndarray:
        """Encode a table with the fitted columns into the float32 training matrix."""
        rng = np.random.default_rng(seed)
        out = np.zeros((len(df), self.output_dim), dtype=np.float32)
        rows = np.arange(len(df))
        cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for span in self.spans:
            codec = self.codecs[span.column]
            if span.role == "category":
                out[rows, span.start + codec.encode(df[span.column])] = 1.0
                continue
            if span.column not in cache:
                cache[span.column] = self._encode_numeric(span.column, df[span.column], rng)
            alpha, mode, null = cache[span.column]
            if span.role == "value":
                out[:, span.start] = alpha
            else:
                out[rows, span.start + (mode if span.role == "mode" else null)] = 1.0
        return out

    def _encode_numeric(self, name: str, series: pd.Series, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        values = self.codecs[name].to_float(series)  # type: ignore[union-attr]
        null = np.isnan(values)
        if null.any():
            values = values.copy()
            values[null] = self.normalizers[name].means[np.argmax(self.normalizers[name].weights)]
        alpha, mode = self.normalizers[name].transform(values, rng)
        return alpha, mode, null.astype("int64")

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c, k in self.codecs.items() if isinstance(k, NumericCodec)]

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c, k in self.codecs.items() if isinstance(k, CategoricalCodec)]

    @property
    def random_columns(self) -> list[str]:
        """Columns whose decoding draws randomness (tail levels, text): one uniform each."""
        return [c for c, k in self.codecs.items() if isinstance(k, CategoricalCodec | TextCodec)]

    def invert_spans(self, values: np.ndarray, codes: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Network space -> codec space: (numeric floats, numeric null flags, category codes)
        from tanh outputs `values` (rows x value spans) and argmax `codes` (rows x softmax
        spans)."""
        c_index = {(s.column, s.role): i for i, s in enumerate(self.softmax_spans)}
        nums = self.numeric_columns
        numeric = np.empty((len(codes), len(nums)))
        null = np.zeros((len(codes), len(nums)), dtype=bool)
        for j, name in enumerate(nums):
            mode = codes[:, c_index[(name, "mode")]]
            numeric[:, j] = self.normalizers[name].inverse(values[:, j], mode)
            if (name, "null") in c_index:
                null[:, j] = codes[:, c_index[(name, "null")]] == 1
        cats = codes[:, [c_index[(c, "category")] for c in self.categorical_columns]]
        return numeric, null, cats

    def decode(self, numeric: np.ndarray, null: np.ndarray, cats: np.ndarray,
               uniforms: np.ndarray, id_offset: int = 0) -> pd.DataFrame:
        """Table (training column order and dtypes) from codec-space arrays. All randomness of
        decoding comes from `uniforms` (rows x random_columns), so it is a pure function."""
        n = len(uniforms)
        num_i = {c: i for i, c in enumerate(self.numeric_columns)}
        cat_i = {c: i for i, c in enumerate(self.categorical_columns)}
        rnd_i = {c: i for i, c in enumerate(self.random_columns)}
        cols = {}
        for name, codec in self.codecs.items():
            if isinstance(codec, NumericCodec):
                j = num_i[name]
                cols[name] = codec.restore(numeric[:, j], null[:, j] if null[:, j].any() else None)
            elif isinstance(codec, CategoricalCodec):
                cols[name] = codec.restore(cats[:, cat_i[name]], uniforms[:, rnd_i[name]])
            elif isinstance(codec, IdCodec):
                cols[name] = codec.generate(id_offset, n)
            else:
                cols[name] = codec.generate(uniforms[:, rnd_i[name]])
        return pd.DataFrame({k: v.reset_index(drop=True) for k, v in cols.items()})

    # ----------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able dict, numeric arrays) that fully describe the fitted transformer."""
        doc: dict[str, Any] = {"metadata": self.metadata.to_dict(),
                               "options": self.options.__dict__, "columns": {}}
        arrays: dict[str, np.ndarray] = {}
        for i, (name, codec) in enumerate(self.codecs.items()):
            doc["columns"][name] = codec.to_json()
            parts = dict(getattr(codec, "arrays", dict)())
            if name in self.normalizers:
                parts.update({f"gmm.{k}": v for k, v in self.normalizers[name].arrays().items()})
            arrays.update({f"{i}::{k}": np.asarray(v) for k, v in parts.items()})
        return doc, arrays

    @classmethod
    def from_state(cls, doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> DataTransformer:
        self = cls(Metadata.from_dict(doc["metadata"]), TransformerOptions(**doc["options"]))
        for i, name in enumerate(self.metadata.columns):
            mine = {k.split("::", 1)[1]: v for k, v in arrays.items()
                    if k.split("::", 1)[0] == str(i)}
            codec = self._new_codec(name)
            codec.load_json(doc["columns"][name], mine)
            self.codecs[name] = codec
            if isinstance(codec, NumericCodec) and self.options.mode_normalize:
                norm = ModeNormalizer(self.options.max_modes, self.options.gmm_sample_rows)
                norm.load_arrays({k[4:]: v for k, v in mine.items() if k.startswith("gmm.")})
                self.normalizers[name] = norm
        self._build_spans()
        return self
