"""python -m engine train | evaluate | explain | faithfulness | attack | certify | bench | tune | report | data

The command line is a client of the engine (above engine.pipeline): it parses, checks storage and
output before any long work (``preflight``), calls the engine, prints, and turns every XTrustError
into ``error: ...`` with exit code 2."""
from __future__ import annotations

import argparse
import json
import os
import sys

from engine.cli import attacks as attacks_cli, certify as certify_cli, encoder_variants as encoder_variants_cli
from engine.cli import explain as explain_cli
from engine.cli.progress import tqdm_progress
from engine.errors import Cancelled, InputError, StorageError, XTrustError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Sub-command modules: each has add_parser(sub) and run(args); attacks also adds evaluate's options.
COMMAND_MODULES = (explain_cli, attacks_cli, certify_cli, encoder_variants_cli)


def build_parser() -> argparse.ArgumentParser:
    from engine.data.dataset import DATASETS

    p = argparse.ArgumentParser(prog="python -m engine", description="XTrust engine: train, evaluate, explain, attack.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and save it with its manifest")
    t.add_argument("--dataset", required=True, help=f"{', '.join(DATASETS)} or an imported dataset")
    t.add_argument("--model", choices=("xlinear", "xtransformer"), default="xlinear")
    t.add_argument("--robust", action="store_true", help="adversarially trained variant (saved as MODEL-robust)")
    t.add_argument("--fine-tune-encoder", action="store_true",
                   help="with --robust --model xtransformer: fine-tune a new encoder on clean + augmented text "
                        "(hours on a CPU) instead of keeping the saved X-Transformer's encoder")
    t.add_argument("--smoothed", action="store_true",
                   help="wrap the saved MODEL (or MODEL-robust) with prediction smoothing, saved as ...-smoothed")
    t.add_argument("--adv-attack", choices=("hsj", "zoo", "wordnet"),
                   help="train on examples this attack makes each round (saved as MODEL-adv<attack>)")
    t.add_argument("--gauss", action="store_true", help="train on Gaussian-noise copies (saved as MODEL-gauss)")
    t.add_argument("--rounds", type=int, default=2, help="--adv-attack / --gauss: training rounds (1-10)")
    t.add_argument("--sample-size", type=int, default=100, help="--adv-attack: training documents attacked per round")
    t.add_argument("--adv-eps", type=float, default=1.2, help="--adv-attack hsj/zoo: L2 budget in the feature view")
    t.add_argument("--sigma", type=float, default=0.1, help="--gauss: noise std in the feature view")
    t.add_argument("--smooth-samples", type=int, default=8, help="perturbations averaged per input")
    t.add_argument("--smooth-rate", type=float, default=0.15, help="word dropout rate / noise amplitude")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--nr-splits", type=int, help="label-tree branching factor")
    t.add_argument("--max-leaf-size", type=int, help="labels per leaf cluster")
    t.add_argument("--C", type=float, help="ranker regularisation")
    t.add_argument("--loss", choices=("squared-hinge", "hinge", "logistic"))
    t.add_argument("--epochs", type=int, help="X-Transformer fine-tuning epochs")
    t.add_argument("--max-tokens", type=int, help="X-Transformer encoder token budget")
    t.add_argument("--batch-size", type=int, help="X-Transformer batch size")
    t.add_argument("--flat", action="store_true", help="X-Transformer: fine-tune once on all labels (about 2x faster)")
    t.add_argument("--ranker-threshold", type=float, help="X-Transformer ranker weight pruning (PECOS default 0.1 "
                                                          "drops every embedding weight; ours 0.01)")
    t.add_argument("--ensemble-xlinear-weight", type=float, help="X-Transformer: blend with XR-Linear scores")
    t.add_argument("--threads", type=int, help="X-Transformer: torch threads")
    t.add_argument("--pooling", choices=("cls", "mean"),
                   help="X-Transformer: encoder output read by the ranker: the BERT pooler on [CLS] (PECOS) or the "
                        "mean of the last hidden states (how all-MiniLM-L6-v2 was trained)")
    t.add_argument("--embed-scale", help="X-Transformer: alpha on the embedding half of [TF-IDF ; alpha * emb], a "
                                         "number or 'auto' (3-fold CV on the training split, table in the manifest)")
    t.add_argument("--embedding-ranker", action="store_true",
                   help="X-Transformer: the ranker reads the embedding alone, fused with XR-Linear "
                        "(--ensemble-xlinear-weight, default 0.5)")
    t.add_argument("--no-fine-tune", action="store_true",
                   help="X-Transformer: keep the encoder checkpoint as it is and train only the ranker (minutes)")
    t.add_argument("--json", action="store_true")

    e = sub.add_parser("evaluate", help="P@k, R@k, nDCG@k, PSP@k on the official test split (optionally attacked)")
    e.add_argument("--dataset", required=True)
    e.add_argument("--model", default="xlinear", help="xlinear, xtransformer, or a saved model id (e.g. xlinear-robust)")
    e.add_argument("--robust", action="store_true")
    e.add_argument("--json", action="store_true")

    b = sub.add_parser("bench", help="training time, predict latency, peak memory; explanation and attack speed")
    b.add_argument("--json", action="store_true")
    b.add_argument("--quick", action="store_true", help="BibTeX XR-Linear only")
    b.add_argument("--datasets", default="bibtex,delicious,mediamill")

    tu = sub.add_parser("tune", help="choose XR-Linear C and leaf size, or whether the X-Transformer fine-tunes its "
                                     "encoder, by 3-fold cross-validation on the training split")
    tu.add_argument("--dataset", required=True)
    tu.add_argument("--model", choices=("xlinear", "xtransformer"), default="xlinear")
    tu.add_argument("--max-tokens", type=int, help="xtransformer: encoder token budget (as it will be trained)")
    tu.add_argument("--flat", action="store_true", help="xtransformer: fine-tune once on all labels")
    tu.add_argument("--threads", type=int, help="xtransformer: torch threads")
    tu.add_argument("--seed", type=int, default=0)
    tu.add_argument("--save", action="store_true", help="store the choice as the dataset's training defaults")
    tu.add_argument("--json", action="store_true")

    rp = sub.add_parser("report", help="regenerate every table of the paper beside ours (Markdown + offline HTML)")
    rp.add_argument("--datasets", default="bibtex,delicious,mediamill")
    rp.add_argument("--out", default="reports/latest")
    rp.add_argument("--n", type=int, default=40, help="test documents attacked per (model, attack)")
    rp.add_argument("--quick", action="store_true", help="5 documents per attack, no attacks on the smoothed model: a demo in minutes")
    rp.add_argument("--seed", type=int, default=0)

    d = sub.add_parser("data", help="show where each dataset is found, downloading what is missing")
    d.add_argument("--no-download", action="store_true")
    add_scale_commands(sub, b)
    from engine.bench_pages import add_pages_argument

    add_pages_argument(b)

    attacks_cli.add_attack_args(e)
    for mod in COMMAND_MODULES:
        before = set(sub.choices)
        mod.add_parser(sub)
        for name in set(sub.choices) - before:  # route the module's sub-commands to its run()
            if sub.choices[name].get_default("run") is None:
                sub.choices[name].set_defaults(run=mod.run)
    return p


