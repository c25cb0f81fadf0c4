"""Adversarial training with attack-generated examples, and Gaussian-noise training (issue 13, item 4).

Attack training, saved as "<family>-adv<attack>" (xlinear-advhsj / -advzoo / -advwordnet):
1. Hold out 10% of the training split (seeded) as validation; fit the featurizer once on the whole
   training split (exactly the baseline's TF-IDF / scaler) and train a clean ranker on the other 90%.
2. Round r = 1..rounds: attack a seeded sample of the 90% documents with the current model (the
   previous round's), goal "topk" by default (every clean top-5 label must leave the top-5) within ``eps``, and
   add each attack's output with the document's true labels to a pool that grows over the rounds.
   Every output that moved is added, successful or not: a failed bounded attack stops at its
   projection onto the eps-ball, the hardest point it found within the budget (as in Madry et al.'s
   PGD training, where the worst point in the ball is the example whether or not it flips the
   decision). Retrain the ranker on [clean rows ; pool rows], measure validation P@1 / P@5.
3. Retrain once on the full training split + the whole pool (seconds for XR-Linear), evaluate on test.

Gaussian-noise training, saved as "<family>-gauss": the same rounds, but round r adds one fresh copy
x + N(0, sigma^2 I) of every document in the feature view (unclipped: randomized smoothing (Cohen et
al. 2019) certifies a base model trained on exactly that noise). Its "success rate" is the share of a
seeded sample whose noisy copy meets the goal against the current model (noise as an attack).

The feature space: an adversarial TF-IDF vector from HopSkipJump / ZOO has no text, so examples are
added where the ranker reads them. The featurizer is fitted once and kept fixed, every round retrains
only XR-Linear's ranker (PIFA, label tree, linear rankers) on stacked rows. Rows are kept in the
feature view (the space the attacks act in: TF-IDF for text, raw features for dense datasets) and
mapped to the ranker's input as the model maps them (TF-IDF as is; dense rows standardised). WordNet
examples are texts: they enter through the same fixed TF-IDF (new words drop out, as when attacked).

The X-Transformer (text datasets; its saved baseline needed): its ranker reads [TF-IDF ; embedding]
(XTransformerXMC.rank_features). The fine-tuned encoder and the TF-IDF are the saved model's, kept;
every fit retrains only the ranker (XTransformerXMC.refit_ranker) on rows [TF-IDF row ; embedding of
a text]. An HSJ / ZOO example is its adversarial TF-IDF vector joined to the embedding of the
attacked document's own text (the attack moved only the TF-IDF half: the embedding it saw is cached,
engine/models/xtransformer.py feature_view); a WordNet example is the adversarial text through both
halves; a Gaussian copy is the noisy TF-IDF with the document's embedding. The training texts are
encoded once (reusing_embeddings), so each fit costs an XR-Linear fit on [TF-IDF ; embedding].
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.types import ProgressFn, report, scaled_progress

VAL_SHARE = 0.10  # as engine/robust/adversarial_training.py
TOP_K = 5
METHODS = ("hsj", "zoo", "wordnet", "gauss")
MAX_DENSE_BYTES = 2 * 1024 ** 3  # Gaussian copies are dense rows: refuse a training matrix larger than this


@dataclass(frozen=True)
class AttackTrainingParams:
    """method: "hsj" | "zoo" (feature view) | "wordnet" (text) | "gauss" (Gaussian-noise copies).
    rounds: 1..10. sample_size: training documents attacked per round (gauss: documents whose noisy
    copies are scored), 1..5000. eps: attack budget, L2 in the feature view (hsj / zoo; None: unbounded).
    sigma: gauss noise std per feature-view coordinate, (0, 1]. max_iter / max_eval / max_words: the
    attack's own parameters (None: the attack's defaults, engine/attacks/registry.py). goal: "topk" (every
    clean top-5 label leaves the top-5) or "top1" (the top-1 label changes; for datasets such as MediaMill
    whose frequent labels no bounded attack pushes out of the top-5)."""

    method: str = "hsj"
    rounds: int = 2
    sample_size: int = 100
    eps: float | None = 1.2
    sigma: float = 0.1
    max_iter: int | None = None
    max_eval: int | None = None
    max_words: int | None = None
    goal: str = "topk"
    seed: int = 0

    def validate(self) -> "AttackTrainingParams":
        from engine.attacks.api import check_attack_params

        if self.method not in METHODS:
            raise InputError(f"unknown training method {self.method!r}: choose one of {', '.join(METHODS)}.")
        for name, value, lo, hi in (("rounds", self.rounds, 1, 10), ("sample_size", self.sample_size, 1, 5000)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
                raise InputError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be a whole number of at least 0, got {self.seed!r}.")
        if self.goal not in ("topk", "top1"):
            raise InputError(f"goal must be 'topk' or 'top1' (a goal with a target label needs a label per "
                             f"document), got {self.goal!r}.")
        if self.method == "gauss":
            s = self.sigma
            if isinstance(s, bool) or not isinstance(s, (int, float, np.floating)) or not (np.isfinite(s) and 0 < s <= 1):
                raise InputError(f"sigma (the Gaussian noise std) must be a number in (0, 1], got {s!r}.")
        else:  # the attack's own checks (eps, max_iter, ...): the messages name the parameter and its bounds
            check_attack_params(self.method, self.goal, self.eps, self.max_iter, self.max_eval, "2", None, None,
                                self.max_words)
        return self

    @property
    def variant(self) -> str:
        from engine.models.families import ATTACK_VARIANTS

        return "gauss" if self.method == "gauss" else ATTACK_VARIANTS[self.method]


def _ranker_input(featurizer, V):
    """Feature-view rows (n, d) -> what the ranker reads: TF-IDF as is (csr); dense rows standardised."""
    if featurizer.kind == "text":
        return V if sp.issparse(V) else np.ascontiguousarray(V, dtype=np.float32)
    return featurizer.transform(V.toarray() if sp.issparse(V) else V)


def _stack(blocks):
    """Row blocks (csr or ndarray, same width) -> one csr, or one dense array when any block is dense."""
    if all(sp.issparse(b) for b in blocks):
        return sp.vstack(blocks).tocsr().astype(np.float32)
    return np.vstack([b.toarray() if sp.issparse(b) else b for b in blocks]).astype(np.float32)


class _XLinearRanker:
    """XR-Linear: the featurizer fitted once on train; each fit trains PECOS' ranker on feature-view rows."""

    def __init__(self, featurizer, label_names, params):
        self.featurizer, self.label_names, self.params = featurizer, label_names, params

    def fit(self, blocks, text_blocks, Y_blocks, progress, what: str):
        """Train the ranker on stacked feature-view rows (text_blocks unused: the rows are all it reads)."""
        from engine.models.xlinear import XLinearXMC

        report(progress, 0.0, f"fitting the ranker on {what}")
        V = _stack(blocks)
        xlm = train_ranker(_ranker_input(self.featurizer, V), sp.vstack(Y_blocks).tocsr(), self.params)
        report(progress, 1.0, f"fitted the ranker on {V.shape[0]:,} rows")
        return XLinearXMC(xlm, self.featurizer, self.label_names, self.params)

    def top_k(self, model, V, texts) -> np.ndarray:
        """(n, TOP_K) label ids of feature-view rows V."""
        from engine.metrics import top_k_indices

        return top_k_indices(model.xlm.predict(_ranker_input(self.featurizer, V), only_topk=TOP_K,
                                               beam_size=max(model.params.beam_size, TOP_K)), TOP_K)


