"""Tables and text: results as DataFrames, numbers as strings, markup escaped."""
from __future__ import annotations

import difflib
import html
import json
from typing import Any, Iterable

import pandas as pd
import streamlit as st

from engine import pipeline

def model_label(model_id: str) -> str:
    """What a person reads for a model id (from the engine's family registry)."""
    return pipeline.model_title(model_id)


def truth_mark(is_true: bool | None) -> str:
    return "✓" if is_true else ("✗" if is_true is False else "–")


def _fmt(v) -> str:
    try:
        return f"{float(v):.3f}"
    except (TypeError, ValueError):
        return "–"


def shown(name: str, display: dict[str, str] | None = None) -> str:
    """A label's display name from a raw -> display map (state.label_display); the raw name without one."""
    return display.get(name, name) if display else name


def prediction_frame(pred, paths: list[list[int]] | None = None, display: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per top-k label. ``display``: raw -> display label names for the screen (state.label_display);
    leave it out for downloads, which keep the raw names."""
    rows = []
    for r, x in enumerate(pred.labels, 1):
        name = shown(x.name, display)
        row = {"rank": r, "label": name, "score": round(float(x.score), 4), "true": truth_mark(x.is_true)}
        if paths is not None:
            row["label-tree path"] = " → ".join(["root", *[f"c{c}" for c in paths[r - 1]], name])
        rows.append(row)
    return pd.DataFrame(rows)


def explanation_frame(expl) -> pd.DataFrame:
    rows = []
    for le in expl.labels:
        for word, w in le.weights:
            rows.append({"label": le.name, "label_id": le.label_id, "score": le.score, "is_true": le.is_true,
                         "word": word, "weight": float(w)})
    return pd.DataFrame(rows)


SCORE_NAMES = {"comprehensiveness": "comprehensiveness", "sufficiency": "sufficiency", "deletion_auc": "deletion AUC"}


def score_name(key: str) -> str:
    """An engine faithfulness key ("deletion_auc") as a person reads it ("deletion AUC")."""
    return SCORE_NAMES.get(key, key.replace("_", " "))


def explanation_display(expl) -> dict[str, str]:
    """Raw -> display label names of an explanation's dataset ({} when the dataset cannot be read)."""
    from dashboard import state

    try:
        return state.label_display(expl.dataset)
    except Exception:  # a deleted or damaged dataset: the raw names are shown
        return {}


def percent_text(fraction: float | None) -> str:
    """A small error given as a fraction, as readable % text: '0.42', '< 0.001' (below what the float
    scores resolve), 'n/a' (not computed)."""
    if fraction is None or fraction != fraction:
        return "n/a"
    pct = 100 * abs(float(fraction))
    return "< 0.001" if pct < 0.001 else f"{pct:.3g}"


def whole_score_frame(expl, display: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per explained label of a whole-score explanation: its display name, the encoder's share
    of its score (%) and the completeness error (% of the score the attributions fail to add up to)."""
    return pd.DataFrame([{"label": shown(le.name, display), "encoder share %": le.extra.get("encoder_share_pct"),
                          "completeness error %": percent_text(le.extra.get("completeness_error"))}
                         for le in expl.labels])


def encoder_share_frame(expl, display: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per explained label of an attention explanation: its display name and the encoder's share of
    its score (%), the part of the decision attention can speak for ('–' for a result cached without it)."""
    return pd.DataFrame([{"label": shown(le.name, display),
                          "encoder share %": "–" if le.extra.get("encoder_share_pct") is None
                          else f"{float(le.extra['encoder_share_pct']):.1f}"} for le in expl.labels])


def encoder_share_note(shares) -> str:
    """The caption beside an attention map: what share of the labels' scores attention can explain."""
    vals = [float(x) for x in (shares or []) if x is not None]
    if not vals:
        return ("Attention explains only the encoder half of the ranker's input; the TF-IDF half, which it cannot "
                "see, carries the rest of each score (Whole score shows both).")
    span = f"{min(vals):.0f} %" if round(min(vals)) == round(max(vals)) else f"{min(vals):.0f}–{max(vals):.0f} %"
    return (f"Attention explains only the encoder half of the ranker's input: {span} of these labels' evidence "
            "(encoder share, per label in the rows). The TF-IDF half, which attention cannot see, carries the rest "
            "(Whole score shows both).")


def faithfulness_frame(expl, display: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per explained label: its display name (``display``; None: the explanation's dataset's),
    its scores and the random baseline's (on screen only: downloads use explanation_frame's raw names)."""
    display = explanation_display(expl) if display is None else display
    rows = []
    for le in expl.labels:
        row = {"label": shown(le.name, display), "comprehensiveness": le.comprehensiveness,
               "sufficiency": le.sufficiency, "deletion AUC": le.deletion_auc}
        for k, v in (le.random_baseline or {}).items():
            row[f"random {score_name(k)}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def faithfulness_table_frame(res: dict) -> pd.DataFrame:
    """engine faithfulness_table result -> one row per method: mean scores and paired wins over random."""
    names = {**{m: spec.title for m, spec in pipeline.explainers().items()}, "random": "random order"}
    rows = []
    for m, row in res["table"].items():
        out = {"method": names.get(m, m), "comprehensiveness ↑": row["comprehensiveness"],
               "sufficiency ↓": row["sufficiency"], "deletion AUC ↓": row["deletion_auc"]}
        for k, label in (("comprehensiveness", "comp."), ("sufficiency", "suff."), ("deletion_auc", "AUC")):
            vs = res.get("vs_random", {}).get(m, {}).get(k)
            # wins / ties / losses against the random order; the random order itself: "–", never "None"
            out[f"vs random ({label}) win / tie / loss"] = "–" if vs is None else \
                f"{vs['wins']:.0%} / {vs['ties']:.0%} / {vs['losses']:.0%}"
        rows.append(out)
    return pd.DataFrame(rows)


def changed_frame(res) -> pd.DataFrame:
    rows = [{"name": n, "before": b, "after": a} for n, b, a in res.changed]
    df = pd.DataFrame(rows, columns=["name", "before", "after"])
    if res.space == "features" and len(df):
        df["change"] = pd.to_numeric(df["after"]) - pd.to_numeric(df["before"])
        df = df.reindex(df["change"].abs().sort_values(ascending=False).index)
    return df


def highlighted_html(token_weights: Iterable[tuple[str, float]]) -> str:
    """Words in text order, background coloured by weight (green supports, red opposes), escaped."""
    tw = [(str(w), float(v)) for w, v in token_weights]
    top = max((abs(v) for _, v in tw), default=0.0) or 1.0
    spans = []
    for word, v in tw:
        a = min(abs(v) / top, 1.0) * 0.85
        rgb = "26,152,80" if v >= 0 else "215,48,39"
        title = html.escape(f"{v:+.4f}", quote=True)
        spans.append(f'<span class="xt-tok" title="{title}" style="background: rgba({rgb},{a:.2f})">{html.escape(word)}</span>')
    return '<div class="xt-text">' + " ".join(spans) + "</div>"


def word_diff_html(before: str, after: str) -> str:
    """Word-level diff: removed words struck through in red, inserted words in green. Escaped."""
    a, b = before.split(), after.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f'<del class="xt-del">{html.escape(" ".join(a[i1:i2]))}</del>')
        if j2 > j1:
            out.append(f'<ins class="xt-ins">{html.escape(" ".join(b[j1:j2]))}</ins>')
    return '<div class="xt-text">' + " ".join(out) + "</div>"


def html_block(markup: str) -> None:
    st.markdown(markup, unsafe_allow_html=True)


def to_json_text(obj: Any) -> str:
    """An engine result's to_json() if it has one (str or dict), else a JSON dump."""
    if hasattr(obj, "to_json"):
        out = obj.to_json()
        return out if isinstance(out, str) else json.dumps(out, indent=1, default=str)
    return json.dumps(obj, indent=1, default=str)


ROBUSTNESS_NAMES = {"success_rate": "attack success %", "queries_mean": "queries (mean)",
                    "perturbation_median": "perturbation (median)", "seconds_per_doc": "seconds / document"}


def robustness_frame(results: dict) -> pd.DataFrame:
    """{model_id: evaluate_robustness result} -> one row per model: clean and attacked P@k / R@k side by
    side in %, attack success in %, readable column names."""
    rows = []
    for m, r in results.items():
        row = {"model": model_label(m)}
        for metric in ("P", "R"):
            for k in (1, 3, 5):
                for part in ("clean", "attacked"):
                    v = (r.get(part) or {}).get(f"{metric}@{k}")
                    row[f"{metric}@{k} {part}"] = None if v is None else round(100 * float(v), 2)
        for key, name in ROBUSTNESS_NAMES.items():
            v = r.get(key)
            row[name] = None if v is None else round(100 * float(v), 1) if key == "success_rate" else round(float(v), 3)
        row["documents"] = r.get("n")
        rows.append(row)
    return pd.DataFrame(rows)


def robustness_curve_frame(results: dict) -> pd.DataFrame:
    """{model_id: robustness_curve rows} -> one row per (model, eps), all in %."""
    rows = []
    for m, curve in results.items():
        for r in curve:
            rows.append({"model": model_label(m), "eps": r["eps"],
                         **{f"attacked P@{k}": round(100 * float(r[f"P@{k}"]), 2) for k in range(1, 6) if f"P@{k}" in r},
                         "attack success %": round(100 * float(r.get("success_rate", float("nan"))), 1)})
    return pd.DataFrame(rows)


UNITS = ("word", "feature")  # what an explanation or a deletion curve removes: words of a text, numeric features


def unit_of(kind: str | None) -> str:
    """'word' for a text dataset's kind, 'feature' for a numeric (dense) one."""
    return "word" if kind in (None, "text") else "feature"


def feature_weight_frame(token_weights, top: int | None = None) -> pd.DataFrame:
    """A dense explanation's per-feature weights as a table, largest |weight| first (not a paragraph)."""
    df = pd.DataFrame([(str(n), float(w)) for n, w in token_weights], columns=["feature", "weight"])
    df = df.reindex(df["weight"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    return df if top is None else df.head(top)


def coverage_html(text: str, ignored) -> str:
    """The text with the words the model ignores struck through in grey (escaped)."""
    import re

    out, last, skip = [], 0, set(ignored)
    for m in re.finditer(pipeline.TOKEN_PATTERN, text):
        out.append(html.escape(text[last:m.start()]))
        w = m.group(0)
        out.append(f'<span class="xt-ignored" style="color:#8c8c8c;text-decoration:line-through" '
                   f'title="not in the model\'s vocabulary">{html.escape(w)}</span>' if w.lower() in skip
                   else html.escape(w))
        last = m.end()
    out.append(html.escape(text[last:]))
    return '<div class="xt-text">' + "".join(out) + "</div>"


# -- certified robustness --------------------------------------------------------------------------
def certified_radius_text(lab, unit: str, alpha: float) -> str:
    """One label's certificate for a person: its l2 radius (3 decimals) or words, ∞, or 'not certified'."""
    if lab is None:
        return "not in the smoothed top-k"
    if lab.radius is None:
        return f"not certified at {100 * (1 - alpha):g} % confidence"
    if isinstance(lab.radius, float) and lab.radius == float("inf"):
        return "∞ (no change can remove it)"
    if unit == "words":
        n = int(lab.radius)
        return f"{n} word{'s' if n != 1 else ''}"
    return f"{float(lab.radius):.3f}"


def certified_column(pred, result) -> tuple[str, list[str]]:
    """(column name, one entry per row of prediction_frame(pred)): each shown label's certificate from a
    CertifyResult of the same document (labels outside the smoothed top-k say so)."""
    by_id = {x.label_id: x for x in result.labels}
    name = "certified words" if result.space == "text" else "certified ℓ2 radius"
    alpha = float(result.params.get("alpha", 0.0))
    unit = "words" if result.space == "text" else "l2"
    return name, [certified_radius_text(by_id.get(x.label_id), unit, alpha) for x in pred.labels]


def multiguard_text(result) -> str:
    """MultiGuard's count in words: how many true labels provably stay in the smoothed top-k at its radius."""
    if result.true_certified is None:
        return "No ground truth, so no MultiGuard count."
    r = result.radius
    within = (f"whatever synonyms replace up to {int(r)} word{'s' if int(r) != 1 else ''}" if result.space == "text"
              else f"for every feature-view change of ℓ2 norm up to {r:g}")
    return (f"**MultiGuard:** {result.true_certified} of the {result.n_true} true labels provably stay in the smoothed "
            f"top-{result.top_k} {within} (with probability ≥ {1 - float(result.params.get('alpha', 0)):g}).")


def certified_curve_frame(results: dict) -> pd.DataFrame:
    """{model_id: {"certified": certified_curve result, "empirical": robustness_curve rows}} -> one row per
    (model, budget): certified P@k and empirical attacked P@k at that budget, in %."""
    rows = []
    for m, r in results.items():
        cert, emp = r["certified"], {float(e["eps"]): e for e in r.get("empirical") or []}
        k = cert["top_k"]
        for radius, value in zip(cert["radii"], cert["certified_P@k"]):
            e = emp.get(float(radius))
            rows.append({"model": model_label(m), "budget (ℓ2)": radius, f"certified P@{k} %": round(100 * value, 2),
                         f"attacked P@{k} %": None if e is None or f"P@{k}" not in e else round(100 * e[f"P@{k}"], 2),
                         f"smoothed clean P@{k} %": round(100 * cert["smoothed_P@k"], 2),
                         "documents": cert["n"]})
    return pd.DataFrame(rows)


FREQUENCY_BIN_NAMES = {"head": "head (most frequent third)", "torso": "torso (middle third)",
                       "tail": "tail (least frequent third)"}


def frequency_frame(results: dict) -> pd.DataFrame:
    """{model_id: FrequencyRobustness} -> one row per (model, label-frequency bin), shares in %."""
    def pct(v):
        return None if v is None else round(100 * float(v), 1)

    rows = []
    for m, fr in results.items():
        for b in fr.bins:
            rows.append({"model": model_label(m), "labels": FREQUENCY_BIN_NAMES.get(b.name, b.name),
                         "label count": b.n_labels,
                         "training documents per label": f"{b.train_frequency_min}–{b.train_frequency_max}",
                         f"clean P@{fr.top_k} part %": round(100 * b.clean_p_at_k_part, 2),
                         f"attacked P@{fr.top_k} part %": round(100 * b.attacked_p_at_k_part, 2),
                         "correct labels kept %": pct(b.kept_share),
                         "predicted labels removed %": pct(b.removed_share),
                         "attack success % (top-1 in bin)": pct(b.success_rate)})
    return pd.DataFrame(rows)
