"""Domain exceptions: every user mistake surfaces as one of these, with a message that names
the column/field/value and says how to fix it (never a traceback from deep inside torch)."""

from __future__ import annotations


class SynthError(Exception):
    """Base class of every raysynth error a user can act on."""


class DataError(SynthError, ValueError):
    """The input data cannot be used as given (empty frame, all-null column, wrong type...)."""


class MetadataError(SynthError, ValueError):
    """A metadata dict or override is malformed or names an unknown column/kind."""


class ConfigError(SynthError, ValueError):
    """A config key is unknown or a value has the wrong type/range."""


class ConditionError(SynthError, ValueError):
    """Conditions for sampling name unknown columns/values or cannot be met."""


class NotFittedError(SynthError, RuntimeError):
    """sample/save was called on a model that was never fitted."""


class ModelLoadError(SynthError, OSError):
    """A model directory is missing, incomplete or corrupt."""


class RegistryError(SynthError, KeyError):
    """An unknown registry name; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BudgetExceeded(SynthError, TimeoutError):
    """Work ran past the time budget it was given, or its caller cancelled it
    (synth.budget)."""