class _XTransformerRanker:
    """X-Transformer: the saved model's encoder and TF-IDF kept; each fit retrains its ranker on rows
    [TF-IDF row ; embedding of the row's text]."""

    def __init__(self, base):
        self.base, self.featurizer, self.params = base, base.featurizer, base.params

    def fit(self, blocks, text_blocks, Y_blocks, progress, what: str):
        report(progress, 0.0, f"fitting the ranker on {what}")
        X = sp.csr_matrix(_stack(blocks), dtype=np.float32)
        texts = [t for block in text_blocks for t in block]
        model = self.base.refit_ranker(texts, sp.vstack(Y_blocks).tocsr(), progress=scaled_progress(progress, 0.0, 0.99),
                                       X_tfidf=X)
        report(progress, 1.0, f"fitted the ranker on {X.shape[0]:,} rows")
        return model

    def top_k(self, model, V, texts) -> np.ndarray:
        from engine.metrics import top_k_indices
        from engine.models.xtransformer import BEAM

        R = model.rank_features(self.base.embed(list(texts)), sp.csr_matrix(V, dtype=np.float32))
        return top_k_indices(model.xtf.concat_model.predict(R, only_topk=TOP_K, beam_size=max(BEAM, TOP_K)), TOP_K)


def train_ranker(X, Y, params):  # module-level so tests can count the rows each fit sees
    from engine.models.xlinear import train_ranker as pecos_train

    return pecos_train(X, Y, params)


