"""Datasets: Mulan ARFF readers, pseudo-text, the data directory, downloads and user uploads."""
from engine.data.dataset import DATASETS, load_dataset  # noqa: F401
