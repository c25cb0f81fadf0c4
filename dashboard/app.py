"""XTrust dashboard entry point: ``streamlit run dashboard/app.py``.

Builds the sidebar selection (dataset, model, document, top-k), mirrors it into the URL's query
parameters so a link reopens the same view, makes sure a first model exists, then runs the page
chosen in ``st.navigation``. Pages read the selection from :mod:`dashboard.state`.
"""
from __future__ import annotations

import logging
import sys
import threading
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import components as C  # noqa: E402
from dashboard import jobs  # noqa: E402
from dashboard import state as S  # noqa: E402
from engine import pipeline  # noqa: E402
from engine.errors import DataError, XTrustError  # noqa: E402
from engine.pipeline import MAX_TOP_K  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
st.set_page_config(page_title="XTrust", page_icon=":material/search:", layout="wide")
st.html(f"<style>{S.css()}</style>")

PAGES_DIR = Path(__file__).resolve().parent / "pages"
# (url name, file, title, icon); the first is the one "/" opens
PAGE_SPECS = [
    ("overview", "overview.py", "Overview", ":material/bar_chart:"),
    ("predict", "predict.py", "Predict", ":material/label:"),
    ("explain", "explain.py", "Explain", ":material/lightbulb:"),
    ("attack", "attack.py", "Attack", ":material/bolt:"),
    ("compare", "compare.py", "Compare", ":material/compare:"),
    ("your-data", "your_data.py", "Your data", ":material/upload_file:"),
]
# Every page keeps its own url path (Streamlit serves its default page at "" only, so /overview would be
# "page not found"): the default is a hidden page that is never drawn, only forwarded from (see open_page)
PAGES = [st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=name) for name, file, title, icon in PAGE_SPECS]
PAGE_BY_NAME = {name: page for (name, *_), page in zip(PAGE_SPECS, PAGES)}


def _forwarding_page() -> None:
    """Body of the hidden pages; open_page switches away from them before any page runs."""
    st.switch_page(PAGES[0])


START_PAGE = st.Page(_forwarding_page, title=PAGE_SPECS[0][2], url_path="start", default=True, visibility="hidden")


def page_name(value: str | None) -> str | None:
    """A link's page value -> the page's url name, or None if no page has it. Accepts a page's url
    name, its file stem or title in any case, with or without slashes ("/Overview/", "your_data")."""
    key = (value or "").strip().strip("/").lower().replace("_", "-").replace(" ", "-")
    return key if key in PAGE_BY_NAME else None


def _requested_path() -> str:
    """The last segment of the browser's URL path ("Overview" for http://host/Overview/), "" if none."""
    return urllib.parse.unquote(urllib.parse.urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1])


SLIDER_MAX_TOP_K = 10
ss = st.session_state
K_URL_ASKED, K_URL_NOTES = "_url_asked", "_url_notes"  # the link's raw values / messages about them


@st.cache_resource(max_entries=1)
def _train_lock() -> threading.Lock:
    return threading.Lock()


def _load_query_params() -> None:
    """Once per session: take dataset / model / doc / top-k from the URL (validated later)."""
    if ss.get(S.K_QP_LOADED):
        return
    ss[S.K_QP_LOADED] = True
    qp = st.query_params
    ss[K_URL_ASKED] = {k: qp[k] for k in ("dataset", "model", "doc") if qp.get(k)}
    notes = ss.setdefault(K_URL_NOTES, [])
    if qp.get("dataset"):
        ss[S.K_DATASET] = qp["dataset"]
    if qp.get("model"):
        ss[S.K_MODEL] = qp["model"]
    try:
        ss[S.K_DOC] = max(0, int(qp.get("doc", 0)))
    except ValueError:
        ss[S.K_DOC] = 0
        notes.append(f"The link's document id {qp['doc']!r} is not a whole number; showing document 0.")
    if qp.get("topk"):  # validated against the dataset's label count when the slider is drawn
        try:
            ss[S.K_TOPK] = max(1, int(qp["topk"]))
        except ValueError:
            notes.append(f"The link's top-k {qp['topk']!r} is not a whole number; showing the top 5.")
    page = qp.get("page")
    ss["_wanted_page"] = page_name(page)
    if page and page_name(page) is None:
        notes.append(f"The link's page {page!r} does not exist (pages: {', '.join(PAGE_BY_NAME)}); "
                     "showing the overview.")


