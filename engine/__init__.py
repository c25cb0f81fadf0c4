"""XTrust engine: data, PECOS models, explanations, attacks, defences and metrics.

Importable without Streamlit; the dashboard calls :mod:`engine.pipeline` only.
"""

__version__ = "0.1.0"
