"""Black-box attacks on XMC models: HopSkipJump and ZOO (ART) in a model's feature view, WordNet
synonym substitution on text, multi-label goals, robustness evaluation.

OMP_WAIT_POLICY=PASSIVE: PECOS runs every predict on an OpenMP team of all cores; with the
default (active) wait policy idle threads spin, and attacks make thousands of one-row calls:
measured 40-90 ms of CPU per one-row call spinning vs 2-4 ms passive (2 busy cores). It only
takes effect if set before PECOS' library loads, hence here and in engine/robust.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