def _check_url_selection(datasets: list[str], model_ids: list[str] | None, n_docs: int | None) -> None:
    """After the sidebar validated the selection: say which of the link's values were replaced.
    Called first with the datasets only, then (once the dataset loaded) with its models and size."""
    asked = ss.get(K_URL_ASKED)
    if not asked:
        return
    notes = ss.setdefault(K_URL_NOTES, [])
    wanted_dataset = asked.pop("dataset", None)
    if wanted_dataset is not None and wanted_dataset not in datasets:
        notes.append(f"The link's dataset {wanted_dataset!r} is not available here "
                     f"(available: {', '.join(datasets)}); showing {ss[S.K_DATASET]}.")
        asked.pop("model", None)  # a model id means nothing for another dataset
    if model_ids is None:
        return
    wanted_model = asked.pop("model", None)
    if wanted_model is not None and wanted_model not in model_ids:
        notes.append(f"The link's model {wanted_model!r} is not trained for {ss[S.K_DATASET]} "
                     f"(trained: {', '.join(model_ids)}); showing {ss[S.K_MODEL]}.")
    doc = asked.pop("doc", "")
    if n_docs is not None and doc.lstrip("-").isdigit() and not 0 <= int(doc) < n_docs:
        notes.append(f"The link's document {doc} is outside the test split (ids 0–{n_docs - 1}); "
                     f"showing document {ss[S.K_DOC]}.")


def show_url_notes() -> None:
    """The link's replaced values, shown once on the page the user lands on."""
    for msg in ss.pop(K_URL_NOTES, []):
        st.warning(msg, icon=":material/link_off:")


def bound(widget, label: str, canon: str, *args, on_change=None, **kwargs):
    """A widget whose value lives under ``canon`` in session_state, not under the widget's key.

    Streamlit deletes a widget's state on any run that does not draw it (an early return, a page
    that stops); the canonical copy survives that, and the widget is re-seeded from it each run.
    """
    wkey = f"w_{canon}"
    ss[wkey] = ss[canon]

    def changed():
        ss[canon] = ss[wkey]
        if on_change is not None:
            on_change()

    return widget(label, *args, key=wkey, on_change=changed, **kwargs)


def _on_dataset_change() -> None:
    ss[S.K_DOC] = 0
    ss.pop(S.K_MODEL, None)
    ss[S.K_SEARCH_WORD], ss[S.K_SEARCH_LABEL], ss[S.K_SEARCH_LABEL_QUERY] = "", "", ""
    ss.pop("sel_match", None)


def _random_doc(n: int) -> None:
    """Pick a document with the seed, then advance the seed so the next click gives another one."""
    seed = int(ss.get(S.K_SEED, 0))
    ss[S.K_DOC] = int(np.random.default_rng(seed).integers(n))
    ss[S.K_SEED] = seed + 1


def _pick_match() -> None:
    if ss.get("sel_match") is not None:
        ss[S.K_DOC] = int(ss["sel_match"])


def _ensure_first_model(dataset: str) -> None:
    """A dataset with no model at all gets XR-Linear, trained here in seconds."""
    with st.status(f"First run on {dataset}: training XR-Linear (a few seconds)…", expanded=True) as status:
        bar = st.progress(0.0)
        with _train_lock():
            if not pipeline.list_models(dataset):
                pipeline.ensure_model(dataset, "xlinear", progress=lambda f, m="": bar.progress(f, text=m) or True)
        status.update(label=f"XR-Linear trained on {dataset}.", state="complete", expanded=False)
    S.clear_model_caches()


