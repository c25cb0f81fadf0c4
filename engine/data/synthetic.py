"""Synthetic extreme multi-label datasets with the shape of the XC benchmarks (``python -m engine generate``).

A document has a few labels (1 + Poisson), drawn with power-law (Zipf) frequencies; each label owns a
short list of words, and a document's words are some of each of its labels' words plus background
words (also Zipf-distributed): labels are learnable from the words, as in real data. Words have
names (pronounceable syllables, common words shortest; or real WordNet lemmas first) so the dataset
is a word-presence "text" dataset: pseudo-text for LIME, the text attacks and the X-Transformer.

Seeded and reproducible; stored in the user-datasets store (never in git) and loadable by name
(``load_dataset(name)``) like any import. The memory a generation needs is estimated from the
number of non-zeros before anything is allocated, and refused above the budget.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from engine.data.user_data import check_name, store_user_arrays
from engine.data.xc_import import gb_text, memory_budget
from engine.errors import DataError, InputError
from engine.types import ProgressFn, report

ONSETS = "bdfghklmnprstvz"
VOWELS = "aeiou"
SYLLABLES = [c + v for c in ONSETS for v in VOWELS]  # 75 two-letter syllables: names parse back uniquely
VOCABULARIES = ("syllables", "wordnet")


@dataclass(frozen=True)
class SyntheticPreset:
    """The shape of one generated dataset. Counts of documents are per split."""

    name: str
    mimics: str  # the real dataset whose shape this copies
    n_labels: int
    n_features: int
    n_train: int
    n_test: int
    labels_per_doc: float = 5.0  # mean; each document has 1 + Poisson(mean - 1), at least 1
    words_per_label: int = 20  # size of each label's own word list
    words_from_label: int = 6  # words a document draws from each of its labels' lists
    noise_words: int = 20  # background words per document
    zipf_a: float = 1.0  # label frequency of rank r is proportional to 1 / (r + zipf_b) ** zipf_a
    zipf_b: float = 5.0
    word_zipf_a: float = 0.8  # the same for word popularity (label word lists and background words)
    word_zipf_b: float = 10.0
    max_labels_per_doc: int = 64

    def validate(self) -> "SyntheticPreset":
        for field, lo in (("n_labels", 2), ("n_features", 2), ("n_train", 1), ("n_test", 1), ("words_per_label", 1),
                          ("words_from_label", 1), ("noise_words", 0), ("max_labels_per_doc", 1)):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise InputError(f"{field} must be a whole number >= {lo}, got {v!r}.")
        if not (1.0 <= self.labels_per_doc <= self.max_labels_per_doc):
            raise InputError(f"labels_per_doc must be between 1 and {self.max_labels_per_doc}, got {self.labels_per_doc}.")
        for field in ("zipf_a", "word_zipf_a"):
            if not (0.0 <= getattr(self, field) <= 4.0):
                raise InputError(f"{field} must be between 0 and 4, got {getattr(self, field)}.")
        return self

    @property
    def words_per_doc(self) -> float:
        """Expected word draws per document (before duplicates merge)."""
        return self.labels_per_doc * self.words_from_label + self.noise_words


# Label / feature / document counts of the real datasets (XC repository statistics). Words per document
# are fewer than the real ones' (EURLex ~236, Wiki10 ~673 non-zeros) to keep generation and training
# within minutes on 2 cores; Amazon-670K's training split is cut (see AMAZON_TRAIN_DOCS). Label words per
# document and background words were set so that XR-Linear's P@1 is near the published one (EURLex-4K:
# P@1 80.3 / P@5 40.2 on 6,000 generated training documents, vs ~82 / ~46 on the real data; Wiki10-31K:
# 84.2 / 54.5 on 6,000, vs ~84 / ~64 on the real data).
AMAZON_TRAIN_DOCS = 200_000  # of the real 490,449: measured to train XR-Linear in minutes on 2 cores (README)
PRESETS = {
    "eurlex-4k": SyntheticPreset("eurlex-4k", "EURLex-4K", 3_993, 5_000, 15_539, 3_809, labels_per_doc=5.3,
                                 words_per_label=20, words_from_label=4, noise_words=40),
    "wiki10-31k": SyntheticPreset("wiki10-31k", "Wiki10-31K", 30_938, 101_938, 14_146, 6_616, labels_per_doc=18.6,
                                  words_per_label=40, words_from_label=2, noise_words=80),
    "amazon-670k": SyntheticPreset("amazon-670k", "Amazon-670K", 670_091, 135_909, AMAZON_TRAIN_DOCS, 10_000,
                                   labels_per_doc=5.45, words_per_label=10, words_from_label=5, noise_words=10),
}


@dataclass(frozen=True)
class GeneratedSummary:
    name: str
    preset: str
    seed: int
    n_train: int
    n_test: int
    n_labels: int
    n_features: int
    nnz_train: int
    labels_unseen_in_train: int
    estimated_bytes: int
    seconds: float
    folder: str


def preset(name: str, **overrides) -> SyntheticPreset:
    """A preset by name, with fields replaced (e.g. n_train=1000), validated."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    try:
        return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}).validate()
    except TypeError as exc:
        raise InputError(f"bad preset field: {exc}.") from None


