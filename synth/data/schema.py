"""The user's columns as a model generates them: each column's codec (its kind, levels or
range, dtype and format) and the metadata, in the training frame's order. A model's
transformer codes the *model* table, which constraints may rewrite (synth.data.constraints);
conditions, Arrow schemas, output files and the HTTP model description read this instead."""

from __future__ import annotations

from dataclasses import dataclass

from synth.data.codecs import CategoricalCodec, IdCodec, NumericCodec, TextCodec
from synth.data.lists import ListCodec
from synth.data.metadata import Metadata

Codec = NumericCodec | CategoricalCodec | IdCodec | TextCodec | ListCodec


@dataclass(frozen=True)
class TableSchema:
    codecs: dict[str, Codec]
    metadata: Metadata
