"""Command-line pieces for attacks, wired into engine/cli/main.py:

- ``add_attack_args(parser)`` / ``run_attack_eval(args)``: ``python -m engine evaluate --attack hsj ...``
- ``add_parser(subparsers)`` / ``run(args)``: ``python -m engine attack --dataset D --model M --doc I ...``
"""
from __future__ import annotations

import argparse

from engine.attacks.api import ATTACKS
from engine.attacks.goals import GOALS
from engine.cli.progress import progress_for
from engine.models.base import MAX_TOP_K


def add_attack_args(parser: argparse.ArgumentParser) -> None:
    """Add --attack/--n/--eps/--ray/--seed/--max-iter to ``python -m engine evaluate``."""
    g = parser.add_argument_group("robustness (with --attack)")
    g.add_argument("--attack", choices=ATTACKS, default=None, help="attack the test documents and report robustness")
    g.add_argument("--n", type=int, default=50, help="documents to attack (seeded sample, default 50)")
    g.add_argument("--eps", type=float, default=None, help="perturbation budget in the feature view (hsj/zoo)")
    g.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="distribute documents over Ray ('local' or a cluster address; RAY_ADDRESS works too)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--max-iter", type=int, default=None, dest="max_iter")
    g.add_argument("--goal", choices=("top1", "topk"), default="top1",
                   help="top1: the top-1 label changes (default); topk: every top-5 label leaves the top-5")
    if not any(a.dest == "json" for a in parser._actions):
        parser.add_argument("--json", action="store_true", help="print one JSON object")


def run_attack_eval(args, model_id: str | None = None) -> dict:
    """Run evaluate_robustness from parsed args (model_id overrides args.model, e.g. "xlinear-robust").

    Without --json prints a table. With --json prints nothing and returns one JSON-ready object
    (keys clean, attacked, success_rate, queries_mean, perturbation_median, n, n_requested, attack, eps,
    seconds_per_doc, and note when --n was capped to the split's size): engine/cli/main.py prints what it
    returns, so the output is exactly one object.
    """
    from engine.attacks.robustness import evaluate_robustness

    model = model_id or args.model
    params = {}
    if getattr(args, "max_iter", None) is not None:
        params["max_iter"] = args.max_iter
    if getattr(args, "goal", "top1") != "top1":
        params["goal"] = args.goal  # top1 stays implicit: cached results keep their key
    split = getattr(args, "split", "test") or "test"
    res = evaluate_robustness(args.dataset, model, args.attack, n=args.n, eps=args.eps, seed=args.seed,
                              split=split, ray_address=getattr(args, "ray", None),
                              progress=progress_for("attack", getattr(args, "json", False)), **params)
    out = {k: res[k] for k in ("clean", "attacked", "success_rate", "queries_mean", "perturbation_median", "n",
                               "n_requested", "attack", "eps", "seconds_per_doc", "note") if k in res}
    if not getattr(args, "json", False):
        print(f"{args.dataset} / {model} under {args.attack}, goal {params.get('goal', 'top1')} "
              f"(n={res['n']}, eps={res['eps']}, seed={args.seed})")
        print(f"{'metric':8s} {'clean':>8s} {'attacked':>9s}")
        for k in res["clean"]:
            print(f"{k:8s} {100 * res['clean'][k]:8.2f} {100 * res['attacked'][k]:9.2f}")
        pm = res["perturbation_median"]
        print(f"success rate {100 * res['success_rate']:.1f}%  queries/doc {res['queries_mean']:.0f}  "
              f"median {res['perturbation']} {'n/a' if pm is None else f'{pm:.4g}'}  "
              f"{res['seconds_per_doc']:.2f} s/doc")
        if res.get("note"):
            print(f"note: {res['note']}")
    return out


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``attack`` subcommand: one document, one attack."""
    p = subparsers.add_parser("attack", help="attack one document (HopSkipJump, ZOO or WordNet synonyms)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="xlinear")
    p.add_argument("--doc", type=int, required=True, help="document id in the split")
    p.add_argument("--attack", choices=ATTACKS, default="hsj")
    p.add_argument("--goal", choices=GOALS, default="top1",
                   help="top1: the top-1 label changes; drop: --label leaves the top-k; topk: every top-k label leaves it")
    p.add_argument("--label", default=None, help="label (id or name) to push out of the top-k, with --goal drop")
    p.add_argument("--top-k", type=int, default=5, dest="top_k", help=f"labels kept (1..{MAX_TOP_K})")
    p.add_argument("--eps", type=float, default=None)
    p.add_argument("--norm", choices=("2", "inf"), default="2")
    p.add_argument("--max-iter", type=int, default=None, dest="max_iter")
    p.add_argument("--max-eval", type=int, default=None, dest="max_eval")
    p.add_argument("--learning-rate", type=float, default=None, dest="learning_rate")
    p.add_argument("--nb-parallel", type=int, default=None, dest="nb_parallel")
    p.add_argument("--max-words", type=int, default=5, dest="max_words")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=("train", "test"), default="test")
    p.add_argument("--json", action="store_true", help="print the AttackResult as JSON")
    p.set_defaults(func=run, run=run)
    return p


def run(args) -> int:
    from engine.attacks.api import attack_document

    res = attack_document(args.dataset, args.model, args.doc, attack=args.attack, goal=args.goal,
                          target_label=args.label, top_k=args.top_k, eps=args.eps, max_iter=args.max_iter,
                          max_eval=args.max_eval, norm=args.norm, learning_rate=args.learning_rate,
                          nb_parallel=args.nb_parallel, max_words=args.max_words, seed=args.seed, split=args.split,
                          progress=progress_for("attack", args.json))
    if args.json:
        print(res.to_json())
        return 0
    print(f"{res.attack} on {args.dataset} doc {args.doc} ({res.space} space, goal {res.goal}): "
          f"{'SUCCESS' if res.success else 'failed'} in {res.queries} queries, {res.seconds:.2f} s")
    print("before: " + ", ".join(f"{x.name} ({x.score:.3f})" for x in res.before.labels))
    print("after:  " + ", ".join(f"{x.name} ({x.score:.3f})" for x in res.after.labels))
    if res.l2 is not None:
        print(f"perturbation: L2 {res.l2:.4f}, Linf {res.linf:.4f}"
              + (f", words changed {res.words_changed}" if res.words_changed is not None else ""))
    if res.adversarial_text is not None:
        print("swaps: " + ", ".join(f"{a} -> {b}" for a, b in res.params.get("swaps", [])))
    n_changed = "?" if res.features_changed is None else f"{res.features_changed:,}"
    print(f"features changed: {n_changed} (the {min(10, len(res.changed))} largest below)")
    print("most changed: " + ", ".join(f"{w} {a:.3f}->{b:.3f}" for w, a, b in res.changed[:10]))
    return 0
