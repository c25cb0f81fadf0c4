"""Adversarial training with a curriculum: clean data + an equal-sized augmented half.

Procedure (seeded throughout):
1. Hold out 10% of the training split (seeded) as validation; train a clean model on the other
   90% and note its validation P@1 (the baseline's).
2. Round r = 1..max_rounds: each of the 90% documents gets one augmented copy whose intensity is
   drawn from {1..r} / max_rounds (easy and hard examples mixed, harder as rounds go on). Text:
   WordNet synonym substitution, TF-IDF refit on clean + augmented text (the vocabulary grows),
   then dropout/jitter noise on the augmented half's TF-IDF (the space HSJ / ZOO attack). Dense
   features: bounded uniform noise. Train on clean + augmented (equal weight: one copy each).
3. Stop early when validation P@1 falls more than 2 points below the baseline's; the last round
   within tolerance is kept (round 1 if none is, flagged in the manifest).
4. XR-Linear: retrain on the full training split with the kept round's augmentation (seconds).
   X-Transformer: keep the round model (trained on 90%), since one more training costs minutes.
Saved as "<family>-robust" with augmentation statistics and test metrics in the manifest.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError, ModelError
from engine.robust.augment import augment_texts, dense_noise, synonym_table, tfidf_noise
from engine.types import ProgressFn, report, scaled_progress

VAL_SHARE = 0.10
TOLERANCE = 0.02  # allowed drop of validation P@1 below the baseline's
STATS_SAMPLE = 500  # documents used for tag consistency and label-distribution KL


EVAL_BATCH = 256  # validation rows scored per call: a Cancel point (and a report) per batch


def _p_at_1(model, inputs, Y, progress: ProgressFn | None = None, what: str = "validation") -> float:
    from engine.metrics import ranking_metrics

    n = len(inputs)
    parts = []
    for i in range(0, n, EVAL_BATCH):
        report(progress, i / max(n, 1), f"scoring {what} {i:,}/{n:,}")
        parts.append(model.score_matrix(model.check_inputs(inputs[i:i + EVAL_BATCH]), 5))
    report(progress, 1.0, f"scored {what}")
    return ranking_metrics(Y, sp.vstack(parts).tocsr(), ks=(1,))["P@1"]


def _phase(progress: ProgressFn | None, lo: float, hi: float, name: str) -> ProgressFn | None:
    """A sub-step's progress mapped onto [lo, hi], its messages prefixed by the phase's name (a nested
    model's "trained" is then read as that phase's, never as the whole job's end)."""
    sub = scaled_progress(progress, lo, hi)
    return None if sub is None else (lambda f, msg="": sub(f, f"{name}: {msg}" if msg else name))


def _fit(family: str, clean, aug, Y: sp.csr_matrix, label_names, feature_names, params, intensities, rng,
         progress=None, encoder_from=None):
    """Train on clean (n) + augmented (n) inputs with labels [Y; Y]. aug: texts or dense rows.
    encoder_from: a trained X-Transformer whose encoder is kept (only TF-IDF and ranker are retrained)."""
    Y2 = sp.vstack([Y, Y]).tocsr()
    if family == "xtransformer" and encoder_from is None:
        from engine.models.xtransformer import XTransformerXMC

        return XTransformerXMC.train(list(clean) + list(aug), Y2, label_names, params, progress=progress)
    from engine.models.featurize import DenseScaler, TfidfText
    from engine.models.xlinear import XLinearXMC, train_ranker

    report(progress, 0.05, "featurizing clean + augmented data")
    if isinstance(clean, list):
        feat = TfidfText().fit(list(clean) + list(aug))  # refit: synonyms add words to the vocabulary
        Xa = feat.transform(list(aug))
        # noise strength follows each copy's own curriculum intensity
        Xa = _rowwise_noise(Xa, intensities, rng)
        X = sp.vstack([feat.transform(list(clean)), Xa]).tocsr()
        if encoder_from is not None:  # X-Transformer, encoder kept: its ranker reads [this TF-IDF ; embedding]
            return encoder_from.refit_ranker(list(clean) + list(aug), Y2, progress=progress, featurizer=feat, X_tfidf=X)
    else:
        feat = DenseScaler().fit(np.asarray(clean), feature_names)
        X = feat.transform(np.vstack([clean, aug]))
    xlm = train_ranker(X, Y2, params, progress=scaled_progress(progress, 0.2, 1.0))
    return XLinearXMC(xlm, feat, label_names, params)


def _rowwise_noise(Xa: sp.csr_matrix, intensities: np.ndarray, rng) -> sp.csr_matrix:
    """tfidf_noise with a per-row intensity (n,), one call per intensity level, rows kept in order."""
    Xa = Xa.tocsr()
    order, blocks = [], []
    for lvl in np.unique(intensities):
        rows = np.where(intensities == lvl)[0]
        order.append(rows)
        blocks.append(tfidf_noise(Xa[rows], float(lvl), rng))
    M = sp.vstack(blocks).tocsr()
    return M[np.argsort(np.concatenate(order), kind="stable")]


def _augment(is_text, inputs, table, scaler_stats, intensities, rng):
    """One augmented copy per input at its own intensity. Returns (augmented, words changed (n,) or None)."""
    if is_text:
        out, changed = [None] * len(inputs), np.zeros(len(inputs), dtype=np.int64)
        for lvl in np.unique(intensities):
            rows = np.where(intensities == lvl)[0]
            aug, ch = augment_texts([inputs[i] for i in rows], table, float(lvl), rng)
            for j, r in enumerate(rows):
                out[r], changed[r] = aug[j], ch[j]
        return out, changed
    std, lo, hi = scaler_stats
    X = np.asarray(inputs, dtype=np.float32)
    out = np.empty_like(X)
    for lvl in np.unique(intensities):
        rows = np.where(intensities == lvl)[0]
        out[rows] = dense_noise(X[rows], std, lo, hi, float(lvl), rng)
    return out, None


def _consistency_and_kl(model, clean, aug, n_labels: int) -> tuple[float, float, float]:
    """Baseline predictions on clean vs augmented inputs: top-5 set unchanged share, top-1 unchanged
    share, KL(clean || augmented) of the predicted top-5 label distributions (add-one smoothed)."""
    from engine.metrics import top_k_indices

    A = top_k_indices(model.score_matrix(model.check_inputs(clean), 5), 5)
    B = top_k_indices(model.score_matrix(model.check_inputs(aug), 5), 5)
    same5 = float(np.mean([set(a[a >= 0]) == set(b[b >= 0]) for a, b in zip(A, B)]))
    same1 = float(np.mean(A[:, 0] == B[:, 0]))
    p = np.bincount(A[A >= 0].ravel(), minlength=n_labels) + 1.0
    q = np.bincount(B[B >= 0].ravel(), minlength=n_labels) + 1.0
    p, q = p / p.sum(), q / q.sum()
    return same5, same1, float(np.sum(p * np.log(p / q)))


def train_robust(dataset, family: str = "xlinear", params=None, store=None, progress: ProgressFn | None = None,
                 seed: int = 0, max_rounds: int = 3, fine_tune_encoder: bool = False):
    """Adversarially train ``family`` on ``dataset``; save as "<family>-robust"; return its ModelInfo.

    X-Transformer: by default the saved baseline X-Transformer's fine-tuned encoder is kept and its
    TF-IDF and ranker are adversarially retrained (the ranker is what HopSkipJump / ZOO perturb, through
    the TF-IDF half of its input; WordNet substitutions reach it through both halves). Minutes on a CPU.
    fine_tune_encoder=True fine-tunes a new encoder on clean + augmented text in every round (hours on
    a CPU: for a GPU)."""
    from engine.data import load_dataset
    from engine.models import families, runtime
    from engine.models.store import ModelStore
    from engine.types import Dataset

    if family not in ("xlinear", "xtransformer"):
        raise InputError(f"unknown model {family!r}: choose xlinear or xtransformer.")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, (int, np.integer)) or not 1 <= max_rounds <= 10:
        raise InputError(f"max_rounds must be a whole number from 1 to 10, got {max_rounds!r}.")
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if family == "xtransformer":
        if not ds.has_text:
            raise InputError(f"the X-Transformer reads text; {ds.display_name} has only numeric features.")
        try:
            import engine.models.xtransformer  # noqa: F401
        except ImportError as exc:
            raise ModelError(f"the X-Transformer model family is not available ({exc}); use xlinear.") from None
    store = store or ModelStore()
    store.check_writable()  # before minutes of training
    encoder_from = None
    if family == "xtransformer" and not fine_tune_encoder:
        try:
            encoder_from = runtime.get_model(ds.name, "xtransformer", store)
        except ModelError:
            raise ModelError(f"the robust X-Transformer keeps the fine-tuned encoder of {ds.name}'s X-Transformer, and "
                             "none is saved: train the X-Transformer first (or fine-tune a new encoder on clean + "
                             "augmented text with fine_tune_encoder / --fine-tune-encoder: hours on a CPU).") from None
        params = encoder_from.params  # the baseline's ranker settings: only the training data differ
    params = params or families.family(family).default_params(ds)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if encoder_from is not None:  # every round re-reads the clean texts: encode them once
            stack.enter_context(encoder_from.reusing_embeddings())
        return _train_robust(ds, family, params, store, progress, seed, max_rounds, encoder_from, t0)


