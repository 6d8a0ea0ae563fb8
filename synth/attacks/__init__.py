"""Attacks that fit generators themselves (shadow models), so they live outside synth/metrics,
which never imports the models."""

from synth.attacks.shadow import shadow_attack

__all__ = ["shadow_attack"]
