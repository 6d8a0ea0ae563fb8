"""CTGAN: config, networks, sampler, training step and the synthesizer."""
