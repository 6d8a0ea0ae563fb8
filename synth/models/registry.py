"""Synthesizers by name: `create_synthesizer("ctgan", epochs=10)`, `load_synthesizer(path)`."""

from __future__ import annotations

from synth.registry import Registry

SYNTHESIZERS: Registry[type] = Registry("synthesizer")


def register_synthesizer(name: str):
    return SYNTHESIZERS.register(name)
