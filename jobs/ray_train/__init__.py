"""Ray Train glue: the worker loop (`worker.py`: synth.models.loop with Ray's hooks), the one
place that builds a TorchTrainer (`trainer.py`), collectives and checksums over the ranks
(`collective.py`), and the drivers of table and image training (`tables.py`, `images.py`)."""
