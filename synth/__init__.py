"""raysynth's library: tabular and image synthesizers, metrics and the model store.
Pure Python + torch + pandas/pyarrow: this package never imports ray.

The public names load on first use (PEP 562), so a Ray worker that only needs, say,
synth.metrics.counts does not pay for importing torch and scikit-learn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synth.lazy import lazy_exports
from synth.version import __version__

_EXPORTS = {
    "create_synthesizer": "synth.api", "list_synthesizers": "synth.api",
    "load_synthesizer": "synth.api", "Metadata": "synth.data.metadata",
    "detect_metadata": "synth.data.metadata", "SynthError": "synth.errors",
    "evaluate": "synth.metrics.evaluate", "EvalConfig": "synth.metrics.config",
    "Report": "synth.metrics.report", "composite": "synth.compositing.run",
    "CompositeConfig": "synth.compositing.config",
}
__all__ = ["create_synthesizer", "list_synthesizers", "load_synthesizer", "Metadata",
           "detect_metadata", "SynthError", "evaluate", "EvalConfig", "Report", "composite",
           "CompositeConfig", "__version__"]

if TYPE_CHECKING:
    from synth.api import create_synthesizer, list_synthesizers, load_synthesizer
    from synth.compositing.config import CompositeConfig
    from synth.compositing.run import composite
    from synth.data.metadata import Metadata, detect_metadata
    from synth.errors import SynthError
    from synth.metrics.config import EvalConfig
    from synth.metrics.evaluate import evaluate
    from synth.metrics.report import Report


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
