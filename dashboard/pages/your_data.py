"""Your data: upload a CSV (text + labels), a Mulan ARFF with its label XML, or an Extreme
Classification Repository text file; import it, train XR-Linear on it in seconds, then use it on
every page (it appears in the sidebar's dataset list)."""
from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from dashboard import components as C
from dashboard import jobs
from dashboard import state as S
from engine import pipeline
from engine.pipeline import DEFAULT_LABEL_SEPARATOR  # the engine's one default

K_TRAIN_JOB = "ud_train_job"  # the training this session started here
MAX_UPLOAD_MB = 50  # also .streamlit/config.toml server.maxUploadSize; the engine checks again


def _precision(metrics: dict) -> str:
    """'P@1 / P@3 / P@5 = 61.0 / 40.2 / 30.1 %' from a model manifest's test metrics (fractions)."""
    ks = [k for k in ("P@1", "P@3", "P@5") if k in metrics]
    return f"test {' / '.join(ks)} = {' / '.join(f'{100 * metrics[k]:.1f}' for k in ks)} %" if ks else "no test metrics"


def _separator_in(cells) -> str | None:
    """The separator a CSV's label cells put between labels: the first of ; | , that some cell holds."""
    cells = [str(c) for c in cells if isinstance(c, str)]
    return next((sep for sep in SEPARATOR_GUESSES if any(sep in c for c in cells)), None)


SEPARATOR_GUESSES = (DEFAULT_LABEL_SEPARATOR, "|", ",")
C.require_app()
st.title("Your data")
st.markdown(
    "Upload **one** of:\n"
    "- a **CSV** with a text column and a label column (several labels in one cell, split by a separator);\n"
    "- a Mulan **ARFF** file together with its label **XML** file (labels matched to attributes by name);\n"
    "- an Extreme Classification Repository **text file** (`.txt`: a header line, then `labels feature:value …`).\n\n"
    "A single file is split 80 / 20 into train / test with a fixed seed. To keep an official split, upload a "
    "train file and a test file of the same kind (names containing `train` and `test`): they are kept as given.")
files = st.file_uploader("Files", type=["csv", "arff", "xml", "txt"], accept_multiple_files=True, key="ud_files")
ss = st.session_state
if files:
    too_big = [f.name for f in files if f.size > MAX_UPLOAD_MB * 2**20]
    if too_big:
        st.error(f"{', '.join(too_big)}: over the {MAX_UPLOAD_MB} MB upload limit.")
        st.stop()
    names = [f.name for f in files]
    csv = next((f for f in files if f.name.lower().endswith(".csv")), None)
    text_col = label_col = sep = None
    with st.form("ud-import"):
        name = st.text_input("Dataset name", key="ud_name", placeholder="lowercase letters, digits, - or _",
                             help="up to 40 characters: a-z, 0-9, '-' and '_'")
        if csv is not None:
            try:
                rows = pd.read_csv(io.BytesIO(csv.getvalue()), nrows=200, dtype=str)
                head = rows.head(5)
            except Exception as exc:  # shown, never raised: the engine gives the definitive message
                head = None
                st.warning(f"{csv.name} could not be previewed ({type(exc).__name__}); the import will say why.")
            if head is not None:
                st.dataframe(head, hide_index=True, width="stretch")
                cols = list(head.columns)
                c = st.columns(3)
                text_col = c[0].selectbox("Text column", cols, index=0, key="ud_text")
                label_col = c[1].selectbox("Label column", cols, index=min(1, len(cols) - 1), key="ud_label")
                # pre-filled with the separator the label cells use (a form's menus do not rerun, so it is
                # guessed from the default label column, once per file)
                found = _separator_in(rows[cols[min(1, len(cols) - 1)]]) if len(cols) > 1 else None
                if ss.get("ud_sep_for") != (csv.name, csv.size):
                    ss["ud_sep_for"], ss["ud_sep"] = (csv.name, csv.size), found or DEFAULT_LABEL_SEPARATOR
                sep = c[2].text_input("Label separator", max_chars=5, key="ud_sep",
                                      help="what separates the labels of one row" + (
                                          f"; `{found}` is the one found in this file's label column" if found else ""))
        go = st.form_submit_button("Import", type="primary")
    if go:
        with st.spinner(f"importing {', '.join(names)}…"):
            ds = C.call(pipeline.import_user_dataset, (name or "").strip(), {f.name: f.getvalue() for f in files},
                        text_column=text_col, label_column=label_col, label_separator=sep or None,
                        what="the import")
        if not C.failed(ds):
            S.forget_dataset()  # a re-import under the same name replaces every table derived from the old one
            ss[S.K_USER_IMPORT] = ds.name
            st.success(f"Imported **{ds.name}**: {ds.train.n} train / {ds.test.n} test rows, {ds.n_labels} labels, "
                       f"{'text' if ds.has_text else 'numeric features'}.")


