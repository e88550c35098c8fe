"""Synthetic twins of level-3 dataset versions (see :mod:`hub.synth.twin`)."""

from hub.synth.twin import MIN_SUPPORT, make_twin

__all__ = ["MIN_SUPPORT", "make_twin"]
