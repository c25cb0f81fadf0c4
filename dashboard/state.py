"""The one place with Streamlit caches and session-state keys (background jobs: dashboard/jobs.py).

Pages never call ``st.cache_*`` themselves: they call the cached wrappers here, each a thin
pass-through to one ``engine.pipeline`` function. Every cached call takes the model's
``version`` (its manifest's creation time) so a retrained model never serves stale results.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import streamlit as st

from engine import pipeline
from engine.errors import XTrustError

log = logging.getLogger("xtrust.dashboard")

# -- session-state / query-param keys (the only names pages use) ------------------------------
K_DATASET = "sel_dataset"      # selected dataset name
K_MODEL = "sel_model"          # selected model id (xlinear, xtransformer, xlinear-robust, ...)
K_DOC = "sel_doc"              # selected test document index
K_TOPK = "sel_topk"            # top-k shown everywhere
K_SEED = "sel_seed"            # seed of the "random document" button
K_SEARCH_WORD = "sel_search_word"
K_SEARCH_LABEL = "sel_search_label"              # the chosen label's raw name ("" = any)
K_SEARCH_LABEL_QUERY = "sel_search_label_query"  # what was typed to find it
K_READY = "sel_ready"          # (ok: bool, message: str) -- is the selection usable by pages?
K_QP_LOADED = "_qp_loaded"     # query params read once per session
K_TRAIN_JOB = "train_job"      # key of the training job shown on the Overview page
K_ATTACK_JOB = "attack_job"    # key of the attack job shown on the Attack page
K_COMPARE_JOB = "compare_job"
K_ROBUST_JOB = "robust_job"
K_CURVE_JOB = "curve_job"
K_FAITH_JOB = "faith_job"      # key of the dataset-level faithfulness job on the Explain page
K_USER_IMPORT = "user_import"  # last imported user dataset name
QP = {"dataset": K_DATASET, "model": K_MODEL, "doc": K_DOC}

BUILTIN_DATASETS = ("bibtex", "delicious", "mediamill")
ASSETS = Path(__file__).resolve().parent.parent / "assets"


# -- cached engine calls -------------------------------------------------------------------------
@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def dataset_stats(dataset: str) -> dict:
    return pipeline.dataset_stats(dataset)


# Per-label tables are cache_resource (one shared read-only object), not cache_data: cache_data copies
# its value on every call, which for 670K label names is a large copy on every rerun of every page.
@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def label_names(dataset: str) -> tuple[str, ...]:
    """Label names indexed by label id (read-only, shared by every session)."""
    return tuple(pipeline.load_dataset(dataset).label_names)


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def find_labels(dataset: str, query: str) -> list[dict]:
    """Labels matching what was typed (pipeline.find_labels: first matches only, never every label)."""
    return pipeline.find_labels(dataset, query)


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def trainable_model_ids(dataset: str) -> list[str]:
    """Every model id the registries can make for this dataset (the sidebar asks on every rerun: loading
    an imported dataset to learn whether it has text is not free)."""
    return pipeline.trainable_model_ids(dataset)


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def feature_names(dataset: str) -> tuple[str, ...]:
    return tuple(pipeline.load_dataset(dataset).feature_names)


@st.cache_data(max_entries=32, ttl=5, show_spinner=False)
def model_manifests(dataset: str) -> dict[str, dict]:
    """model_id -> manifest of every usable saved model of ``dataset`` (short ttl: training adds
    models). Damaged ones are left out here: see ``damaged_models``."""
    return {i.model_id: i.manifest for i in pipeline.list_models(dataset)}


@st.cache_data(max_entries=32, ttl=5, show_spinner=False)
def damaged_models(dataset: str) -> dict[str, str]:
    """model_id -> why that saved model of ``dataset`` cannot be loaded (bad manifest, no checksums)."""
    return {i.model_id: i.damaged for i in pipeline.list_models(dataset, include_damaged=True) if i.damaged}


def model_version(dataset: str, model_id: str) -> str:
    return str(model_manifests(dataset).get(model_id, {}).get("created", ""))


@st.cache_data(max_entries=16, ttl=30, show_spinner=False)
def user_datasets() -> list[str]:
    """Names of imported user datasets (an unreadable store is logged and lists none)."""
    try:
        return list(pipeline.list_user_datasets())
    except XTrustError as exc:
        log.warning("list_user_datasets failed: %s", exc)
        return []


@st.cache_data(max_entries=512, ttl=3600, show_spinner=False)
def predict_document(dataset: str, model_id: str, index: int, top_k: int, version: str):
    return pipeline.predict_document(dataset, model_id, index, top_k)


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def score_split_document(dataset: str, model_id: str, index: int, top_k: int, version: str):
    return pipeline.score_split_document(dataset, model_id, index, top_k)


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def predict_text(dataset: str, model_id: str, text: str, top_k: int, version: str):
    return pipeline.predict_text(dataset, model_id, text, top_k)


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def search_documents(dataset: str, word: str | None, label: str | None) -> list[int]:
    return pipeline.search_documents(dataset, word=word or None, label=label or None)


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def explain_document(dataset: str, model_id: str, index: int, method: str, top_k: int, samples: int,
                     n_features: int, seed: int, version: str):
    return pipeline.explain_document(dataset, model_id, index, method=method, top_k=top_k, samples=samples,
                                     n_features=n_features, seed=seed)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def attention_heatmap(dataset: str, model_id: str, index: int, top_k: int, version: str):
    return pipeline.attention_heatmap(dataset, model_id, index, top_k)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def bertviz_html(dataset: str, model_id: str, index: int, view: str, version: str) -> str:
    return pipeline.bertviz_html(dataset, model_id, index, view=view)


@st.cache_data(max_entries=4, show_spinner=False)
def css() -> str:
    p = ASSETS / "style.css"
    return p.read_text() if p.is_file() else ""


def first_start_note(dataset: str) -> str | None:
    """What a page that needs the X-Transformer says while first-start training makes it: how long
    until it is ready (None when no such training runs for ``dataset``)."""
    from dashboard.jobs import time_text

    st_ = pipeline.first_start_status(dataset)
    if st_ is None or not st_.running:
        return None
    return (f"The X-Transformer for {dataset} is being trained in the background (first start): ready in about "
            f"{time_text(st_.seconds_left())}; the sidebar shows its progress.")


def clear_model_caches() -> None:
    """After a model is trained or a dataset imported: forget listings (results are versioned)."""
    model_manifests.clear()
    damaged_models.clear()
    user_datasets.clear()


# -- selection ------------------------------------------------------------------------------------
def selection() -> tuple[str, str, int, int]:
    """(dataset, model_id, doc index, top_k) chosen in the sidebar."""
    ss = st.session_state
    return ss.get(K_DATASET, pipeline.DEFAULT_DATASET), ss.get(K_MODEL, "xlinear"), int(ss.get(K_DOC, 0)), int(ss.get(K_TOPK, 5))


def ready() -> tuple[bool, str]:
    return st.session_state.get(K_READY, (False, "no selection yet"))


def session_results() -> dict:
    """Results of this session keyed by (kind, dataset, model, doc), used by the HTML report."""
    return st.session_state.setdefault("_results", {})


def remember(kind: str, value: Any) -> None:
    dataset, model_id, doc, _ = selection()
    res = session_results()
    res[(kind, dataset, model_id, doc)] = value
    if len(res) > 64:  # bounded: drop the oldest
        res.pop(next(iter(res)))


def recall(kind: str) -> Any:
    dataset, model_id, doc, _ = selection()
    return session_results().get((kind, dataset, model_id, doc))


# -- a new user's pages (Predict "Your own text", Attack, Your data, Overview) ----------------------
K_FREE_TEXT = "free_text"          # the text last predicted in Predict's "Your own text"
K_TEXT_EXPLAIN_JOB = "text_explain_job"
K_TEXT_ATTACK_JOB = "text_attack_job"
K_WORDNET_WARMED = "_wordnet_warmed"  # this session asked the engine to warm WordNet up


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def label_display(dataset: str):
    """Raw label name -> the name charts and tables show (engine/labels.py); only names that differ, a
    read-only Mapping looked up one name at a time (``.get(raw, raw)``). Downloads keep the raw names."""
    return pipeline.label_display(dataset)


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def text_coverage(dataset: str, model_id: str, text: str, version: str):
    return pipeline.text_coverage(dataset, model_id, text)


def forget_dataset() -> None:
    """After an imported dataset is deleted: forget every cached listing and dataset-derived table."""
    clear_model_caches()
    for fn in (dataset_stats, label_names, feature_names, label_display, search_documents, find_labels,
               trainable_model_ids):
        fn.clear()


# -- certified robustness ---------------------------------------------------------------------------
@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def certificates_for(dataset: str, model_id: str, version: str) -> list[str]:
    """Names of the certificates that fit this saved model and dataset (registry order)."""
    return pipeline.certificates_for(dataset, model_id)


K_CERT_CURVE_JOB = "cert_curve_job"  # key of the certified-vs-attacked job on the Compare page
K_FREQ_JOB = "freq_job"              # key of the robustness-by-label-frequency job on the Compare page