imported = ss.get(S.K_USER_IMPORT)
if imported:
    st.subheader(f"Train XR-Linear on {imported}")
    ds = C.call(pipeline.load_dataset, imported, what="loading the dataset")
    if not C.failed(ds):
        st.caption(ds.description)
        for w in ds.warnings:
            st.warning(w)
    have = S.model_manifests(imported)
    if "xlinear" in have:
        st.success(f"XR-Linear is trained on {imported} ({_precision(have['xlinear'].get('metrics', {}))}).")
    # a job like every other training: its bar fills, Cancel stops it, and every session sees it running
    train_key = jobs.training_prefix(imported) + "xlinear"
    tjob = jobs.get(train_key)
    if tjob is not None and not tjob.running and ss.get(K_TRAIN_JOB) != train_key:
        tjob = None  # another session's finished training: its outcome is that session's to show
    if tjob is None or tjob.done:
        if st.button("Train XR-Linear" if "xlinear" not in have else "Retrain XR-Linear", type="primary",
                     key="ud_train"):
            tjob = jobs.start_training(imported, "xlinear", "XR-Linear", pipeline.train_model, imported, "xlinear",
                                       on_done=S.clear_model_caches)
            ss[K_TRAIN_JOB] = train_key
    jobs.panel(tjob, "ud-train")
    if tjob is not None and tjob.ok and tjob.result is not None:
        info = tjob.result
        seconds = float(info.manifest.get("train_seconds") or 0)
        took = f"{seconds:.1f} s" if seconds >= 0.1 else "under 0.1 s"
        st.success(f"Trained in {took}: {_precision(info.metrics)}.")

    def _use():
        ss[S.K_DATASET] = imported
        ss[S.K_DOC] = 0
        ss.pop(S.K_MODEL, None)

    st.button(f"Use {imported} everywhere", on_click=_use, key="ud_use")

users = S.user_datasets()
if users:
    st.caption("Imported datasets: " + ", ".join(users))
    with st.expander("Delete an imported dataset", expanded=bool(ss.get("ud_confirm"))):
        victim = st.selectbox("Imported dataset", users, key="ud_delete_name",
                              help="built-in datasets (BibTeX, Delicious, MediaMill) cannot be deleted")
        n_models = len(S.model_manifests(victim)) + len(S.damaged_models(victim))
        if st.button("Delete…", key="ud_delete"):
            ss["ud_confirm"] = victim
        if ss.get("ud_confirm") == victim:
            st.warning(f"Delete **{victim}**: its stored files, its {n_models} saved model(s) and its cached "
                       "explanations and attacks. This cannot be undone.")
            c1, c2 = st.columns(2)
            if c1.button(f"Yes, delete {victim}", type="primary", key="ud_delete_yes"):
                ss.pop("ud_confirm", None)
                out = C.call(pipeline.delete_user_dataset, victim, what="deleting the dataset")
                if not C.failed(out):
                    S.forget_dataset()
                    if ss.get(S.K_USER_IMPORT) == victim:
                        ss.pop(S.K_USER_IMPORT, None)
                    if ss.get(S.K_DATASET) == victim:  # the sidebar falls back to a built-in dataset
                        ss[S.K_DATASET], ss[S.K_DOC] = S.BUILTIN_DATASETS[0], 0
                        ss.pop(S.K_MODEL, None)
                    models = ", ".join(out["models"]) or "no model"
                    ss["ud_deleted"] = f"Deleted {victim} (removed: its files, {models}, {out['result_folders']} cached-result folder(s))."
                    st.rerun()
            if c2.button("Keep it", key="ud_delete_no"):
                ss.pop("ud_confirm", None)
                st.rerun()
if ss.get("ud_deleted"):
    st.success(ss.pop("ud_deleted"))
