"""``python -m engine encoder-variants --dataset D``: how much the X-Transformer's encoder carries, per
variant -- pooling (the BERT pooler on [CLS] vs the mean of the last hidden states), the embedding scale
alpha on [TF-IDF ; alpha * emb] chosen by CV on the training split, and a ranker on the embedding alone
fused with XR-Linear (weight chosen by CV) -- each for the unmodified and the fine-tuned encoder.

The encoder runs once per (encoder, pooling, split): the embeddings are cached under XTRUST_CACHE_DIR.
Every choice is made by k-fold CV on the training split (engine/models/encoder_variants.py); the test
split is read only to report P@1/3/5 and the encoder's share of the score (engine/explain/score_split.py)
of each variant once it is chosen.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import numpy as np

ENCODERS = ("unmodified", "fine-tuned")


def add_parser(subparsers) -> argparse.ArgumentParser:
    from engine.models.encoder_variants import ALPHAS, FOLDS, FUSION_WEIGHTS
    from engine.models.xtransformer import POOLINGS

    p = subparsers.add_parser("encoder-variants", help="X-Transformer encoder variants: CV on train, P@k and "
                                                       "encoder share on test")
    p.add_argument("--dataset", required=True)
    p.add_argument("--encoders", default=",".join(ENCODERS),
                   help="unmodified (the checkpoint as it is) and/or fine-tuned (the saved xtransformer's encoder)")
    p.add_argument("--poolings", default=",".join(POOLINGS))
    p.add_argument("--alphas", default=",".join(f"{a:g}" for a in ALPHAS), help="embed_scale grid")
    p.add_argument("--weights", default=",".join(f"{w:g}" for w in FUSION_WEIGHTS),
                   help="fusion grid: weight of XR-Linear")
    p.add_argument("--folds", type=int, default=FOLDS)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-fusion", action="store_true", help="skip the embedding-ranker + XR-Linear fusion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)
    return p


def _floats(text: str, what: str) -> tuple[float, ...]:
    from engine.errors import InputError

    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"--{what} takes comma-separated numbers, got {text!r}.") from None


def _cached_embeddings(model, texts: list[str], key: dict, tag: str, poolings, progress) -> dict[str, np.ndarray]:
    """{pooling: model's pooled outputs of texts}, kept as .npy under XTRUST_CACHE_DIR/encoder_embeddings
    (keyed by ``key`` and the pooling); the missing poolings are computed in one encoder pass."""
    from engine.paths import cache_dir

    def path_of(pooling):
        digest = hashlib.sha256(json.dumps({**key, "pooling": pooling}, sort_keys=True, default=str).encode())
        return cache_dir() / "encoder_embeddings" / f"{tag.format(pooling=pooling)}-{digest.hexdigest()[:16]}.npy"

    out = {}
    for p in poolings:
        if path_of(p).is_file():
            emb = np.load(path_of(p), allow_pickle=False)
            if emb.shape[0] == len(texts):
                out[p] = emb
    missing = [p for p in poolings if p not in out]
    if missing:
        fresh = model.embed_poolings(texts, missing, progress=progress)
        for p, emb in fresh.items():
            path = path_of(p)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.save(f, emb, allow_pickle=False)
            os.replace(tmp, path)
            out[p] = emb
    return out


def _test_row(name: str, encoder: str, model, E_te, X_te, Y_te, Y_tr, cv: dict | None) -> dict:
    """P@1/3/5 on test from cached embeddings, and the mean encoder share of the top-5 labels."""
    from engine.explain.score_split import split_rows
    from engine.metrics import ranking_metrics, top_k_indices
    from engine.models.xtransformer import BEAM

    if model.xlinear is not None:
        S = model._ensemble_top_k(E_te, X_te, 5)
    else:
        S = model.xtf.concat_model.predict(model.rank_features(E_te, X_te), beam_size=BEAM, only_topk=5,
                                           threads=model.params.threads)
    m = ranking_metrics(Y_te, S, ks=(1, 3, 5))
    top = top_k_indices(S, 5)
    ids = [row[row >= 0] for row in top]
    shares = [lab.encoder_share for row in split_rows(model, model.ranker_inputs_of(E_te, X_te), ids) for lab in row]
    p = model.params
    return {"variant": name, "encoder": encoder, "pooling": p.pooling, "embed_scale": float(p.alpha),
            "xlinear_weight": float(p.ensemble_xlinear_weight), "P@1": 100 * m["P@1"], "P@3": 100 * m["P@3"],
            "P@5": 100 * m["P@5"], "encoder_share_pct": 100 * float(np.mean(shares)), "cv": cv}


def run_variants(dataset: str, encoders=ENCODERS, poolings=("cls", "mean"), alphas=None, weights=None,
                 folds: int = 3, max_tokens: int = 32, threads: int = 2, fusion: bool = True,
                 progress=None) -> dict:
    """Every variant's CV table (train) and test P@1/3/5 + encoder share. Returns {"rows": [...], ...}."""
    from dataclasses import replace

    from engine.data import load_dataset
    from engine.errors import InputError
    from engine.metrics import ranking_metrics
    from engine.models import encoder_variants as ev
    from engine.models.families import family
    from engine.models.featurize import TfidfText
    from engine.models.store import ModelStore
    from engine.models.xtransformer import POOLINGS, XTransformerXMC
    from engine.types import report

    alphas = tuple(alphas or ev.ALPHAS)
    weights = tuple(weights or ev.FUSION_WEIGHTS)
    for e in encoders:
        if e not in ENCODERS:
            raise InputError(f"unknown encoder {e!r}: choose from {', '.join(ENCODERS)}.")
    for pl in poolings:
        if pl not in POOLINGS:
            raise InputError(f"unknown pooling {pl!r}: choose from {', '.join(POOLINGS)}.")
    ds = load_dataset(dataset)
    family("xtransformer").check_dataset(ds)
    store = ModelStore()
    if "fine-tuned" in encoders:
        store.info(ds.name, "xtransformer")  # a clear error before any work when it is missing
    texts_tr, texts_te = ds.inputs("train"), ds.inputs("test")
    Y_tr, Y_te = ds.train.Y, ds.test.Y
    t0 = time.perf_counter()
    out = {"dataset": ds.name, "folds": folds, "criterion": ev.CRITERION, "rows": []}
    xl = family("xlinear").train(ds, family("xlinear").default_params(ds))
    m = ranking_metrics(Y_te, xl.score_matrix(xl.check_inputs(texts_te), 5), ks=(1, 3, 5))
    out["rows"].append({"variant": "XR-Linear (tuned)", "encoder": "-", "pooling": "-", "embed_scale": 0.0,
                        "xlinear_weight": 1.0, "P@1": 100 * m["P@1"], "P@3": 100 * m["P@3"], "P@5": 100 * m["P@5"],
                        "encoder_share_pct": 0.0, "cv": None})
    base_params = family("xtransformer").default_params(ds, max_tokens=max_tokens, threads=threads,
                                                         fine_tune_flat=True)
    for encoder in encoders:
        if encoder == "fine-tuned":
            info = store.info(ds.name, "xtransformer")
            base = store.load(ds.name, "xtransformer")
            enc_key = {"model_checksums": info.manifest.get("file_checksums")}
        else:
            feat = TfidfText().fit(texts_tr)
            base = XTransformerXMC.from_checkpoint(feat, ds.label_names, replace(base_params, fine_tune=False))
            enc_key = {"encoder": base.params.encoder_path(), "vocabulary": len(feat.vocabulary)}
        X_tr, X_te = base.features(texts_tr), base.features(texts_te)
        key = {"dataset": ds.checksums, "max_tokens": base.max_tokens, **enc_key}
        report(progress, 0.0, f"{encoder} encoder: embedding {len(texts_tr) + len(texts_te):,} texts")
        E = {split: _cached_embeddings(base, texts, {**key, "split": split}, f"{ds.name}-{encoder}-{{pooling}}-{split}",
                                       poolings, progress)
             for split, texts in (("train", texts_tr), ("test", texts_te))}
        for pooling in poolings:
            probe = XTransformerXMC(base.xtf, base.featurizer, base.label_names,
                                    replace(base.params, pooling=pooling, embed_scale=1.0, ranker_tfidf=True,
                                            ensemble_xlinear_weight=0.0), xlinear=None)
            E_tr, E_te = E["train"][pooling], E["test"][pooling]
            fit = dict(texts=texts_tr, Y=Y_tr, X_tfidf=X_tr, embeddings=E_tr, pooling=pooling)
            cv = ev.cv_embed_scale(E_tr, X_tr, Y_tr, probe.params, alphas=alphas, folds=folds, progress=progress)
            for alpha, name, table in ((1.0, "concat, alpha 1", None), (cv["chosen"], "concat, alpha by CV", cv)):
                m_ = probe.refit_ranker(embed_scale=alpha, ranker_tfidf=True, ensemble_xlinear_weight=0.0, **fit)
                out["rows"].append(_test_row(name, encoder, m_, E_te, X_te, Y_te, Y_tr, table))
            if fusion:
                cvf = ev.cv_fusion(E_tr, X_tr, Y_tr, probe.params, weights=weights, folds=folds, progress=progress)
                m_ = probe.refit_ranker(embed_scale=1.0, ranker_tfidf=False,
                                        ensemble_xlinear_weight=cvf["chosen"], **fit)
                out["rows"].append(_test_row("embedding ranker + XR-Linear, w by CV", encoder, m_, E_te, X_te, Y_te,
                                             Y_tr, cvf))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["load_average"] = os.getloadavg()
    return out


def run(args) -> int:
    from engine.cli.progress import progress_for

    res = run_variants(args.dataset, tuple(e for e in args.encoders.split(",") if e),
                       tuple(p for p in args.poolings.split(",") if p), _floats(args.alphas, "alphas"),
                       _floats(args.weights, "weights"), args.folds, args.max_tokens, args.threads,
                       not args.no_fusion, progress=progress_for("encoder-variants", args.json))
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{res['dataset']}: choices by {res['folds']}-fold CV on the training split ({res['criterion']}); "
          f"test split P@k and encoder share of the top-5 scores")
    for r in res["rows"]:
        if r["cv"]:
            key = "embed_scale" if "embed_scale" in r["cv"]["trials"][0] and "weight" not in r["cv"]["trials"][0] \
                else "weight"
            cells = " ".join(f"{t[key]:g}:{100 * t['val_P@1']:.2f}/{100 * t['val_P@5']:.2f}" for t in r["cv"]["trials"])
            print(f"  CV {r['encoder']} {r['pooling']} {key} -> val P@1/P@5: {cells}; chosen {r['cv']['chosen']:g}")
    print(f"{'variant':40s} {'encoder':>10s} {'pool':>5s} {'alpha':>6s} {'w_xl':>5s} "
          f"{'P@1':>6s} {'P@3':>6s} {'P@5':>6s} {'enc %':>6s}")
    for r in res["rows"]:
        print(f"{r['variant']:40s} {r['encoder']:>10s} {r['pooling']:>5s} {r['embed_scale']:6g} "
              f"{r['xlinear_weight']:5.2f} {r['P@1']:6.2f} {r['P@3']:6.2f} {r['P@5']:6.2f} {r['encoder_share_pct']:6.1f}")
    la = res["load_average"]
    print(f"{res['seconds']:.0f} s, load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    return 0