def _train_robust(ds, family, params, store, progress, seed, max_rounds, encoder_from, t0):
    from engine.data.catalog import import_of
    from engine.models import runtime

    source = import_of(ds)  # an import deleted or replaced while this trains: its model is not saved
    is_text = ds.has_text
    n = ds.train.n
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = max(1, int(round(VAL_SHARE * n)))
    val_rows, fit_rows = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    inputs_all = ds.inputs("train")
    take = (lambda rows: [inputs_all[i] for i in rows]) if is_text else (lambda rows: inputs_all[rows])
    fit_in, val_in = take(fit_rows), take(val_rows)
    Y_fit, Y_val = ds.train.Y[fit_rows], ds.train.Y[val_rows]

    report(progress, 0.02, "training the clean reference model on 90% of train")
    base = _fit_clean(family, fit_in, Y_fit, ds, params, _phase(progress, 0.02, 0.14, "clean reference model"),
                      encoder_from)
    base_p1 = _p_at_1(base, val_in, Y_val, _phase(progress, 0.14, 0.15, "clean reference model"))

    table = synonym_table(ds.train.texts, scaled_progress(progress, 0.15, 0.2)) if is_text else None
    if is_text and not table:
        raise InputError(f"no word of {ds.display_name} has a WordNet synonym: text augmentation is impossible.")
    scaler_stats = None
    if not is_text:
        X = np.asarray(fit_in, dtype=np.float64)
        scaler_stats = (np.maximum(X.std(axis=0), 1e-6), float(X.min()), float(X.max()))

    rounds, kept = [], None
    span = 0.7 / max_rounds
    for r in range(1, max_rounds + 1):
        lo = 0.2 + span * (r - 1)
        rr = np.random.default_rng([seed, r])
        t_r = time.perf_counter()
        levels = rr.integers(1, r + 1, size=len(fit_rows)) / max_rounds
        aug, changed = _augment(is_text, fit_in, table, scaler_stats, levels, rr)
        report(progress, lo + 0.1 * span, f"round {r}/{max_rounds}: training on clean + augmented data")
        model = _fit(family, fit_in, aug, Y_fit, ds.label_names, ds.feature_names, params, levels, rr,
                     _phase(progress, lo + 0.1 * span, lo + 0.9 * span, f"round {r}/{max_rounds}"), encoder_from)
        p1 = _p_at_1(model, val_in, Y_val, _phase(progress, lo + 0.9 * span, lo + span, f"round {r}/{max_rounds}"))
        ok = p1 >= base_p1 - TOLERANCE
        rounds.append({"round": r, "max_intensity": r / max_rounds, "val_P@1": p1, "within_tolerance": ok,
                       "avg_words_changed": None if changed is None else float(changed.mean()),
                       "seconds": round(time.perf_counter() - t_r, 2)})
        report(progress, lo + span, f"round {r}: validation P@1 {100 * p1:.2f} (clean reference {100 * base_p1:.2f})")
        if not ok:
            break  # early stop: this intensity costs too much clean accuracy
        kept = (r, model, aug, changed, levels)
    flagged = kept is None
    if kept is None:  # even round 1 cost more than the tolerance: keep it, and say so
        kept = (1, model if len(rounds) == 1 else None, None, None, None)
        rr = np.random.default_rng([seed, 1])
        levels = rr.integers(1, 2, size=len(fit_rows)) / max_rounds
        aug, changed = _augment(is_text, fit_in, table, scaler_stats, levels, rr)
        kept = (1, kept[1], aug, changed, levels)
    r_kept, model, aug, changed, levels = kept

    # augmentation statistics, from the clean reference model (a sample of documents)
    m = min(STATS_SAMPLE, len(fit_rows))
    sample = np.random.default_rng([seed, 99]).choice(len(fit_rows), size=m, replace=False)
    clean_s = [fit_in[i] for i in sample] if is_text else fit_in[sample]
    aug_s = [aug[i] for i in sample] if is_text else aug[sample]
    report(progress, 0.9, f"augmentation statistics on {m} documents")
    same5, same1, kl = _consistency_and_kl(base, clean_s, aug_s, ds.n_labels)

    cheap = family == "xlinear" or encoder_from is not None
    if cheap:
        report(progress, 0.92, "retraining on the full training split with the kept augmentation")
        rr = np.random.default_rng([seed, r_kept, 7])
        full_levels = rr.integers(1, r_kept + 1, size=n) / max_rounds
        full_aug, _ = _augment(is_text, inputs_all, table, scaler_stats, full_levels, rr)
        model = _fit(family, inputs_all, full_aug, ds.train.Y, ds.label_names, ds.feature_names, params, full_levels,
                     rr, _phase(progress, 0.92, 0.96, "final model on the full training split"), encoder_from)
    elif model is None:
        rr = np.random.default_rng([seed, 1])
        model = _fit(family, fit_in, aug, Y_fit, ds.label_names, ds.feature_names, params, levels, rr,
                     _phase(progress, 0.92, 0.96, "final model"))
    train_seconds = time.perf_counter() - t0
    vocab_before = len(base.featurizer.vocabulary) if is_text and hasattr(base, "featurizer") else ds.n_features
    vocab_after = len(model.featurizer.vocabulary) if is_text and hasattr(model, "featurizer") else ds.n_features
    metrics = runtime.evaluate_model(model, ds, progress=_phase(progress, 0.96, 0.99, "evaluating on test"))
    manifest = {
        "variant": "robust", "baseline": family, "dataset_is_sample": ds.is_sample, "data_checksums": ds.checksums,
        "params": asdict(params), "seed": seed, "train_seconds": round(train_seconds, 3), "n_train": n,
        "metrics": metrics,
        "augmentation": {
            "kind": "wordnet synonyms + tfidf dropout/jitter" if is_text else "bounded uniform feature noise",
            "rounds": rounds, "kept_round": r_kept, "early_stopped": len(rounds) < max_rounds,
            "no_round_within_tolerance": flagged, "max_rounds": max_rounds,
            "clean_reference_val_P@1": base_p1, "val_share": VAL_SHARE, "tolerance": TOLERANCE,
            "vocabulary_before": vocab_before, "vocabulary_after": vocab_after,
            "avg_words_changed": None if changed is None else float(np.mean(changed)),
            "label_distribution_kl": kl, "tag_consistency": same5, "top1_consistency": same1,
            "stats_sample": m, "training_seconds": round(train_seconds, 3),
            "final_model_trained_on": "full train split" if cheap else "90% of train",
        },
    }
    if family == "xtransformer":
        manifest["encoder"] = ("kept from the saved X-Transformer (fine-tuned on clean train); TF-IDF and ranker "
                               "adversarially retrained" if encoder_from is not None
                               else "fine-tuned on clean + augmented text in every round")
        if encoder_from is not None:
            manifest["encoder_from_created"] = store.info(ds.name, "xtransformer").manifest.get("created")
    info = store.save(model, ds.name, f"{family}-robust", manifest, source=source)
    runtime.forget_model(ds.name, f"{family}-robust", store)  # never serve the older one after this save
    report(progress, 1.0, "saved")
    return info


def _fit_clean(family, inputs, Y, ds, params, progress, encoder_from=None):
    if encoder_from is not None:
        from engine.models.featurize import TfidfText

        return encoder_from.refit_ranker(list(inputs), Y, progress=progress, featurizer=TfidfText().fit(list(inputs)))
    if family == "xtransformer":
        from engine.models.xtransformer import XTransformerXMC

        return XTransformerXMC.train(list(inputs), Y, ds.label_names, params, progress=progress)
    from engine.models.xlinear import XLinearXMC

    return XLinearXMC.train(inputs, Y, ds.label_names, params, feature_names=ds.feature_names, progress=progress)
