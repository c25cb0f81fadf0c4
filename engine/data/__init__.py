"""Datasets: Mulan ARFF readers, pseudo-text, the data directory, downloads and user uploads."""
from engine.data.catalog import DATASETS, list_datasets, load_dataset  # noqa: F401
