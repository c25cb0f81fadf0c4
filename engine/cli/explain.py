"""``python -m engine explain``: explain one document's top-k labels (LIME, label-wise attention or
whole-score attribution)."""
from __future__ import annotations

import json

from engine.models.base import MAX_TOP_K


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("explain", help="explain a document's top-k labels with LIME or attention, "
                                              "with faithfulness scores")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="xlinear", help="saved model id (xlinear, xtransformer, ...)")
    p.add_argument("--doc", type=int, required=True, help="document id in the split")
    p.add_argument("--split", default="test", choices=("test", "train"))
    p.add_argument("--method", default="lime", choices=("lime", "attention", "whole"),
                   help="whole: exact TF-IDF + integrated-gradients encoder attribution of the whole score, "
                        "with each label's encoder share of the score")
    p.add_argument("--top-k", type=int, default=5, help=f"labels explained (1..{MAX_TOP_K})")
    p.add_argument("--samples", type=int, default=500, help="LIME perturbed samples (1..20000)")
    p.add_argument("--features", type=int, default=10, help="words shown per label")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cache", action="store_true", help="recompute even if a cached result exists")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    f = subparsers.add_parser("faithfulness", help="mean comprehensiveness / sufficiency / deletion AUC of LIME vs "
                                                   "attention vs random over n test documents")
    f.add_argument("--dataset", required=True)
    f.add_argument("--model", default="xlinear")
    f.add_argument("--docs", type=int, default=100, help="number of test documents (drawn with --seed)")
    f.add_argument("--samples", type=int, default=500, help="LIME samples per document")
    f.add_argument("--top-k", type=int, default=5, help=f"labels per document (1..{MAX_TOP_K})")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="one Ray task per document ('local' or a cluster address; RAY_ADDRESS works too)")
    f.add_argument("--json", action="store_true")


def format_explanation(expl) -> str:
    lines = [f"{expl.dataset}/{expl.model_id} {expl.split} doc {expl.doc_index}: {expl.method}, "
             f"{len(expl.labels)} labels in {expl.seconds:.2f} s"]
    for lab in expl.labels:
        truth = {True: "true", False: "not true", None: "?"}[lab.is_true]
        lines.append(f"\n{lab.name}  score {lab.score:.4f}  ({truth})")
        if "completeness_error" in lab.extra:  # whole-score attribution
            x = lab.extra
            lines.append(f"  encoder share of the score {x['encoder_share_pct']:.2f} %; attributions sum to "
                         f"{x['attribution_sum']:+.5f} of {x['target']} {x['target_value'] - x['baseline_value']:+.5f} "
                         f"(completeness error {100 * x['completeness_error']:.3f} %)")
        elif "encoder_share_pct" in lab.extra:  # attention: it speaks for the encoder's share only
            lines.append(f"  encoder share of the score {lab.extra['encoder_share_pct']:.2f} % (attention explains "
                         "only that part; the rest is the TF-IDF half)")
        for word, w in lab.weights:
            lines.append(f"  {w:+.4g}  {word}")  # attention relevances can be ~1e-7: never shown as +0.00000
        rb = lab.random_baseline
        lines.append(f"  comprehensiveness {lab.comprehensiveness:.4f} (random {rb['comprehensiveness']:.4f})  "
                     f"sufficiency {lab.sufficiency:.4f} (random {rb['sufficiency']:.4f})  "
                     f"deletion AUC {lab.deletion_auc:.4f} (random {rb['deletion_auc']:.4f})")
    return "\n".join(lines)


def format_table(res: dict) -> str:
    lines = [f"{res['dataset']}/{res['model_id']}: {res['n_docs']} test docs x top-{res['labels_per_doc']} labels, "
             f"LIME {res['samples']} samples, seed {res['seed']} ({res['seconds']} s; "
             f"{res.get('cached_docs', 0)} documents from the cache)",
             f"{'method':10}{'comprehensiveness ^':>21}{'sufficiency v':>16}{'deletion AUC v':>17}"]
    for m, row in res["table"].items():
        lines.append(f"{m:10}{row['comprehensiveness']:>21.4f}{row['sufficiency']:>16.4f}{row['deletion_auc']:>17.4f}")
    lines.append("vs the random order on the same label, share of labels: wins / ties / losses")
    for m, row in res.get("vs_random", {}).items():
        cells = ["-" if v is None else f"{v['wins']:.1%} / {v['ties']:.1%} / {v['losses']:.1%}"
                 for v in (row["comprehensiveness"], row["sufficiency"], row["deletion_auc"])]
        lines.append(f"{m:10}{cells[0]:>21}{cells[1]:>24}{cells[2]:>24}")
    if res.get("method_seconds"):
        lines.append("seconds (recorded when computed): " + "; ".join(
            f"{m} explain {t['explain']} (the method itself {t.get('method', '?')}) + faithfulness "
            f"{t['faithfulness']}" for m, t in res["method_seconds"].items()))
    return "\n".join(lines)


def run(args) -> int:
    from engine.cli.progress import tqdm_progress

    if args.command == "faithfulness":
        from engine.explain.faithfulness_table import faithfulness_table

        res = faithfulness_table(args.dataset, args.model, n_docs=args.docs, seed=args.seed, samples=args.samples,
                                 top_k=args.top_k, progress=None if args.json else tqdm_progress("faithfulness"),
                                 ray_address=args.ray)
        print(json.dumps(res, indent=1) if args.json else format_table(res))
        return 0
    from engine.explain.api import explain_document

    progress = None if args.json else tqdm_progress(f"explain {args.dataset}/{args.model} doc {args.doc}")
    expl = explain_document(args.dataset, args.model, args.doc, method=args.method, top_k=args.top_k,
                            samples=args.samples, n_features=args.features, seed=args.seed, split=args.split,
                            progress=progress, use_cache=not args.no_cache)
    print(json.dumps(expl.to_json(), indent=1) if args.json else format_explanation(expl))
    return 0
