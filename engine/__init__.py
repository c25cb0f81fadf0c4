"""XTrust engine: data, PECOS models, explanations, attacks, defences and metrics.

Importable without Streamlit; the dashboard calls :mod:`engine.pipeline` only.
"""

import os

# PECOS predicts with OpenMP on every core; with the default (active) wait policy idle threads spin,
# costing 20x the CPU of a one-row prediction on a busy 2-core machine. Must be set before PECOS loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