def sidebar() -> None:
    sb = st.sidebar
    # a folder that cannot be read or written says so now, not when a training job tries to save
    for msg in pipeline.storage_problems():
        sb.warning(msg, icon=":material/folder_off:")
    datasets = list(S.BUILTIN_DATASETS) + [d for d in S.user_datasets() if d not in S.BUILTIN_DATASETS]
    if ss.get(S.K_DATASET) not in datasets:
        ss[S.K_DATASET] = pipeline.DEFAULT_DATASET
    _check_url_selection(datasets, None, None)
    dataset = bound(sb.selectbox, "Dataset", S.K_DATASET, datasets, on_change=_on_dataset_change)
    ss[S.K_READY] = (False, "")
    try:
        stats = S.dataset_stats(dataset)
    except DataError as exc:
        ss[S.K_READY] = (False, str(exc))
        return
    except XTrustError as exc:
        ss[S.K_READY] = (False, str(exc))
        return
    except Exception as exc:
        logging.getLogger("xtrust.dashboard").exception("dataset %s failed to load", dataset)
        ss[S.K_READY] = (False, f"{dataset} could not be loaded ({type(exc).__name__}); see the server log.")
        return
    if stats.get("is_sample"):
        sb.caption(f"{dataset}: the 2,500-row **sample** (full files absent)")

    models = S.model_manifests(dataset)
    if not models:
        res = C.call(_ensure_first_model, dataset, what="training the first model")
        if C.failed(res):
            ss[S.K_READY] = (False, f"no model for {dataset} yet, and training one failed (see above).")
            return
        models = S.model_manifests(dataset)
    known = C.call(S.trainable_model_ids, dataset, what="the model list")
    known = [] if C.failed(known) else known
    ids = sorted(models, key=lambda m: (known.index(m) if m in known else len(known), m))
    if ss.get(S.K_MODEL) not in ids:
        ss[S.K_MODEL] = ids[0]
    bound(sb.selectbox, "Model", S.K_MODEL, ids, format_func=C.model_label)
    # the whole-score attribution's first call would wait for Captum's import (X-Transformer, ~0.5 s) or PECOS'
    # Python weights (XR-Linear, ~3 s at 670K labels): started in the background once the selected model is
    # in memory, so the Explain page's first result does not wait for them
    pipeline.warm_up_explainers(dataset, ss[S.K_MODEL])

    n = int(stats["n_test"])
    sb.markdown(f"**Document** (test split, ids 0–{n - 1})")
    ss[S.K_DOC] = min(max(int(ss.get(S.K_DOC, 0)), 0), n - 1)
    _check_url_selection(datasets, ids, n)
    bound(sb.number_input, "Document id", S.K_DOC, min_value=0, max_value=n - 1, step=1)
    ss.setdefault(S.K_SEED, 0)
    c1, c2 = sb.columns([1, 1], vertical_alignment="bottom")
    bound(c1.number_input, "Seed", S.K_SEED, min_value=0, step=1)
    c2.button("Random", icon=":material/casino:", on_click=_random_doc, args=(n,), width="stretch", key="sel_random")
    with sb.expander("Find a document", expanded=bool(ss.get(S.K_SEARCH_WORD) or ss.get(S.K_SEARCH_LABEL)
                                                        or ss.get(S.K_SEARCH_LABEL_QUERY))):
        if stats["kind"] == "text":
            ss.setdefault(S.K_SEARCH_WORD, "")
            bound(st.text_input, "Word in the text", S.K_SEARCH_WORD, placeholder="e.g. learning")
        # a label is found by typing part of its name: the engine returns the first matches, never a
        # menu of every label (670K options at Amazon-670K scale)
        ss.setdefault(S.K_SEARCH_LABEL_QUERY, "")
        bound(st.text_input, "Has true label", S.K_SEARCH_LABEL_QUERY, placeholder="type part of a label name")
        query = ss.get(S.K_SEARCH_LABEL_QUERY, "").strip()
        chosen = ss.setdefault(S.K_SEARCH_LABEL, "")
        if chosen and chosen not in S.label_names(dataset):
            chosen = ss[S.K_SEARCH_LABEL] = ""
        matches = C.call(S.find_labels, dataset, query, what="label search") if query else []
        matches = [] if C.failed(matches) else matches
        names = [m["name"] for m in matches]
        options = [""] + ([chosen] if chosen and chosen not in names else []) + names
        if len(options) > 1:
            display = S.label_display(dataset)
            shown = {m["name"]: f"{m['display']} ({m['train_docs']:,} training docs)" for m in matches}
            more = "+" if len(matches) >= pipeline.LABEL_SEARCH_LIMIT else ""
            bound(st.selectbox, f"{len(matches)}{more} matching labels" if query else "Label", S.K_SEARCH_LABEL,
                  options, format_func=lambda x: shown.get(x, display.get(x, x)) if x else "(any)")
        elif query:
            st.caption("no label matches")
        word, label = ss.get(S.K_SEARCH_WORD, "").strip(), ss.get(S.K_SEARCH_LABEL, "")
        if word or label:
            found = C.call(S.search_documents, dataset, word, label, what="search")
            if not C.failed(found):
                if found:
                    if ss.get("sel_match") not in found:
                        ss["sel_match"] = None
                    st.selectbox(f"{len(found)}{'+' if len(found) >= 200 else ''} matching documents", found,
                                 key="sel_match", index=None, placeholder="pick one", on_change=_pick_match)
                else:
                    st.caption("no document matches")
    # at most 10 on the slider (engine MAX_TOP_K is the hard limit); a small user dataset may have fewer labels
    max_k = max(1, min(SLIDER_MAX_TOP_K, MAX_TOP_K, int(stats["n_labels"])))
    ss[S.K_TOPK] = min(int(ss.get(S.K_TOPK, 5)), max_k)
    if max_k > 1:
        bound(sb.slider, "Top-k labels", S.K_TOPK, 1, max_k)
    ss[S.K_READY] = (True, "")


