"""``python -m engine certify --dataset D --model M --doc I [--method gaussian|wordnet] ...``: one
document's certified radii and MultiGuard count (a sub-command module of engine/cli/main.py: add_parser / run)."""
from __future__ import annotations

import argparse

from engine.certify import CERTIFICATES
from engine.cli.progress import progress_for


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``certify`` subcommand; options and help texts come from the certificate registry."""
    p = subparsers.add_parser("certify", help="certified robustness of one document (per-label radius, MultiGuard)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="xlinear")
    p.add_argument("--doc", type=int, required=True, help="document id in the split")
    p.add_argument("--method", choices=tuple(CERTIFICATES), default="gaussian",
                   help="; ".join(f"{s.name}: {s.description}" for s in CERTIFICATES.values()))
    seen = set()
    for spec in CERTIFICATES.values():
        for prm in spec.params:
            if prm.name in seen:
                continue
            seen.add(prm.name)
            owners = [(s, q) for s in CERTIFICATES.values() for q in s.params if q.name == prm.name]
            helps = dict.fromkeys(q.help for _, q in owners)
            defaults = {q.default for _, q in owners}
            default = (str(prm.default) if len(defaults) == 1
                       else ", ".join(f"{s.name} {q.default}" for s, q in owners))
            # default None: each certificate fills in its own default (the radius is l2 or words)
            p.add_argument("--" + prm.name.replace("_", "-"), dest=prm.name, default=None,
                           type=float if prm.name == "radius" else prm.kind,
                           help=f"{' / '.join(helps)} (default {default})")
    p.add_argument("--split", choices=("train", "test"), default="test")
    p.add_argument("--json", action="store_true", help="print the CertifyResult as JSON")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from engine.certify.api import certify_document

    spec = CERTIFICATES[args.method]
    params = {q.name: getattr(args, q.name, None) for q in spec.params}
    if spec.unit == "words" and params.get("radius") is not None and float(params["radius"]).is_integer():
        params["radius"] = int(params["radius"])
    res = certify_document(args.dataset, args.model, args.doc, args.method, split=args.split,
                           progress=progress_for("certify", args.json), **params)
    if args.json:
        print(res.to_json())
        return 0
    unit = "l2 radius" if spec.unit == "l2" else "words"
    print(f"{spec.title} on {args.dataset} doc {args.doc} with {args.model}: top-{res.top_k}, "
          f"{res.queries} samples, {res.seconds:.2f} s")
    print(f"{'label':40s} {'true':>5s} {'p_lower':>8s} {unit:>10s}")
    for lab in res.labels:
        r = "abstain" if lab.radius is None else f"{lab.radius:.4g}" if spec.unit == "l2" else str(lab.radius)
        print(f"{lab.name[:40]:40s} {'yes' if lab.is_true else 'no':>5s} {lab.p_lower:8.4f} {r:>10s}")
    print(f"MultiGuard: {res.true_certified} of {res.n_true} true labels provably stay in the top-{res.top_k} "
          f"at {unit} {res.radius:g}; certified true labels in the top-{res.top_k}: {res.certified_true_in_top_k}")
    print(res.guarantee)
    return 0