def estimate_bytes(p: SyntheticPreset) -> int:
    """Peak bytes of generating ``p``, from its expected non-zeros, before anything is allocated.

    Per word draw: COO rows + cols (int64) + data, then CSR (int32 indices, float32 data) and the
    merge of duplicates: ~40 B. Per label slot ~48 B; each label's word list 8 B a word; names
    ~100 B per label (kept, and in meta.json) and ~80 B per feature name.
    """
    n = p.n_train + p.n_test
    slots = n * p.labels_per_doc
    draws = n * p.words_per_doc
    return int(40 * draws + 48 * slots + 8 * p.n_labels * p.words_per_label + 100 * p.n_labels + 80 * p.n_features)


def zipf_cdf(n: int, a: float, b: float) -> np.ndarray:
    """Cumulative distribution (n,) float64 of P(rank r) proportional to 1 / (r + b) ** a, r = 1..n."""
    w = 1.0 / np.power(np.arange(1, n + 1, dtype=np.float64) + b, a)
    c = np.cumsum(w)
    return c / c[-1]


def draw(cdf: np.ndarray, rng: np.random.Generator, size) -> np.ndarray:
    """Ranks (0-based) drawn from a cumulative distribution: int64 array of ``size``."""
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), cdf.size - 1)


def syllable_word(i: int) -> str:
    """The i-th pronounceable word (0-based): 2 syllables first (75**2 of them), then 3, and so on."""
    length, first = 2, 0
    while i >= first + len(SYLLABLES) ** length:
        first += len(SYLLABLES) ** length
        length += 1
    k = i - first
    out = []
    for _ in range(length):
        k, r = divmod(k, len(SYLLABLES))
        out.append(SYLLABLES[r])
    return "".join(reversed(out))


def wordnet_words() -> list[str]:
    """Single-word lowercase lemmas (3+ letters) of the installed WordNet, sorted: [] when it is absent."""
    from engine.paths import nltk_data_dir

    root = nltk_data_dir() / "corpora" / "wordnet"
    words: set[str] = set()
    word = re.compile(r"[a-z]{3,}")
    for pos in ("noun", "verb", "adj", "adv"):
        f = root / f"index.{pos}"
        if not f.is_file():
            return []
        with open(f, encoding="utf-8", errors="replace") as fh:
            for ln in fh:
                lemma = ln.split(" ", 1)[0]
                if not ln.startswith(" ") and word.fullmatch(lemma):
                    words.add(lemma)
    return sorted(words)


def word_names(n: int, vocabulary: str, rng: np.random.Generator) -> list[str]:
    """n distinct word names by popularity rank (rank 0 the most common). ``syllables``: pronounceable, the
    common ones shortest. ``wordnet``: real WordNet lemmas (shuffled, seeded) first, then syllable words."""
    if vocabulary not in VOCABULARIES:
        raise InputError(f"unknown vocabulary {vocabulary!r}: choose one of {', '.join(VOCABULARIES)}.")
    real: list[str] = []
    if vocabulary == "wordnet":
        real = wordnet_words()
        if not real:
            raise DataError("the 'wordnet' vocabulary needs WordNet installed (scripts/install_wordnet.sh).")
        real = [real[i] for i in rng.permutation(len(real))[:n]]
    taken = set(real)
    out = list(real)
    i = 0
    while len(out) < n:
        w = syllable_word(i)
        i += 1
        if w not in taken:
            out.append(w)
    return out


def generate_split(p: SyntheticPreset, n: int, label_cdf: np.ndarray, label_of_rank: np.ndarray,
                   word_cdf: np.ndarray, word_of_rank: np.ndarray, label_words: np.ndarray,
                   rng: np.random.Generator, cover: bool) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """One split -> X csr (n, F) binary word presence float32, Y csr (n, L) binary float32.

    label_words: (L, words_per_label) int32, each label's own words. ``cover``: every label is given
    to at least one document when there are enough label slots (n * labels_per_doc >= L).
    """
    L, F = p.n_labels, p.n_features
    k = np.minimum(1 + rng.poisson(p.labels_per_doc - 1.0, size=n), min(p.max_labels_per_doc, L))
    doc_of_slot = np.repeat(np.arange(n, dtype=np.int32), k)
    slot_label = label_of_rank[draw(label_cdf, rng, doc_of_slot.size)].astype(np.int32)
    if cover:
        # each label replaces one randomly chosen slot: its one guaranteed document (the tail stays thin)
        m = min(L, slot_label.size)
        slot_label[rng.permutation(slot_label.size)[:m]] = rng.permutation(L)[:m].astype(np.int32)
    Y = sp.csr_matrix((np.ones(slot_label.size, dtype=np.float32), (doc_of_slot, slot_label)), shape=(n, L))
    Y.sum_duplicates()
    Y.data[:] = 1.0
    m = p.words_from_label
    picks = rng.integers(0, p.words_per_label, size=(slot_label.size, m))
    label_cols = label_words[slot_label[:, None], picks].ravel()
    noise_cols = word_of_rank[draw(word_cdf, rng, n * p.noise_words)].astype(np.int32)
    rows = np.concatenate([np.repeat(doc_of_slot, m), np.repeat(np.arange(n, dtype=np.int32), p.noise_words)])
    cols = np.concatenate([label_cols, noise_cols])
    del label_cols, noise_cols, picks
    X = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, F))
    X.sum_duplicates()
    X.data[:] = 1.0  # presence, not counts
    return X, Y


