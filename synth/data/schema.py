"""The user's columns as a model generates them: each column's codec (its kind, levels or
range, dtype and format) and the metadata, in the training frame's order. A model's
transformer codes the *model* table, which constraints may rewrite (synth.data.constraints);
conditions, Arrow schemas, output files and the HTTP model description read this instead."""

from __future__ import annotations

from dataclasses import dataclass

from synth.data.codecs import CategoricalCodec, IdCodec, NumericCodec, TextCodec
from synth.data.lists import ListCodec
from synth.data.metadata import ColumnMeta, Metadata

Codec = NumericCodec | CategoricalCodec | IdCodec | TextCodec | ListCodec


@dataclass(frozen=True)
class TableSchema:
    codecs: dict[str, Codec]
    metadata: Metadata


def new_codec(name: str, meta: ColumnMeta, max_categories: int = 500,
              max_tail_values: int = 10_000) -> Codec:
    """The codec of a column of this kind (unfitted)."""
    if meta.kind in ("numerical", "datetime"):
        return NumericCodec(name, meta)
    if meta.kind == "id":
        return IdCodec(name, meta)
    if meta.kind == "text":
        return TextCodec(name, meta)
    if meta.kind == "list":
        return ListCodec(name, meta)
    return CategoricalCodec(name, meta, max_categories, max_tail_values)
