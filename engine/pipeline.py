"""The facade: load datasets and models, train, predict, evaluate. The dashboard calls only this
module (and the result types it returns); the CLI uses it too.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.data import load_dataset
from engine.data import DATASETS, list_datasets  # noqa: F401
from engine.data.user_data import DEFAULT_LABEL_SEPARATOR  # noqa: F401
from engine.errors import InputError
from engine.labels import prefix_note
from engine.models.base import MAX_TOP_K, check_top_k  # noqa: F401  (MAX_TOP_K: the one maximum top-k)
from engine.plot_text import plot_text, plot_texts  # noqa: F401  (text drawn in charts, made inert)
from engine.models import families
from engine.models import first_start
from engine.models.families import format_model_id
from engine.child_process import run_in_child  # noqa: F401  (the dashboard runs trainings through it)
from engine.models.runtime import ensure_model, evaluate_model, forget_model, get_model, train_model  # noqa: F401
from engine.models.runtime import is_loaded as model_is_loaded  # noqa: F401
from engine.models.store import ModelInfo, ModelStore
from engine.types import Dataset, Document, Prediction
from engine.paths import storage_problems  # noqa: F401

FAMILIES = families.TRAINABLE


def model_id_for(family: str, robust: bool = False) -> str:
    return format_model_id(family, "robust" if robust else "baseline")


def default_params(family: str, ds: Dataset, **overrides):
    return families.family(family).default_params(ds, **overrides)


def list_models(dataset: str | None = None, store: ModelStore | None = None, include_damaged: bool = False) -> list[ModelInfo]:
    return (store or ModelStore()).list(dataset, include_damaged)


def predict_document(dataset: str, model_id: str, index: int, top_k: int = 5, split: str = "test",
                     store: ModelStore | None = None) -> tuple[Document, Prediction, list[list[int]]]:
    """One document's top-k labels (ground truth marked) and each label's tree path."""
    ds = load_dataset(dataset)
    model = get_model(dataset, model_id, store)
    top_k = check_top_k(top_k, model.n_labels)
    doc = ds.document(index, split)
    inp = ds.input_of(doc)
    pred = model.predict([inp] if ds.has_text else inp[None, :], top_k,
                         truth=[doc.labels])[0]
    paths = [model.label_path(x.label_id) for x in pred.labels]
    return doc, pred, paths


def score_split_document(dataset: str, model_id: str, index: int, top_k: int = 5, split: str = "test",
                         store: ModelStore | None = None):
    """How much of each top-k label's score comes from the encoder vs TF-IDF (engine/explain/score_split.py)."""
    from engine.explain.score_split import score_split

    ds = load_dataset(dataset)
    model = get_model(dataset, model_id, store)
    top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
    doc = ds.document(index, split)
    x = ds.input_of(doc)
    ids = model.predict([x] if ds.has_text else x[None, :], top_k)[0].label_ids
    return score_split(model, x, ids)


def predict_text(dataset: str, model_id: str, text: str, top_k: int = 5, store: ModelStore | None = None) -> Prediction:
    """Predict labels for free text typed by a user (text datasets only)."""
    from engine.text_input import check_text

    model = get_model(dataset, model_id, store)
    if model.input_kind != "text":
        raise InputError("this model reads numeric features, not text.")
    return model.predict([check_text(text)], check_top_k(top_k, model.n_labels))[0]


FREQUENCY_POINTS = 256   # most label ranks the label-frequency curve holds (log-spaced beyond that)
FREQUENCY_EXTREMES = 15  # most / least frequent labels listed by name
LABEL_SEARCH_LIMIT = 20  # label search: most matches returned