def generate_arrays(p: SyntheticPreset, seed: int = 0, vocabulary: str = "syllables",
                    progress: ProgressFn | None = None):
    """-> (Xtr, Ytr, Xte, Yte, feature names, label names): X csr (n, F), Y csr (n, L), float32.
    Deterministic for (p, seed, vocabulary)."""
    p.validate()
    rng = np.random.default_rng(seed)
    L, F = p.n_labels, p.n_features
    report(progress, 0.02, "label and word distributions")
    label_cdf = zipf_cdf(L, p.zipf_a, p.zipf_b)
    label_of_rank = rng.permutation(L)  # label ids carry no frequency order, as in real data
    word_cdf = zipf_cdf(F, p.word_zipf_a, p.word_zipf_b)
    word_of_rank = rng.permutation(F)
    label_words = word_of_rank[draw(word_cdf, rng, (L, p.words_per_label))].astype(np.int32)
    names_by_rank = word_names(F, vocabulary, np.random.default_rng([seed, 1]))
    feature_names = [""] * F
    for r, j in enumerate(word_of_rank):
        feature_names[j] = names_by_rank[r]
    report(progress, 0.1, f"training split ({p.n_train:,} documents)")
    Xtr, Ytr = generate_split(p, p.n_train, label_cdf, label_of_rank, word_cdf, word_of_rank, label_words, rng,
                              cover=True)
    report(progress, 0.7, f"test split ({p.n_test:,} documents)")
    Xte, Yte = generate_split(p, p.n_test, label_cdf, label_of_rank, word_cdf, word_of_rank, label_words, rng,
                              cover=False)
    label_names = [f"{p.name}-label{j}" for j in range(L)]
    return Xtr, Ytr, Xte, Yte, feature_names, label_names


def generate_dataset(preset_name: str, name: str | None = None, seed: int = 0, n_train: int | None = None,
                     n_test: int | None = None, vocabulary: str = "syllables", budget_bytes: int | None = None,
                     progress: ProgressFn | None = None, **overrides) -> GeneratedSummary:
    """Generate a preset (fields overridable, e.g. n_labels for a small test) and store it as dataset
    ``name`` (default 'synth-<preset>'); then ``load_dataset(name)`` serves it everywhere.

    Refuses up front (DataError with the estimate) when the estimated peak memory is over the budget
    (default: engine.data.xc_import.memory_budget(), a share of the memory available now).
    """
    t0 = time.perf_counter()
    p = preset(preset_name, n_train=n_train, n_test=n_test, **overrides)
    name = check_name(name or f"synth-{p.name}")
    need = estimate_bytes(p)
    budget = memory_budget() if budget_bytes is None else budget_bytes
    if need > budget:
        raise DataError(f"generating {p.name} with {p.n_train:,} + {p.n_test:,} documents, {p.n_labels:,} labels and "
                        f"~{p.words_per_doc:.0f} words per document needs about {gb_text(need)} of memory; {gb_text(budget)} "
                        "is available to it. Ask for fewer documents (--train / --test).")
    Xtr, Ytr, Xte, Yte, feature_names, label_names = generate_arrays(p, seed, vocabulary, progress)
    unseen = p.n_labels - int(np.unique(Ytr.indices).size)
    warnings = ["synthetic data: its shape copies " + p.mimics + ", its content is random (not the real benchmark)."]
    if unseen:
        warnings.append(f"{unseen:,} of the {p.n_labels:,} labels never appear in the training split (fewer label "
                        "slots than labels); a model cannot predict them.")
    description = (f"synthetic {p.name} (shape of {p.mimics}), seed {seed}, {vocabulary} words: {p.n_train:,} train / "
                   f"{p.n_test:,} test documents, {p.n_labels:,} labels with Zipf frequencies (a={p.zipf_a}, "
                   f"b={p.zipf_b}), ~{p.labels_per_doc} labels and ~{p.words_per_doc:.0f} word draws per document; "
                   "made by python -m engine generate.")
    report(progress, 0.9, "storing")
    folder = store_user_arrays(name, feature_names, label_names, Xtr, Ytr, Xte, Yte, "text", description, warnings)
    report(progress, 1.0, "done")
    return GeneratedSummary(name, p.name, seed, p.n_train, p.n_test, p.n_labels, p.n_features, int(Xtr.nnz), unseen,
                            need, round(time.perf_counter() - t0, 3), str(folder))