def _train(args) -> dict:
    from engine import pipeline
    from engine.data import load_dataset

    ds = load_dataset(args.dataset)
    if sum(map(bool, (args.robust, args.adv_attack, args.gauss))) > 1:
        raise InputError("choose one of --robust, --adv-attack and --gauss.")
    trained = "-robust" if args.robust else f"-adv{args.adv_attack}" if args.adv_attack else "-gauss" if args.gauss else ""
    if args.smoothed:
        from engine.robust.smoothing import SmoothingParams, train_smoothed

        base = args.model + trained
        info = train_smoothed(ds.name, base, SmoothingParams(args.smooth_samples, args.smooth_rate, args.seed),
                              progress=tqdm_progress(f"smooth {ds.name}/{base}"))
        return {"model": f"{info.dataset}/{info.model_id}", "path": str(info.path), "train_seconds": 0.0,
                "metrics": info.manifest.get("metrics", {})}
    overrides = {}
    if args.model == "xlinear":
        for a, k in (("nr_splits", "nr_splits"), ("max_leaf_size", "max_leaf_size"), ("C", "C"), ("loss", "loss")):
            if getattr(args, a) is not None:
                overrides[k] = getattr(args, a)
    else:
        for a, k in (("nr_splits", "nr_splits"), ("max_leaf_size", "max_leaf_size"), ("C", "ranker_C"),
                     ("loss", "ranker_loss"), ("epochs", "epochs"), ("max_tokens", "max_tokens"),
                     ("batch_size", "batch_size"), ("ranker_threshold", "ranker_threshold"),
                     ("ensemble_xlinear_weight", "ensemble_xlinear_weight"), ("threads", "threads")):
            if getattr(args, a) is not None:
                overrides[k] = getattr(args, a)
        if args.flat:
            overrides["fine_tune_flat"] = True
        if args.pooling:
            overrides["pooling"] = args.pooling
        if args.embed_scale is not None:
            overrides["embed_scale"] = _embed_scale(args.embed_scale)
        if args.embedding_ranker:
            overrides["ranker_tfidf"] = False
            overrides.setdefault("ensemble_xlinear_weight", 0.5)
        if args.no_fine_tune:
            overrides["fine_tune"] = False
    if args.model == "xlinear" and (args.pooling or args.embed_scale is not None or args.embedding_ranker
                                    or args.no_fine_tune):
        raise InputError("--pooling, --embed-scale, --embedding-ranker and --no-fine-tune apply to --model xtransformer.")
    if args.fine_tune_encoder and not (args.robust and args.model == "xtransformer"):
        raise InputError("--fine-tune-encoder applies only to --robust --model xtransformer.")
    keeps_encoder = args.robust and args.model == "xtransformer" and not args.fine_tune_encoder
    if (args.adv_attack or args.gauss) and args.model == "xtransformer" and overrides:
        raise InputError(f"--{'adv-attack' if args.adv_attack else 'gauss'} on the X-Transformer keeps the saved "
                         f"model's encoder, TF-IDF and ranker settings and retrains its ranker; "
                         f"{', '.join(sorted(overrides))} cannot change (train the X-Transformer with them first).")
    if keeps_encoder and overrides:
        raise InputError(f"--robust keeps the saved X-Transformer's encoder and ranker settings; "
                         f"{', '.join(sorted(overrides))} cannot change (add --fine-tune-encoder to train anew).")
    params = pipeline.default_params(args.model, ds, seed=args.seed, **overrides)
    progress = tqdm_progress(f"train {args.dataset}/{args.model}{trained}")
    if args.adv_attack or args.gauss:
        from engine.robust.attack_training import AttackTrainingParams, train_attack_trained

        training = AttackTrainingParams(args.adv_attack or "gauss", args.rounds, args.sample_size, args.adv_eps,
                                        args.sigma, seed=args.seed)
        info = train_attack_trained(ds, args.model, training, params=params, progress=progress)
    elif args.robust:
        info = pipeline.train_robust(ds.name, args.model, params=None if keeps_encoder else params, progress=progress,
                                     seed=args.seed, fine_tune_encoder=args.fine_tune_encoder)
    else:
        info = pipeline.train_model(ds, args.model, params=params, progress=progress)
    return {"model": f"{info.dataset}/{info.model_id}", "path": str(info.path),
            "train_seconds": info.manifest.get("train_seconds"), "metrics": info.manifest.get("metrics", {})}


