"""The defence registry: how each robust model variant is made (engine/models/families.py names the
variants and their ids). The CLI's ``train`` flags, the dashboard's "train a robust model" menus and
the report read it. A defence is a model (a retrained one, or a wrapper), so every page, attack and
metric works on it unchanged. A new defence: one module with its train function, one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.errors import InputError
from engine.models.families import ATTACK_TRAINED_FAMILIES, format_model_id, parse_model_id
from engine.robust import adversarial_training, attack_training, smoothing
from engine.types import ProgressFn


@dataclass(frozen=True)
class DefenceSpec:
    """variant: the model-id variant it saves (xlinear-<variant>); wraps: True for a wrapper around a
    saved model (smoothing), False for a retrained model; families: the model families it applies to;
    train(dataset, family, store, progress, base_variant) -> ModelInfo."""

    variant: str
    title: str
    help: str
    wraps: bool
    families: tuple[str, ...]
    train: Callable
    needs_text: bool = False  # a text-only defence (WordNet) is not offered on numeric datasets


def _robust(dataset, family, store=None, progress: ProgressFn | None = None, base_variant: str = "baseline"):
    return adversarial_training.train_robust(dataset, family, store=store, progress=progress)


def _attack_trained(method: str) -> Callable:
    def train(dataset, family, store=None, progress: ProgressFn | None = None, base_variant: str = "baseline"):
        return attack_training.train_attack_trained(dataset, family, attack_training.AttackTrainingParams(method=method),
                                                    store=store, progress=progress)
    return train


def _smoothed(dataset, family, store=None, progress: ProgressFn | None = None, base_variant: str = "baseline"):
    return smoothing.train_smoothed(dataset, format_model_id(family, base_variant), store=store, progress=progress)


DEFENCES: dict[str, DefenceSpec] = {d.variant: d for d in (
    DefenceSpec("robust", "adversarially trained (WordNet + noise augmentation)",
                "clean + WordNet-substituted text and TF-IDF noise, harder each round", False,
                ("xlinear", "xtransformer"), _robust),
    DefenceSpec("advhsj", "trained on HopSkipJump examples",
                "each round attacks a sample of training documents and adds the adversarial vectors", False,
                ATTACK_TRAINED_FAMILIES, _attack_trained("hsj")),
    DefenceSpec("advzoo", "trained on ZOO examples", "as HopSkipJump training, with ZOO's examples", False,
                ATTACK_TRAINED_FAMILIES, _attack_trained("zoo")),
    DefenceSpec("advwordnet", "trained on WordNet-attack texts", "adds the WordNet attack's adversarial texts",
                False, ATTACK_TRAINED_FAMILIES, _attack_trained("wordnet"), needs_text=True),
    DefenceSpec("gauss", "trained on Gaussian-noise copies",
                "adds x + N(0, sigma^2) copies in the feature view (what makes smoothing certificates large)",
                False, ATTACK_TRAINED_FAMILIES, _attack_trained("gauss")),
    DefenceSpec("smoothed", "prediction smoothing", "scores averaged over seeded perturbations of the input",
                True, ("xlinear", "xtransformer"), _smoothed),
)}


def defence(variant: str) -> DefenceSpec:
    if variant not in DEFENCES:
        raise InputError(f"unknown defence {variant!r}: choose one of {', '.join(DEFENCES)}.")
    return DEFENCES[variant]


def defence_for_model_id(model_id: str) -> tuple[str, DefenceSpec | None]:
    """"xlinear-advhsj" -> ("xlinear", the advhsj spec); a baseline id -> (family, None)."""
    fam, variant = parse_model_id(model_id)
    if variant == "baseline":
        return fam, None
    last = "smoothed" if variant.endswith("smoothed") else variant
    return fam, DEFENCES.get(last)


def train_defended(dataset: str, model_id: str, store=None, progress: ProgressFn | None = None):
    """Make the robust model ``model_id`` (e.g. xlinear-robust, xlinear-robust-smoothed) from its baseline."""
    fam, spec = defence_for_model_id(model_id)
    if spec is None:
        raise InputError(f"{model_id} is a baseline model, not a defence: train it with the family's trainer.")
    if fam not in spec.families:
        raise InputError(f"the {spec.title} defence is not available for the {fam} model family.")
    _, variant = parse_model_id(model_id)
    base_variant = variant[: -len("-smoothed")] if spec.wraps and variant.endswith("-smoothed") else "baseline"
    return spec.train(dataset, fam, store=store, progress=progress, base_variant=base_variant)