def label_frequency_summary(counts: np.ndarray, label_names: list[str], index=None) -> dict[str, Any]:
    """The label-frequency distribution in a size bounded in the label count L (whatever L is).

    counts: (L,) training documents per label. -> {
      "n_labels": L, "unseen": labels with no training document, "max" / "median": counts,
      "rank": 1-based ranks (labels by count, descending; ties by id), every rank when L <= FREQUENCY_POINTS,
              else FREQUENCY_POINTS log-spaced ones from 1 to L (exact counts at those ranks),
      "count": the count at each of those ranks, "label": the raw name at each of them,
      "bins": {"lower": [0, 1, 2, 4, ...], "labels": labels whose count is in [lower_i, lower_i+1) (the last bin
              runs to "max")},
      "top" / "bottom": [(raw name, count)] of the FREQUENCY_EXTREMES most / least frequent labels,
      "names_note": what the display names drop (engine.labels.prefix_note) }."""
    counts = np.asarray(counts, dtype=np.int64).ravel()
    L = counts.size
    order = np.argsort(-counts, kind="stable")  # (L,) label ids by count, descending
    if L <= FREQUENCY_POINTS:
        ranks = np.arange(1, L + 1)
    else:
        ranks = np.unique(np.round(np.geomspace(1, L, FREQUENCY_POINTS)).astype(np.int64))
    picked = order[ranks - 1]
    top_count = int(counts.max()) if L else 0
    lower = [0] + [2 ** e for e in range(int(top_count).bit_length())]  # 0, then powers of two up to the max
    per_bin = np.bincount(np.searchsorted(lower, counts, side="right") - 1, minlength=len(lower))
    return {"n_labels": int(L), "unseen": int(np.count_nonzero(counts == 0)), "max": top_count,
            "median": float(np.median(counts)) if L else 0.0, "rank": ranks.tolist(),
            "count": counts[picked].tolist(), "label": [label_names[int(j)] for j in picked],
            "bins": {"lower": lower, "labels": per_bin.tolist()},
            "top": [(label_names[int(j)], int(counts[j])) for j in order[:FREQUENCY_EXTREMES]],
            "bottom": [(label_names[int(j)], int(counts[j])) for j in order[max(FREQUENCY_EXTREMES, L - FREQUENCY_EXTREMES):]]
            if L > FREQUENCY_EXTREMES else [],
            "names_note": prefix_note(index.prefix if index is not None else "")}


def dataset_stats(dataset: str) -> dict[str, Any]:
    """Sizes and the label-frequency summary (label_frequency_summary): bounded in the label count,
    so a page can draw it at 670K labels."""
    ds = load_dataset(dataset)
    out = {"name": ds.name, "display_name": ds.display_name, "is_sample": ds.is_sample, "kind": ds.kind,
           "n_features": ds.n_features, "n_labels": ds.n_labels}
    for part in ("train", "test"):
        s = ds.split(part)
        out[f"n_{part}"] = s.n
        out[f"labels_per_row_{part}"] = float(s.Y.sum() / max(s.n, 1))
        out[f"features_per_row_{part}"] = float(s.X.getnnz() / max(s.n, 1))
    out["label_frequency"] = label_frequency_summary(ds.label_train_counts, ds.label_names, ds.label_index)
    return out


