"""Nothing dense in the label dimension on the pages' engine calls (issue 16): the dataset statistics stay
the same size as the label count grows 10x, labels are found by typing, document search reads the sparse
arrays, and imported datasets are loaded once per process until they are re-imported or deleted."""
import json

import numpy as np
import pytest

from engine import pipeline
from engine.data import load_dataset
from engine.data import user_data
from engine.data.synthetic import generate_dataset
from engine.errors import InputError

SMALL = dict(n_features=1500, n_train=1200, n_test=200)


@pytest.fixture(scope="module")
def two_sizes():
    """The same preset at 600 and 6,000 labels (a second each)."""
    generate_dataset("eurlex-4k", name="lbl-600", n_labels=600, **SMALL)
    generate_dataset("eurlex-4k", name="lbl-6000", n_labels=6000, **SMALL)
    return "lbl-600", "lbl-6000"


def test_stats_payload_is_bounded_as_labels_grow_tenfold(two_sizes):
    small, large = (pipeline.dataset_stats(n) for n in two_sizes)
    assert (small["n_labels"], large["n_labels"]) == (600, 6000)
    sizes = [len(json.dumps(s)) for s in (small, large)]
    # on main the payload held a name -> count entry per label: ~10x larger at 10x the labels
    assert sizes[1] < 1.3 * sizes[0] and sizes[1] < 40_000, sizes
    freq = large["label_frequency"]
    assert len(freq["rank"]) == len(freq["count"]) == len(freq["label"]) <= pipeline.FREQUENCY_POINTS
    assert freq["rank"][0] == 1 and freq["rank"][-1] == 6000
    assert len(freq["top"]) == len(freq["bottom"]) == pipeline.FREQUENCY_EXTREMES


def test_frequency_summary_is_exact_at_the_ranks_it_keeps(two_sizes):
    ds = load_dataset(two_sizes[1])
    counts = np.asarray(ds.train.Y.sum(axis=0)).ravel().astype(int)
    f = pipeline.dataset_stats(ds.name)["label_frequency"]
    ranked = np.sort(counts)[::-1]
    assert f["count"] == [int(ranked[r - 1]) for r in f["rank"]]
    assert [counts[ds.label_names.index(n)] for n in f["label"]] == f["count"]
    assert sum(f["bins"]["labels"]) == 6000 and f["unseen"] == int((counts == 0).sum())
    lower = f["bins"]["lower"]
    for lo, hi, n in zip(lower, lower[1:] + [counts.max() + 1], f["bins"]["labels"]):
        assert n == int(((counts >= lo) & (counts < hi)).sum())
    assert [c for _, c in f["top"]] == ranked[:15].tolist() and [c for _, c in f["bottom"]] == ranked[-15:].tolist()
    assert f["max"] == counts.max() and f["median"] == float(np.median(counts))


def test_small_label_sets_keep_every_rank():
    f = pipeline.label_frequency_summary(np.array([3, 0, 7, 1]), ["a", "b", "c", "d"])
    assert f["rank"] == [1, 2, 3, 4] and f["count"] == [7, 3, 1, 0] and f["label"] == ["c", "a", "d", "b"]
    assert f["bins"] == {"lower": [0, 1, 2, 4], "labels": [1, 1, 1, 1]} and f["bottom"] == []


def test_find_labels_by_typing(two_sizes):
    name = two_sizes[1]
    exact = pipeline.find_labels(name, "EURLEX-4K-LABEL12")  # case-insensitive; exact match first
    assert exact[0]["name"] == "eurlex-4k-label12" and exact[0]["id"] == 12
    assert [m["name"] for m in exact[1:4]] == ["eurlex-4k-label120", "eurlex-4k-label121", "eurlex-4k-label122"]
    assert len(pipeline.find_labels(name, "label1")) == pipeline.LABEL_SEARCH_LIMIT
    assert len(pipeline.find_labels(name, "label", limit=5)) == 5
    assert [m["id"] for m in pipeline.find_labels(name, "label5999")] == [5999]
    assert pipeline.find_labels(name, "nothing-like-it") == [] and pipeline.find_labels(name, "  ") == []
    counts = load_dataset(name).label_train_counts
    assert all(m["train_docs"] == counts[m["id"]] for m in exact)
    with pytest.raises(InputError, match="limit"):
        pipeline.find_labels(name, "x", limit=0)
    assert len(pipeline.label_display(name)) == 0  # names shown as they are: no per-label display table


def test_find_labels_searches_display_names_starts_first():
    got = pipeline.find_labels("bibtex", "gra")  # BibTeX names are TAG_...; people type what they see
    assert [m["display"] for m in got][:2] == ["granular", "graph"]  # names starting with it first
    assert {"name": "TAG_programming", "display": "programming"}.items() <= got[2].items()
    assert pipeline.label_display("bibtex").get("TAG_graph") == "graph"


def test_search_documents_matches_the_dense_reference(two_sizes):
    for name, word in (("bibtex", "graph"), (two_sizes[1], None)):
        ds = load_dataset(name)
        for split in ("test", "train"):
            s = ds.split(split)
            j = int(np.argmax(ds.label_train_counts))
            dense = np.flatnonzero(np.asarray(s.Y[:, j].toarray()).ravel() > 0)
            assert pipeline.search_documents(name, label=ds.label_names[j], split=split, limit=10**6) == dense.tolist()
            w = word or s.texts[0].split()[0]
            scan = [i for i in range(s.n) if w in s.texts[i].split()]
            assert pipeline.search_documents(name, word=w, split=split, limit=10**6) == scan
            both = [i for i in scan if i in set(dense.tolist())][:200]
            assert pipeline.search_documents(name, word=w, label=ds.label_names[j], split=split) == both
    with pytest.raises(InputError, match="unknown label"):
        pipeline.search_documents(two_sizes[1], label="no-such-label")


def test_imported_dataset_is_loaded_once_until_reimported_or_deleted(monkeypatch):
    generate_dataset("eurlex-4k", name="lbl-cache", n_labels=50, seed=1, **SMALL)
    reads = []
    real = user_data.read_split_arrays
    monkeypatch.setattr(user_data, "read_split_arrays", lambda folder: reads.append(folder) or real(folder))
    a = load_dataset("lbl-cache")
    assert load_dataset("lbl-cache") is a and len(reads) == 1  # the second page load reads nothing
    generate_dataset("eurlex-4k", name="lbl-cache", n_labels=80, seed=2, **SMALL)  # re-import, same name
    b = load_dataset("lbl-cache")
    assert b is not a and b.n_labels == 80 and len(reads) == 2
    # another process re-importing swaps the folder: the stamp changes although this process was not told
    folder = user_data.user_root() / "lbl-cache"
    from engine.atomic import write_folder_atomic
    from engine.data.build import write_split_arrays
    import dataclasses
    write_folder_atomic(folder, lambda tmp: write_split_arrays(tmp, dataclasses.replace(b, description="other")))
    c = load_dataset("lbl-cache")
    assert c is not b and c.description == "other" and len(reads) == 3
    pipeline.delete_user_dataset("lbl-cache")
    assert "lbl-cache" not in user_data.loaded_user_datasets()
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("lbl-cache")
