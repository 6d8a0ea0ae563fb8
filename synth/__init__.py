"""raysynth's library: tabular and image synthesizers, metrics and the model store.
Pure Python + torch + pandas/pyarrow: this package never imports ray."""

from synth.api import create_synthesizer, list_synthesizers, load_synthesizer
from synth.data.metadata import Metadata, detect_metadata
from synth.errors import SynthError

__version__ = "0.1.0"
__all__ = ["create_synthesizer", "list_synthesizers", "load_synthesizer", "Metadata",
           "detect_metadata", "SynthError", "__version__"]