def _named(progress: ProgressFn | None, lo: float, hi: float, name: str) -> ProgressFn | None:
    """A sub-step's progress on [lo, hi] of ``progress``, its messages prefixed by the phase's name
    ("round 2/3: attacking 37/100: HopSkipJump: step 2/5")."""
    sub = scaled_progress(progress, lo, hi)
    return None if sub is None else (lambda f, msg="": sub(f, f"{name}: {msg}" if msg else name))


def _attack_round(model, ds, docs, seeds, tp: AttackTrainingParams, view_of, progress, phase: str = "attacking"):
    """Attack docs (training row ids) with ``model``. Returns (rows: feature-view rows of the outputs that
    moved, the text each row's embedding is taken from (text datasets; None for dense), added doc ids,
    successes). The bar fills per document (and within it with the attack's own
    steps); every attack query checks for Cancel, so a cancel stops within the document being attacked."""
    from engine.attacks.api import run_attack

    inputs, Y = ds.inputs("train", docs), ds.train.Y
    rows, texts, added, success = [], [], [], 0
    for j, (i, s) in enumerate(zip(docs, seeds)):
        sub = _named(progress, j / len(docs), (j + 1) / len(docs), f"{phase} {j + 1}/{len(docs)}")
        report(sub, 0.0)
        try:
            res = run_attack(model, inputs[j], attack=tp.method, goal=tp.goal, top_k=TOP_K, eps=tp.eps,
                             max_iter=tp.max_iter, max_eval=tp.max_eval, max_words=tp.max_words, seed=int(s),
                             truth=[int(t) for t in Y[int(i)].indices], progress=sub)
        except InputError as exc:
            if tp.method != "wordnet" or "synonym" not in str(exc):
                raise
            continue  # no replaceable word: a failed attack with no example (as evaluate_robustness counts it)
        success += bool(res.success)
        if res.adversarial_vector is not None:
            if res.l2 and res.l2 > 0:
                rows.append(sp.csr_matrix(res.adversarial_vector[None, :]) if model.input_kind == "text"
                            else np.asarray(res.adversarial_vector, dtype=np.float32)[None, :])
                texts.append(inputs[j] if model.input_kind == "text" else None)  # the embedding the attack kept
                added.append(int(i))
        elif res.adversarial_text is not None and res.adversarial_text != res.original_text:
            rows.append(view_of([res.adversarial_text]))
            texts.append(res.adversarial_text)
            added.append(int(i))
        report(progress, (j + 1) / len(docs), f"{phase} {j + 1}/{len(docs)}: done, {success} met the goal")
    return rows, texts, added, success