def _embed_scale(text: str):
    """--embed-scale: 'auto' or a positive number."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--embed-scale takes a number or 'auto', got {text!r}.") from None


def _evaluate(args) -> dict:
    from engine import pipeline
    from engine.data import load_dataset

    model_id = args.model + ("-robust" if args.robust and not args.model.endswith("-robust") else "")
    if getattr(args, "attack", None):
        return attacks_cli.run_attack_eval(args, model_id)
    ds = load_dataset(args.dataset)
    model = pipeline.get_model(ds.name, model_id)
    return pipeline.evaluate_model(model, ds, progress=tqdm_progress(f"evaluate {ds.name}/{model_id}"))


def _data(args) -> dict:
    from engine.data import DATASETS, load_dataset

    out = {}
    for name in DATASETS:
        try:
            ds = load_dataset(name, download=not args.no_download)
            out[name] = {"status": "ok", "sample": ds.is_sample, "train": ds.train.n, "test": ds.test.n}
        except XTrustError as exc:
            out[name] = {"status": "missing", "message": str(exc)}
    return out


def print_metrics(m: dict) -> None:
    rows = [("P", "P@"), ("R", "R@"), ("nDCG", "nDCG@"), ("PSP", "PSP@")]
    print(f"{'':6}" + "".join(f"{'@' + str(k):>9}" for k in range(1, 6)))
    for name, pre in rows:
        if f"{pre}1" in m:
            print(f"{name:6}" + "".join(f"{100 * m[f'{pre}{k}']:9.2f}" for k in range(1, 6)))


def preflight(args) -> None:
    """Checks before any long work, so a fault is an ``error:`` line now, not after an hour of training:
    standard output is open, the data / model / cache folders are usable (proven writable where this
    command will write), report --out is writable, report --n is positive, a Ray address answers."""
    if sys.stdout is None or getattr(sys.stdout, "closed", False):
        raise StorageError("standard output is closed, so the result could not be printed: run the command "
                           "with its output open (e.g. > result.json).")
    from engine import paths

    command = args.command
    attacks = command == "evaluate" and getattr(args, "attack", None)
    # the model store is written by training (report trains the missing cheap models); results are
    # cached by explanations (unless --no-cache), attacks, robustness, faithfulness and the report
    models = "write" if command in ("train", "report") else "read"
    cache = "write" if (command in ("attack", "faithfulness", "report") or attacks
                        or (command == "explain" and not args.no_cache)) else "read"
    paths.check_storage(models=models, cache=cache)
    if command == "report":
        if args.n < 1:
            raise InputError(f"--n (test documents attacked per model and attack) must be at least 1, got {args.n}.")
        paths.ensure_writable_dir(args.out, "report folder (--out)")
    if command == "tune" and args.save:
        from engine.models.tuning import TUNED_FILE

        paths.ensure_writable_dir(TUNED_FILE.parent, "folder of the tuned defaults")
    if attacks:
        from engine.attacks.robustness import check_ray_address

        check_ray_address(getattr(args, "ray", None) or os.environ.get("RAY_ADDRESS"))


def _quiet_broken_pipe() -> int:
    """The reader of our output went away (``| head``): point stdout at /dev/null so the interpreter's
    final flush cannot fail again, and exit as a process killed by SIGPIPE would (128 + 13)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    return 141


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _run(args) -> int:
    try:
        preflight(args)
        if args.command == "train":
            out = _train(args)
            if args.json:
                print(json.dumps(out, indent=1))
            else:
                print(f"saved {out['model']} ({out['train_seconds']:.1f} s) at {out['path']}")
                print_metrics(out["metrics"])
        elif args.command == "evaluate":
            out = _evaluate(args)
            if args.json:
                print(json.dumps(out, indent=1))
            elif "clean" in out:
                pass  # printed by the attack plugin
            else:
                print_metrics(out)
        elif args.command == "bench" and args.pages:
            from engine.bench_pages import run_pages_command

            return run_pages_command(args)
        elif args.command == "bench" and args.scale is not None:
            return run_scale_command(args)
        elif args.command == "bench":
            from engine.bench import run_bench

            out = run_bench(quick=args.quick, datasets=args.datasets.split(","), progress=tqdm_progress("bench"))
            print(json.dumps(out, indent=1) if args.json else _format_bench(out))
        elif args.command == "tune":
            from engine import pipeline
            from engine.data import load_dataset
            from engine.models.tuning import save_tuned, tune_xlinear, tune_xtransformer

            if args.model == "xlinear" and (args.max_tokens is not None or args.flat or args.threads is not None):
                raise InputError("--max-tokens, --flat and --threads apply to tune --model xtransformer.")
            ds = load_dataset(args.dataset)
            if args.model == "xtransformer":
                over = {k: v for k, v in (("max_tokens", args.max_tokens), ("threads", args.threads),
                                          ("fine_tune_flat", True if args.flat else None)) if v is not None}
                params = pipeline.default_params("xtransformer", ds, seed=args.seed, **over)
                out = tune_xtransformer(ds, params, seed=args.seed, progress=tqdm_progress(f"tune {args.dataset}"))
                if args.save:
                    save_tuned(args.dataset, out, family="xtransformer")
                if args.json:
                    print(json.dumps(out, indent=1))
                else:
                    for t in out["trials"]:
                        print(f"{'fine-tuned' if t['fine_tune'] else 'unmodified':10} encoder: val P@1 "
                              f"{100 * t['val_P@1']:.2f}  P@5 {100 * t['val_P@5']:.2f}  ({t['train_s']} s per fold)")
                    print(f"best: fine_tune={out['best']['fine_tune']}" + (" (saved)" if args.save else ""))
                return 0
            out = tune_xlinear(ds, seed=args.seed, progress=tqdm_progress(f"tune {args.dataset}"))
            if args.save:
                save_tuned(args.dataset, out)
            if args.json:
                print(json.dumps(out, indent=1))
            else:
                for t in out["trials"]:
                    print(f"C={t['C']:<5} leaf={t['max_leaf_size']:<4} val P@1 {100 * t['val_P@1']:.2f}  P@5 {100 * t['val_P@5']:.2f}")
                print(f"best: C={out['best']['C']} max_leaf_size={out['best']['max_leaf_size']}" + (" (saved)" if args.save else ""))
        elif args.command == "report":
            from engine.report.build import build_report

            out = build_report(args.datasets.split(","), args.out, n=args.n, quick=args.quick, seed=args.seed,
                               progress=tqdm_progress("report"))
            print(f"wrote {out['markdown']} and {out['html']} in {out['seconds']} s")
        elif args.command == "data":
            for name, st in _data(args).items():
                print(f"{name:10} {st['status']}" + (f"  train={st['train']} test={st['test']}" +
                      (" (sample)" if st["sample"] else "") if st["status"] == "ok" else f"\n{st['message']}"))
        else:
            return int(args.run(args) or 0)
    except Cancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return 130
    except XTrustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _format_bench(out: dict) -> str:
    lines = []
    for section, rows in out.items():
        lines.append(f"== {section}")
        if isinstance(rows, list):
            for r in rows:
                lines.append("  " + ", ".join(f"{k}={v}" for k, v in r.items()))
        else:
            lines.append("  " + json.dumps(rows))
    return "\n".join(lines)


