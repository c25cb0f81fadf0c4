"""``python -m engine explain``: explain one document's top-k labels (LIME or label-wise attention)."""
from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("explain", help="explain a document's top-k labels with LIME or attention, "
                                              "with faithfulness scores")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="xlinear", help="saved model id (xlinear, xtransformer, ...)")
    p.add_argument("--doc", type=int, required=True, help="document id in the split")
    p.add_argument("--split", default="test", choices=("test", "train"))
    p.add_argument("--method", default="lime", choices=("lime", "attention"))
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--samples", type=int, default=500, help="LIME perturbed samples (1..20000)")
    p.add_argument("--features", type=int, default=10, help="words shown per label")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cache", action="store_true", help="recompute even if a cached result exists")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def format_explanation(expl) -> str:
    lines = [f"{expl.dataset}/{expl.model_id} {expl.split} doc {expl.doc_index}: {expl.method}, "
             f"{len(expl.labels)} labels in {expl.seconds:.2f} s"]
    for lab in expl.labels:
        truth = {True: "true", False: "not true", None: "?"}[lab.is_true]
        lines.append(f"\n{lab.name}  score {lab.score:.4f}  ({truth})")
        for word, w in lab.weights:
            lines.append(f"  {w:+.5f}  {word}")
        rb = lab.random_baseline
        lines.append(f"  comprehensiveness {lab.comprehensiveness:.4f} (random {rb['comprehensiveness']:.4f})  "
                     f"sufficiency {lab.sufficiency:.4f} (random {rb['sufficiency']:.4f})  "
                     f"deletion AUC {lab.deletion_auc:.4f} (random {rb['deletion_auc']:.4f})")
    return "\n".join(lines)


def run(args) -> int:
    from engine.cli import tqdm_progress
    from engine.explain.api import explain_document

    progress = None if args.json else tqdm_progress(f"explain {args.dataset}/{args.model} doc {args.doc}")
    expl = explain_document(args.dataset, args.model, args.doc, method=args.method, top_k=args.top_k,
                            samples=args.samples, n_features=args.features, seed=args.seed, split=args.split,
                            progress=progress, use_cache=not args.no_cache)
    print(json.dumps(expl.to_json(), indent=1) if args.json else format_explanation(expl))
    return 0