FIRST_START_JOB = "first-start:"  # + dataset: the background job of first-start training


def _start_first_training(dataset: str) -> None:
    """Claim and start the first-start X-Transformer training (at most one across every server). It runs
    in a child process, as every dashboard training does (a training thread would hold the interpreter
    lock and slow every session's pages while it runs); the child takes the claim over."""
    if pipeline.claim_first_start(dataset):
        in_child = pipeline.first_start_in_child()
        kwargs = {"handed_over_from": pipeline.first_start_claimant()} if in_child else {}
        jobs.start(FIRST_START_JOB + dataset, f"X-Transformer for {dataset}", pipeline.run_first_start, dataset,
                   restart=True, on_done=S.clear_model_caches, in_child=in_child, **kwargs)


def _train_again(dataset: str) -> None:
    pipeline.reset_first_start(dataset)
    _start_first_training(dataset)


def first_start() -> None:
    """Ready at first start: the default dataset's X-Transformer trains in the background without
    being asked (XR-Linear serves meanwhile); its progress, time left and Cancel are in the sidebar
    of every page and every session (engine/models/first_start.py holds the shared state)."""
    dataset = pipeline.DEFAULT_DATASET
    if not pipeline.auto_train_enabled():
        return
    res = C.call(_start_first_training, dataset, what="first-start training")
    if C.failed(res):
        return
    now = pipeline.first_start_status(dataset)
    if now is None:
        return

    @st.fragment(run_every=2.0 if now.running else None)
    def _progress():
        s = pipeline.first_start_status(dataset)
        if s is None or s.running != now.running:  # finished, cancelled or failed since the page was drawn
            S.clear_model_caches()
            st.rerun(scope="app")
        if s.running:
            st.progress(s.fraction, text=f"Training the X-Transformer for {dataset} (first start): {s.message} · "
                                         f"{s.fraction:.0%} · about {jobs.time_text(s.seconds_left())} left")
            st.button("Cancel", key="first-start-cancel", icon=":material/stop:",
                      on_click=pipeline.cancel_first_start, args=(dataset,))
        else:
            why = {"failed": f"failed: {s.error}", "cancelled": "cancelled"}.get(
                s.state, "interrupted (the server that trained it stopped); it starts again on the next page load")
            st.caption(f"First-start X-Transformer for {dataset}: {why}. XR-Linear serves meanwhile.")
            st.button("Train it now", key="first-start-again", icon=":material/refresh:",
                      on_click=_train_again, args=(dataset,))

    with st.sidebar:
        _progress()


def sync_query_params(page) -> None:
    dataset, model_id, doc, top_k = S.selection()
    want = {"dataset": dataset, "model": model_id, "doc": str(doc), "topk": str(top_k), "page": page.url_path}
    if dict(st.query_params) != want:
        st.query_params.from_dict(want)


def open_page():
    """st.navigation, then the page a link asked for: "/" opens the overview, a page's name in another
    case (/Overview, /PREDICT/) opens that page, ?page=NAME (checked in _load_query_params) wins."""
    requested = _requested_path()
    # Streamlit matches URL paths exactly: a page's name in another case gets a hidden page that forwards
    alias = page_name(requested) if requested and requested not in PAGE_BY_NAME else None
    extra = [st.Page(_forwarding_page, title=PAGE_BY_NAME[alias].title, url_path=requested, visibility="hidden")
             ] if alias else []
    nav = st.navigation([START_PAGE, *PAGES, *extra])
    wanted = ss.pop("_wanted_page", None)
    if nav is START_PAGE:
        wanted = wanted or PAGE_SPECS[0][0]
    elif extra and nav is extra[0]:
        wanted = wanted or alias
    if wanted and wanted != nav.url_path:  # the hidden pages' paths ("", "Overview") are no page's name
        # forwarded before the sidebar is drawn, so the landing costs one cheap extra run, not two full ones
        st.switch_page(PAGE_BY_NAME[wanted], query_params={k: v for k, v in st.query_params.items() if k != "page"})
    return nav


ss[C.K_THROUGH_APP] = True  # the pages check it (C.require_app): a first deep link can bypass this file
# IBM ART takes seconds to import, and an import thread slows every page it overlaps (the interpreter lock):
# started once per server process on its first page run, it is done before a user gets to Attack or Compare
pipeline.warm_up_attacks()
_load_query_params()
nav = open_page()
sidebar()
first_start()
sync_query_params(nav)
show_url_notes()
nav.run()