def find_labels(dataset: str, query: str, limit: int = LABEL_SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Labels whose display name contains ``query`` (case-insensitive): exact match first, then names
    starting with it, then the rest, at most ``limit`` -> [{"id", "name" (raw), "display", "train_docs"}].
    Searches one string per dataset (engine.labels.LabelIndex), never a list of every label."""
    ds = load_dataset(dataset)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        raise InputError(f"label search limit must be a whole number from 1 to 1000, got {limit!r}.")
    index, counts = ds.label_index, ds.label_train_counts
    return [{"id": j, "name": ds.label_names[j], "display": index.display(j), "train_docs": int(counts[j])}
            for j in index.search(query if isinstance(query, str) else "", limit)]


def label_display(dataset: str):
    """Raw label name -> display name, only for names that differ (a read-only Mapping looked up one
    name at a time: engine.labels.LabelIndex; empty when every name shows as it is)."""
    return load_dataset(dataset).label_index


def _rows_with_columns(M, cols) -> np.ndarray:
    """Row ids (sorted) of csr ``M`` (n, m) with a non-zero in any of ``cols``: O(nnz), no column slice."""
    hit = np.isin(M.indices, np.asarray(list(cols), dtype=M.indices.dtype)) & (M.data != 0)
    return np.unique(np.searchsorted(M.indptr, np.flatnonzero(hit), side="right") - 1)


def search_documents(dataset: str, word: str | None = None, label: str | None = None, split: str = "test",
                     limit: int = 200) -> list[int]:
    """Document ids (ascending, at most ``limit``) whose text has ``word`` and/or whose true labels
    include ``label`` (a raw label name). Sparse: the label's and the word's non-zeros are found in
    the csr arrays, never a dense column."""
    ds = load_dataset(dataset)
    s = ds.split(split)
    ids = np.arange(s.n)
    if label:
        try:
            j = ds.label_names.index(label)
        except ValueError:
            raise InputError(f"unknown label {label!r} in {ds.name}.") from None
        ids = _rows_with_columns(s.Y, [j])
    if word:
        w = word.strip().lower()
        if not ds.has_text:
            raise InputError(f"{ds.display_name} has no text to search.")
        if ds.n_features and s.X.shape[1] == ds.n_features:
            # pseudo-text is exactly the active features' names: a word is in a text iff its feature is on
            ids = np.intersect1d(ids, _rows_with_columns(s.X, [k for k, n in enumerate(ds.feature_names) if n == w]))
        else:  # real text (an uploaded CSV)
            ids = np.array([i for i in ids if w in s.texts[i].split()], dtype=np.int64)
    return [int(i) for i in ids[:limit]]


# -- forwards to the feature packages (imported lazily: torch / ART / NLTK load only when used) --
def _forward(module: str, name: str):
    def call(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name  # picklable by reference (engine.pipeline.NAME), e.g. for a child process
    call.__module__ = __name__
    call.__doc__ = f"See {module}.{name}."
    return call


explain_document = _forward("engine.explain.api", "explain_document")
explanation_is_cached = _forward("engine.explain.api", "cache_has")
cached_explanation = _forward("engine.explain.api", "cached_explanation")
bertviz_html = _forward("engine.explain.api", "bertviz_html")
attention_heatmap = _forward("engine.explain.api", "attention_heatmap")
faithfulness_table = _forward("engine.explain.faithfulness_table", "faithfulness_table")
attack_document = _forward("engine.attacks.api", "attack_document")
evaluate_robustness = _forward("engine.attacks.robustness", "evaluate_robustness")
robustness_curve = _forward("engine.attacks.robustness", "robustness_curve")
train_robust = _forward("engine.robust.adversarial_training", "train_robust")


import_user_dataset = _forward("engine.data.user_data", "import_user_dataset")
list_user_datasets = _forward("engine.data.user_data", "list_user_datasets")


__all__ = ["DATASETS", "FAMILIES", "load_dataset", "train_model", "evaluate_model", "get_model", "ensure_model",
           "list_models", "predict_document", "predict_text", "dataset_stats", "search_documents",
           "find_labels", "label_display", "label_frequency_summary",
           "model_id_for", "explain_document", "explanation_is_cached", "cached_explanation",
           "bertviz_html",
           "faithfulness_table",
           "attention_heatmap", "attack_document", "evaluate_robustness", "robustness_curve", "train_robust",
           "import_user_dataset", "list_user_datasets", "storage_problems"]


# -- the registries the interfaces build their menus, options, defaults and help texts from --------
# (imported when asked: the attack, explanation and defence modules load their libraries lazily)
def attacks() -> dict:
    """name -> AttackSpec (title, space, needs, help, params with defaults and bounds), menu order."""
    from engine.attacks.registry import ATTACKS

    return dict(ATTACKS)


def attack_goals() -> dict:
    """name -> Goal class (help, needs_target)."""
    from engine.attacks.goals import GOAL_CLASSES

    return dict(GOAL_CLASSES)


def explainers() -> dict:
    """name -> ExplainerSpec (title, help, needs, uses_samples), menu order."""
    from engine.explain.registry import EXPLAINERS

    return dict(EXPLAINERS)


def explainers_for(dataset: str, model_id: str, store: ModelStore | None = None) -> tuple[list[str], dict[str, str]]:
    """The explanation methods that can explain this saved model, and why each other one cannot."""
    from engine.explain.registry import methods_for

    info = (store or ModelStore()).info(dataset, model_id)
    params = info.manifest.get("params")
    return methods_for(info.family, info.manifest.get("input_kind", ""), params if isinstance(params, dict) else None)


def model_families() -> dict:
    """name -> ModelFamily (title, help, needs_text, trainable)."""
    return dict(families.FAMILIES)


def defences() -> dict:
    """variant -> DefenceSpec (title, help, wraps, families)."""
    from engine.robust.registry import DEFENCES

    return dict(DEFENCES)


def defence_of(model_id: str):
    """The DefenceSpec that makes a model id (None for a baseline)."""
    from engine.robust.registry import defence_for_model_id

    return defence_for_model_id(model_id)[1]


def train_defended(dataset: str, model_id: str, store: ModelStore | None = None, progress=None) -> ModelInfo:
    """Make a robust model id (xlinear-robust, xlinear-advhsj, xlinear-smoothed, ...) from its baseline."""
    from engine.robust.registry import train_defended as train

    return train(dataset, model_id, store=store, progress=progress)


def trainable_model_ids(dataset: str) -> list[str]:
    """Every model id that can be trained for this dataset (baselines first, then each defence)."""
    ds_has_text = load_dataset(dataset).has_text
    out = []
    for fam in families.TRAINABLE:
        if families.FAMILIES[fam].needs_text and not ds_has_text:
            continue
        out.append(format_model_id(fam))
    for variant, spec in defences().items():
        if spec.needs_text and not ds_has_text:
            continue
        for fam in spec.families:
            if fam in out:
                out.append(format_model_id(fam, variant))
    return out


# -- ready at first start (engine/models/first_start.py): the default dataset's X-Transformer, trained
# once in the background; one claim file per dataset shared by every server; XTRUST_AUTO_TRAIN=0 turns it off
DEFAULT_DATASET = first_start.DEFAULT_DATASET
AUTO_TRAIN_ENV = first_start.ENV
auto_train_enabled = first_start.enabled
first_start_status = first_start.status
claim_first_start = first_start.claim
run_first_start = first_start.run
first_start_in_child = first_start.uses_child_process
first_start_claimant = first_start.claimant
cancel_first_start = first_start.cancel
reset_first_start = first_start.reset

model_title = families.model_title
parse_model_id = families.parse_model_id
base_model_id = families.base_of


# -- certified robustness (engine/certify/): one document's certificate; the registry for menus --
certify_document = _forward("engine.certify.api", "certify_document")
certified_curve = _forward("engine.certify.curve", "certified_curve")
robustness_by_frequency = _forward("engine.attacks.by_frequency", "robustness_by_frequency")


def certificates_for(dataset: str, model_id: str, store: ModelStore | None = None) -> list[str]:
    """The certificates (names in engine.certify.CERTIFICATES, registry order) that fit this saved model
    and dataset: every model has the feature-view one; the word one needs a text model and text."""
    from types import SimpleNamespace

    info = (store or ModelStore()).info(dataset, model_id)
    model = SimpleNamespace(input_kind=info.manifest.get("input_kind", ""))
    ds = load_dataset(dataset)
    return [name for name, spec in list_certificates().items() if spec.is_compatible(model, ds)]


def list_certificates() -> dict:
    """name -> CertificateSpec (title, space, unit, params with defaults and bounds, is_compatible)."""
    from engine.certify import CERTIFICATES

    return dict(CERTIFICATES)


__all__ += ["certify_document", "certified_curve", "robustness_by_frequency", "certificates_for", "list_certificates", "attacks", "attack_goals", "explainers", "explainers_for",
            "model_families", "defences", "train_defended", "trainable_model_ids", "model_title", "parse_model_id",
            "base_model_id", "score_split_document", "DEFAULT_DATASET", "AUTO_TRAIN_ENV", "auto_train_enabled",
            "first_start_status", "claim_first_start", "run_first_start", "cancel_first_start", "reset_first_start", "MAX_TOP_K", "plot_text", "plot_texts", "DEFAULT_LABEL_SEPARATOR", "list_datasets"]


# -- a new user's pages: free text explained / attacked, vocabulary coverage, deleting an import,
#    WordNet warmed in the background (dashboard/pages/predict.py "Your own text", attack.py, your_data.py)
from engine.text_input import TOKEN_PATTERN  # noqa: E402,F401  (what counts as a word: the dashboard marks them)
from engine.labels import common_prefix_note as label_names_note  # noqa: E402,F401
def _text_model(dataset: str, model_id: str, store: ModelStore | None):
    model = get_model(dataset, model_id, store)
    if model.input_kind != "text":
        raise InputError("this model reads numeric features, not text.")
    return model


def _tfidf_vocabulary(model) -> dict:
    """The TF-IDF vocabulary a text model reads (XR-Linear's, the X-Transformer's; a wrapper's base's)."""
    for m in (model, getattr(model, "base", None)):
        vocab = getattr(getattr(m, "featurizer", None), "vocabulary", None)
        if vocab is not None:
            return vocab
    raise InputError(f"{model_title(getattr(model, 'family', ''))} has no word vocabulary to check a text against.")


def reads_raw_text(model) -> bool:
    """Whether the model also reads the raw text (an encoder), not only its TF-IDF vocabulary words."""
    return bool(families.FAMILIES[model.family].needs_text) if model.family in families.FAMILIES else False


def text_coverage(dataset: str, model_id: str, text: str, store: ModelStore | None = None):
    """Which words of a free text the model's TF-IDF vocabulary knows and which it ignores
    (engine.text_input.TextCoverage). The X-Transformer's encoder still reads every word."""
    from engine.text_input import vocabulary_coverage

    return vocabulary_coverage(text, _tfidf_vocabulary(_text_model(dataset, model_id, store)))


def _check_free_text(dataset: str, model_id: str, text: str, store):
    """-> (model, cleaned text, model key); refuses, before long work, a text no part of the model reads."""
    from engine.results_cache import model_key
    from engine.text_input import check_text, vocabulary_coverage

    text = check_text(text)
    model = _text_model(dataset, model_id, store)
    if not reads_raw_text(model) and not vocabulary_coverage(text, _tfidf_vocabulary(model)).known:
        raise InputError(f"none of the words of this text is in the vocabulary of {model_title(model_id)} on "
                         f"{dataset}: the model would ignore all of them. Use words of the dataset's domain.")
    store = store or ModelStore()
    return model, text, model_key(store.root, store.info(dataset, model_id).manifest)


def explain_text(dataset: str, model_id: str, text: str, method: str = "lime", top_k: int = 5, samples: int = 500,
                 n_features: int = 10, seed: int = 0, store: ModelStore | None = None, progress=None):
    """Explain the top-k labels of a free text (LIME / whole-score; any method the model supports) ->
    DocumentExplanation (doc_index -1, split "text"). Cached on disk by text and parameters."""
    import json
    import time

    from engine.explain.api import CACHE_VERSION, check_params, explain_input
    from engine.explain.result import DocumentExplanation
    from engine.results_cache import cached

    check_params(method, samples, n_features, seed)
    model, text, mkey = _check_free_text(dataset, model_id, text, store)
    top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
    uses_samples = explainers()[method].uses_samples  # check_params refused an unknown method
    key = {"v": CACHE_VERSION, "dataset": dataset, "model_id": model_id, "text": text, "method": method,
           "top_k": top_k, "samples": samples if uses_samples else None, "n_features": n_features, "seed": seed,
           **mkey}

    def compute():
        t0 = time.perf_counter()
        ids = model.predict([text], top_k)[0].label_ids
        labels = explain_input(model, text, ids, method=method, samples=samples, n_features=n_features, seed=seed,
                               progress=progress, top_k=top_k)
        params = {"top_k": top_k, "samples": key["samples"], "n_features": n_features, "seed": seed,
                  "labels": None, "model_created": mkey["model_created"], "text": True}
        return DocumentExplanation(dataset, model_id, -1, "text", method, params, labels,
                                   round(time.perf_counter() - t0, 4))

    return cached("explanations", (dataset, model_id), key, compute, dump=lambda r: json.dumps(r.to_json()),
                  load=lambda t: DocumentExplanation.from_json(json.loads(t)))


ATTACK_TEXT_PARAMS = frozenset({"eps", "norm", "max_iter", "max_eval", "learning_rate", "nb_parallel", "max_words"})


def attack_text(dataset: str, model_id: str, text: str, attack: str = "wordnet", goal: str = "top1",
                target_label: int | str | None = None, top_k: int = 5, seed: int = 0,
                store: ModelStore | None = None, progress=None, **params):
    """Attack a free text (any attack the model supports; ``params``: eps, norm, max_iter, max_words, ...
    as for attack_document, None = the attack's default) -> AttackResult. Cached on disk."""
    from engine.attacks.api import resolve_attack_params, run_attack
    from engine.attacks.registry import attack_spec
    from engine.attacks.result import AttackResult
    from engine.results_cache import cached

    attack_spec(attack)  # an unknown attack: the registry's message
    unknown = sorted(set(params) - ATTACK_TEXT_PARAMS)
    if unknown:
        raise InputError(f"unknown attack parameter(s) {', '.join(unknown)}: use {', '.join(sorted(ATTACK_TEXT_PARAMS))}.")
    model, text, mkey = _check_free_text(dataset, model_id, text, store)
    top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
    # the attack's own parameters as run (defaults filled in), the same resolution attack_document keys on
    resolved, _ = resolve_attack_params(attack, **{k: v for k, v in params.items() if k not in ("eps", "norm")})
    own = set(resolved)
    key = {"dataset": dataset, "model_id": model_id, "text": text, "attack": attack, "goal": goal,
           "target_label": None if target_label is None else str(target_label), "top_k": top_k,
           "params": resolved, "given": {k: v for k, v in sorted(params.items()) if k not in own}, "seed": seed,
           **mkey}

    def compute():
        res = run_attack(model, text, attack=attack, goal=goal, target_label=target_label, top_k=top_k, seed=seed,
                         progress=progress, **params)
        res.params.update({"dataset": dataset, "model_id": model_id, "text": True})
        return res

    return cached("attacks", (dataset,), key, compute, dump=AttackResult.to_json, load=AttackResult.from_json)


def warm_up_wordnet(words=()) -> None:
    """Load WordNet (and the synonyms of ``words``) in a background thread, once per process, so that
    the first WordNet attack does not wait for it (engine.wordnet.warm_up)."""
    from engine.wordnet import warm_up

    warm_up(tuple(words))


def warm_up_attacks() -> None:
    """Import IBM ART (~8 s cold on these cores) in a background thread, once per process, so the first
    HopSkipJump / ZOO / Boundary attack does not sit on 'loading ART' (engine.attacks.registry.warm_up)."""
    from engine.attacks.registry import warm_up

    warm_up()


def warm_up_explainers(dataset: str, model_id: str, store=None) -> bool:
    """When the model is loaded in this process: start, in background threads, what its explanations' first
    call would wait for (Captum's import for the X-Transformer, PECOS' Python weights for XR-Linear;
    engine.explain.registry.warm_up) -> whether it was started. A model not in memory is never loaded here."""
    from engine.explain.registry import warm_up

    if not model_is_loaded(dataset, model_id, store):
        return False
    warm_up(get_model(dataset, model_id, store))
    return True


def wait_for_warm_ups(timeout: float | None = None) -> float:
    """Wait for what this process warms in the background (ART, WordNet, the explainers' warm-up;
    engine.background) -> seconds waited. For benchmarks that time a server once it has settled."""
    from engine.background import wait_all

    return wait_all(timeout)


RESULT_KINDS_KEPT = ("datasets", "user_datasets")  # cache_dir() folders that are not per-dataset results


def delete_user_dataset(name: str, store: ModelStore | None = None) -> dict:
    """Delete an imported dataset: its stored files, then its saved models and its cached results
    (explanations, attacks, certificates, robustness: every results folder named after it). Each is
    renamed aside, then removed. Refuses built-ins, unknown names and an import in progress.
    -> {"dataset": name, "models": [removed model ids], "result_folders": n}."""
    from engine.atomic import swap_lock
    from engine.data.user_data import delete_user_dataset as delete_files, remove_folder_atomic
    from engine.paths import cache_dir

    store = store or ModelStore()
    delete_files(name)  # raises, removing nothing, when the name may not be deleted
    removed = []
    folder = store.root / name
    if folder.is_dir():
        with swap_lock(folder):  # a model save's swap holds this lock
            for p in sorted(folder.iterdir()):
                if p.is_dir() and not p.name.startswith("."):
                    remove_folder_atomic(p)
                    forget_model(name, p.name, store)
                    removed.append(p.name)
    n_results = 0
    root = cache_dir()
    for kind in (sorted(root.iterdir()) if root.is_dir() else []):
        if kind.is_dir() and kind.name not in RESULT_KINDS_KEPT and (kind / name).is_dir():
            remove_folder_atomic(kind / name)
            n_results += 1
    return {"dataset": name, "models": removed, "result_folders": n_results}


__all__ += ["TOKEN_PATTERN", "label_names_note", "text_coverage", "explain_text", "attack_text", "warm_up_wordnet", "delete_user_dataset"]
