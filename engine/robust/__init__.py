"""Adversarial training: WordNet / feature-noise augmentation with a curriculum (see attacks/__init__ for OMP)."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