# -- issue 16, extreme scale: generate / import (sub-commands) and bench --scale (one self-contained block) ----
def add_scale_commands(sub, bench_parser) -> None:
    """Register 'generate', 'import' (routed through their run=) and the bench parser's --scale options."""
    from engine.data.synthetic import PRESETS, VOCABULARIES
    from engine.data.xc_import import MAX_IMPORT_LABELS

    g = sub.add_parser("generate", help="generate a synthetic XC-shaped dataset (power-law labels, word features), "
                                        "stored and loadable by name")
    g.add_argument("--preset", required=True, choices=tuple(PRESETS))
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--train", type=int, help="training documents (default: the preset's)")
    g.add_argument("--test", type=int, help="test documents (default: the preset's)")
    g.add_argument("--name", help="dataset name (default synth-PRESET)")
    g.add_argument("--vocabulary", choices=VOCABULARIES, default="syllables",
                   help="word names: pronounceable syllables, or real WordNet lemmas first (needs WordNet)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(run=_run_generate)
    im = sub.add_parser("import", help="import a large XC train + test text file pair (streamed; up to "
                                       f"{MAX_IMPORT_LABELS:,} labels, bounded by memory)")
    im.add_argument("--name", required=True)
    im.add_argument("--train", required=True, help="XC text file of the training split")
    im.add_argument("--test", required=True, help="XC text file of the test split")
    im.add_argument("--feature-names", help="one word per line, one per feature (makes a text dataset)")
    im.add_argument("--label-names", help="one name per line, one per label")
    im.add_argument("--json", action="store_true")
    im.set_defaults(run=_run_import)
    bench_parser.add_argument("--scale", nargs="?", const="eurlex-4k,wiki10-31k", default=None, metavar="PRESETS",
                              help="scale benchmark on synthetic presets (comma-separated; default "
                                   "eurlex-4k,wiki10-31k; amazon-670k takes tens of minutes)")
    bench_parser.add_argument("--scale-train", type=int, help="with --scale: training documents of every preset")
    bench_parser.add_argument("--scale-docs", type=int, default=3, help="with --scale: documents explained/attacked")
    bench_parser.add_argument("--no-import", action="store_true", help="with --scale: skip the XC write + import")
    bench_parser.add_argument("--scale-hsj-docs", type=int, help="with --scale: documents attacked with HopSkipJump "
                                                                  "(default --scale-docs; 0: only its per-query cost)")
    bench_parser.add_argument("--scale-ray-docs", type=int, default=0,
                              help="with --scale: documents of the robustness + faithfulness runs done locally and "
                                   "on a local Ray cluster of 1 and 2 workers (0: skip)")
    bench_parser.add_argument("--scale-plot", metavar="FILE.html",
                              help="with --scale: also write the costs against the label count as a log-log plot "
                                   "(offline HTML)")
    bench_parser.add_argument("--scale-existing", action="store_true",
                              help="with --scale: PRESETS name datasets with a saved xlinear model in the configured "
                                   "folders; measure them as they are (no generation, import or training)")


def _run_generate(args) -> int:
    from dataclasses import asdict

    from engine.data.synthetic import generate_dataset

    s = generate_dataset(args.preset, name=args.name, seed=args.seed, n_train=args.train, n_test=args.test,
                         vocabulary=args.vocabulary, progress=tqdm_progress(f"generate {args.preset}"))
    print(json.dumps(asdict(s), indent=1) if args.json else
          f"generated {s.name}: {s.n_train:,} train / {s.n_test:,} test documents, {s.n_labels:,} labels "
          f"({s.labels_unseen_in_train:,} never in train), {s.n_features:,} words in {s.seconds:.1f} s")
    return 0


def _run_import(args) -> int:
    from dataclasses import asdict

    from engine.data.xc_import import import_xc_files

    s = import_xc_files(args.name, args.train, args.test, args.feature_names, args.label_names,
                        progress=tqdm_progress(f"import {args.name}"))
    print(json.dumps(asdict(s), indent=1) if args.json else
          f"imported {s.name} ({s.kind}): {s.n_train:,} train / {s.n_test:,} test rows, {s.n_features:,} features, "
          f"{s.n_labels:,} labels in {s.seconds:.1f} s")
    return 0


def run_scale_command(args) -> int:
    from engine.bench_scale import format_scale, run_scale_bench, scale_plot_html

    plot = getattr(args, "scale_plot", None)
    if plot:  # before minutes of work: the plot's folder must take a file
        from engine.paths import ensure_writable_dir

        ensure_writable_dir(os.path.dirname(os.path.abspath(plot)), "folder of --scale-plot")
    out = run_scale_bench([x.strip() for x in args.scale.split(",") if x.strip()], n_train=args.scale_train,
                          n_docs=args.scale_docs, with_import=not args.no_import,
                          hsj_docs=args.scale_hsj_docs, ray_docs=args.scale_ray_docs, existing=args.scale_existing,
                          progress=tqdm_progress("bench --scale"))
    if plot:
        from engine.atomic import write_text_atomic

        write_text_atomic(plot, scale_plot_html(out))
        out["plot"] = os.path.abspath(plot)
    print(json.dumps(out, indent=1) if args.json else format_scale(out) + (f"\nlog-log plot: {plot}" if plot else ""))
    return 0