def _noise_copy(V, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Feature-view rows (n, d) -> (n, d) float32 x + N(0, sigma^2 I), dense and unclipped."""
    X = V.toarray() if sp.issparse(V) else np.asarray(V)
    return (X + rng.normal(0.0, sigma, size=X.shape)).astype(np.float32)


def _noise_success(ranker, model, V, texts, sigma, goal: str, rng) -> float:
    """Share of rows whose noisy copy meets the goal: topk -- none of the clean top-k labels stays in the
    top-k; top1 -- the top-1 label changes. texts: the rows' texts (their embeddings; None for dense)."""
    clean, noisy = ranker.top_k(model, V, texts), ranker.top_k(model, _noise_copy(V, sigma, rng), texts)
    if goal == "top1":
        return float(np.mean(clean[:, 0] != noisy[:, 0]))
    return float(np.mean([not (set(a[a >= 0]) & set(b[b >= 0])) for a, b in zip(clean, noisy)]))


def train_attack_trained(dataset, family: str = "xlinear", training: AttackTrainingParams = AttackTrainingParams(),
                         params=None, store=None, progress: ProgressFn | None = None):
    """Train ``family`` on ``dataset`` with attack-generated (or Gaussian-noise) examples; save it as
    "<family>-<variant>" (e.g. xlinear-advhsj, xlinear-gauss) with its training curve; return its ModelInfo.
    Every parameter is checked before any work; a cancelled run saves nothing."""
    from engine.data import load_dataset
    from engine.models import families
    from engine.models.store import ModelStore
    from engine.types import Dataset

    if family not in families.ATTACK_TRAINED_FAMILIES:
        raise InputError(f"training on attack examples is built for {', '.join(families.ATTACK_TRAINED_FAMILIES)} "
                         f"only, not {family!r}.")
    if not isinstance(training, AttackTrainingParams):
        raise InputError("training must be an AttackTrainingParams.")
    training.validate()
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if training.method == "wordnet":
        if not ds.has_text:
            raise InputError(f"the WordNet attack replaces words; {ds.display_name} has only numeric features.")
        from engine.wordnet import wordnet

        wordnet()  # a missing WordNet is a clear DataError now, not after the clean model is trained
    store = store or ModelStore()
    base = None
    if family == "xtransformer":
        from engine.errors import ModelError
        from engine.models import runtime

        if not ds.has_text:
            raise InputError(f"the X-Transformer reads text; {ds.display_name} has only numeric features.")
        try:
            base = runtime.get_model(ds.name, "xtransformer", store)
        except ModelError:
            raise ModelError(f"training the X-Transformer on attack examples keeps the fine-tuned encoder of "
                             f"{ds.name}'s X-Transformer, and none is saved: train the X-Transformer first "
                             f"(python -m engine train --dataset {ds.name} --model xtransformer).") from None
        params = base.params  # the saved model's ranker settings: only the ranker's training rows differ
    params = (params or families.family(family).default_params(ds, seed=training.seed)).validate()
    if training.method == "gauss":
        dim = ds.n_features if not ds.has_text else None
        if dim is None:  # the TF-IDF vocabulary size is known once fitted; the word count bounds it
            dim = len({w for t in ds.train.texts for w in t.lower().split()})
        need = ds.train.n * (training.rounds + 1) * dim * 4
        if need > MAX_DENSE_BYTES:
            raise InputError(f"Gaussian-noise training would stack {need / 1024 ** 3:.1f} GiB of dense rows "
                             f"({ds.train.n:,} documents x {training.rounds + 1} copies x about {dim:,} features); "
                             f"the limit is {MAX_DENSE_BYTES / 1024 ** 3:.0f} GiB: use fewer rounds.")
    store.check_writable()  # before minutes of training
    if base is None:
        return _train(ds, family, training, params, store, progress, None)
    with base.reusing_embeddings():  # every fit re-reads the training texts: encode each once
        return _train(ds, family, training, params, store, progress, base)


def _train(ds, family, tp: AttackTrainingParams, params, store, progress, base):
    from engine.data.catalog import import_of
    from engine.models import runtime
    from engine.models.featurize import DenseScaler, TfidfText

    source = import_of(ds)  # an import deleted or replaced while this trains: its model is not saved
    t0 = time.perf_counter()
    n = ds.train.n
    perm = np.random.default_rng(tp.seed).permutation(n)
    n_val = max(1, int(round(VAL_SHARE * n)))
    val_rows, fit_rows = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    report(progress, 0.01, "featurizing the training split")
    inputs = ds.inputs("train")
    if ds.has_text:
        # the X-Transformer keeps its saved TF-IDF (with its encoder); XR-Linear fits one on train, once
        featurizer = base.featurizer if base is not None else TfidfText().fit(inputs)

        def view_of(texts):
            return featurizer.transform(list(texts))
    else:
        featurizer = DenseScaler().fit(inputs, ds.feature_names)

        def view_of(rows):
            return np.asarray(rows, dtype=np.float32)
    V_all = view_of(inputs)  # (n, d) feature-view rows of every training document
    V_fit, Y_fit = V_all[fit_rows], ds.train.Y[fit_rows]
    ranker = _XTransformerRanker(base) if base is not None else _XLinearRanker(featurizer, ds.label_names, params)
    # the text behind each row (its embedding, for the X-Transformer's ranker); None for dense rows
    texts_all = list(inputs) if ds.has_text else [None] * n
    T_fit = [texts_all[i] for i in fit_rows]

    def validate(model, prog):
        m = runtime.evaluate_model(model, ds, split="train", rows=val_rows, progress=prog)
        return m["P@1"], m["P@5"]

    phase = 0.85 / (tp.rounds + 1)  # round 0 (clean) and each round share 5% .. 90%
    t_r = time.perf_counter()
    model = ranker.fit([V_fit], [T_fit], [Y_fit],
                       _named(progress, 0.05, 0.05 + 0.8 * phase, f"round 0/{tp.rounds} (clean)"), "the clean 90% of train")
    report(progress, 0.05 + 0.8 * phase, f"round 0/{tp.rounds} (clean): evaluating the clean model on validation")
    p1, p5 = validate(model, _named(progress, 0.05 + 0.8 * phase, 0.05 + phase,
                                    f"round 0/{tp.rounds} (clean): evaluating on validation"))
    curve = [{"round": 0, "attacked": 0, "success_rate": None, "added": 0, "training_rows": len(fit_rows),
              "val_P@1": p1, "val_P@5": p5, "seconds": round(time.perf_counter() - t_r, 2)}]
    pool, pool_T, pool_Y, added_docs = [], [], [], []
    for r in range(1, tp.rounds + 1):
        lo = 0.05 + phase * r
        t_r = time.perf_counter()
        rr = np.random.default_rng([tp.seed, r])
        docs = np.sort(fit_rows[rr.choice(len(fit_rows), size=min(tp.sample_size, len(fit_rows)), replace=False)])
        name = f"round {r}/{tp.rounds}"
        attack_prog = scaled_progress(progress, lo, lo + 0.7 * phase)
        if tp.method == "gauss":
            report(attack_prog, 0.0, f"{name}: attacking with Gaussian noise (sigma {tp.sigma})")
            rate = _noise_success(ranker, model, V_all[docs], [texts_all[i] for i in docs], tp.sigma, tp.goal, rr)
            new_rows, new_texts, new_docs = [_noise_copy(V_fit, tp.sigma, rr)], T_fit, [int(i) for i in fit_rows]
        else:
            seeds = rr.integers(0, 2 ** 31 - 1, size=len(docs))
            new_rows, new_texts, new_docs, succ = _attack_round(model, ds, docs, seeds, tp, view_of, attack_prog,
                                                                f"{name}: attacking")
            rate = succ / len(docs)
        pool += new_rows
        pool_T.append(list(new_texts))
        pool_Y.append(ds.train.Y[new_docs])
        added_docs += new_docs
        model = ranker.fit([V_fit, *pool], [T_fit, *pool_T], [Y_fit, *pool_Y],
                           _named(progress, lo + 0.7 * phase, lo + 0.9 * phase, name),
                           f"clean + {len(added_docs):,} {'noisy' if tp.method == 'gauss' else 'adversarial'} rows")
        report(progress, lo + 0.9 * phase, f"{name}: evaluating on validation")
        p1, p5 = validate(model, _named(progress, lo + 0.9 * phase, lo + phase, f"{name}: evaluating on validation"))
        curve.append({"round": r, "attacked": len(docs), "success_rate": rate, "added": len(new_docs),
                      "training_rows": len(fit_rows) + len(added_docs), "val_P@1": p1, "val_P@5": p5,
                      "seconds": round(time.perf_counter() - t_r, 2)})
        report(progress, lo + phase, f"round {r}/{tp.rounds}: success rate {100 * rate:.0f}%, validation P@1 "
                                     f"{100 * p1:.2f} (clean model {100 * curve[0]['val_P@1']:.2f})")
    if tp.method == "gauss":  # fresh noise over the full split, one copy per round
        fr = np.random.default_rng([tp.seed, 0, 7])
        final_pool = [_noise_copy(V_all, tp.sigma, fr) for _ in range(tp.rounds)]
        final_T, final_Y = [texts_all] * tp.rounds, [ds.train.Y] * tp.rounds
    else:
        final_pool, final_T, final_Y = pool, pool_T, pool_Y
    model = ranker.fit([V_all, *final_pool], [texts_all, *final_T], [ds.train.Y, *final_Y],
                       _named(progress, 0.9, 0.95, "final model"), "the full training split + every round's examples")
    train_seconds = time.perf_counter() - t0
    report(progress, 0.95, "evaluating on test")
    metrics = runtime.evaluate_model(model, ds, progress=scaled_progress(progress, 0.95, 0.99))
    n_final = sum(b.shape[0] for b in final_pool)
    manifest = {
        "variant": tp.variant, "baseline": family, "dataset_is_sample": ds.is_sample,
        "data_checksums": ds.checksums, "params": asdict(params), "seed": tp.seed,
        "train_seconds": round(train_seconds, 3), "n_train": n, "metrics": metrics,
        "attack_training": {
            **asdict(tp), "top_k": TOP_K, "val_share": VAL_SHARE, "curve": curve,
            "examples_added": len(added_docs), "final_training_rows": n + n_final,
            "added_documents": added_docs if tp.method != "gauss" else None,
            "feature_space": ("[TF-IDF ; embedding]: the saved X-Transformer's TF-IDF and fine-tuned encoder, kept; "
                              "only the ranker retrained" if base is not None
                              else "TF-IDF (featurizer fitted once on train, kept)" if ds.has_text
                              else "raw features (scaler fitted once on train, kept)"),
            "final_model_trained_on": "full train split + every round's examples" if tp.method != "gauss"
                                      else f"full train split + {tp.rounds} fresh Gaussian copies of it",
        },
    }
    if base is not None:
        manifest["encoder"] = "kept from the saved X-Transformer (only the ranker was retrained)"
        manifest["encoder_from_created"] = store.info(ds.name, "xtransformer").manifest.get("created")
    model_id = f"{family}-{tp.variant}"
    info = store.save(model, ds.name, model_id, manifest, source=source)
    runtime.forget_model(ds.name, model_id, store)  # never serve the older one after this save
    report(progress, 1.0, "saved")
    return info
