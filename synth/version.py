"""The package version (one place; synth/__init__ and reports read it)."""

__version__ = "0.1.0"
