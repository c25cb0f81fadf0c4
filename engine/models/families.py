"""Model families and model ids, written once: the CLI's choices, the dashboard's model lists and
the store's loader all read this registry.

A family is a trainable model class (XR-Linear, X-Transformer). A saved model's id is its family
plus a variant suffix: ``xlinear`` (baseline), ``xlinear-robust`` (adversarially trained, see
engine/robust/adversarial_training.py), ``xlinear-smoothed`` / ``xlinear-robust-smoothed``
(prediction smoothing wrapped around a saved model), ``xlinear-advhsj`` / ``-advzoo`` /
``-advwordnet`` (trained on attack-generated examples) and ``xlinear-gauss`` (trained on Gaussian-noise
copies in the feature view), see engine/robust/attack_training.py, each with its ``-smoothed`` wrapper.
A new family is one new model module plus
one ``ModelFamily`` entry below (classes are imported only when used: torch loads only for the
X-Transformer).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from engine.errors import InputError, ModelError
from engine.types import Dataset, ProgressFn

# trained variants: variant -> (train flags, title suffix); each also has a "<variant>-smoothed" wrapper
_TRAINED = {
    "baseline": ("", ""),
    "robust": (" --robust", "adversarially trained"),
    # engine/robust/attack_training.py: one variant per attack that makes the training examples
    "advhsj": (" --adv-attack hsj", "trained on HopSkipJump examples"),
    "advzoo": (" --adv-attack zoo", "trained on ZOO examples"),
    "advwordnet": (" --adv-attack wordnet", "trained on WordNet examples"),
    "gauss": (" --gauss", "Gaussian-noise trained"),
}
ATTACK_VARIANTS = {"hsj": "advhsj", "zoo": "advzoo", "wordnet": "advwordnet"}  # attack -> variant
ATTACK_TRAINED_FAMILIES = ("xlinear", "xtransformer")  # families attack_training.py trains
VARIANTS = tuple(list(_TRAINED) + ["smoothed" if v == "baseline" else f"{v}-smoothed" for v in _TRAINED])
_SUFFIX = {v: ("" if v == "baseline" else "-" + v) for v in VARIANTS}


@dataclass(frozen=True)
class ModelFamily:
    """name: CLI / manifest name; title: shown to people; cls / params: "module:Class" (lazy);
    needs_text: reads text only (refused on dense datasets); trainable: offered by ``train``."""

    name: str
    title: str
    cls: str
    params: str | None
    needs_text: bool
    help: str
    trainable: bool = True
    defaults: Callable[[Dataset], dict] | None = None  # dataset-specific parameter defaults

    def model_class(self):
        module, _, name = self.cls.partition(":")
        return getattr(importlib.import_module(module), name)

    def params_class(self):
        if self.params is None:
            raise ModelError(f"the {self.name} family has no training parameters.")
        module, _, name = self.params.partition(":")
        return getattr(importlib.import_module(module), name)

    def default_params(self, ds: Dataset, **overrides):
        """Frozen params: the family's defaults, then the dataset's tuned values, then ``overrides``."""
        base = self.defaults(ds) if self.defaults else {}
        return self.params_class()(**{**base, **overrides})

    def check_dataset(self, ds: Dataset) -> None:
        if self.needs_text and not ds.has_text:
            raise InputError(f"the {self.title} reads text; {ds.display_name} has only numeric features. Use xlinear.")

    def train(self, ds: Dataset, params, progress: ProgressFn | None = None):
        """Train on the training split: ``cls.train(train inputs, Y, label names, params, ...)``."""
        self.check_dataset(ds)
        kwargs: dict[str, Any] = {"progress": progress}
        if not self.needs_text:
            kwargs["feature_names"] = ds.feature_names
        return self.model_class().train(ds.inputs("train"), ds.train.Y, ds.label_names, params, **kwargs)


def _xlinear_defaults(ds: Dataset) -> dict:
    from engine.models.tuning import tuned_defaults

    return tuned_defaults(ds.name)


def _xtransformer_defaults(ds: Dataset) -> dict:
    from engine.models.tuning import tuned_defaults, tuned_xtransformer

    # the ranker is a linear XR model like XR-Linear: start from the C that XR-Linear's
    # cross-validation on the training split chose for this dataset; whether to fine-tune the encoder
    # is the X-Transformer's own cross-validated choice (python -m engine tune --model xtransformer)
    tuned_c = tuned_defaults(ds.name).get("C")
    return {**({"ranker_C": tuned_c} if tuned_c else {}), **tuned_xtransformer(ds.name)}


FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (
    ModelFamily("xlinear", "XR-Linear", "engine.models.xlinear:XLinearXMC", "engine.models.xlinear:XLinearParams",
                needs_text=False, help="PECOS XR-Linear on TF-IDF (or dense features): trains in seconds",
                defaults=_xlinear_defaults),
    ModelFamily("xtransformer", "X-Transformer", "engine.models.xtransformer:XTransformerXMC",
                "engine.models.xtransformer:XTransformerParams", needs_text=True,
                help="PECOS X-Transformer: fine-tuned MiniLM encoder + linear ranker over [embedding ; TF-IDF]",
                defaults=_xtransformer_defaults),
    # a wrapper around a saved model, never trained by itself (engine/robust/smoothing.py saves it)
    ModelFamily("smoothed", "smoothed", "engine.models.smoothed:SmoothedXMC", "engine.models.smoothed:SmoothingParams",
                needs_text=False, help="prediction smoothing around a saved model", trainable=False),
)}
TRAINABLE = tuple(name for name, f in FAMILIES.items() if f.trainable)


def family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise InputError(f"unknown model {name!r}: choose one of {', '.join(TRAINABLE)}.")
    return FAMILIES[name]


def family_of_manifest(name: Any) -> ModelFamily:
    """The family a manifest names; a ModelError for anything else (a damaged manifest)."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ModelError(f"unknown model family {name!r} in a manifest.")
    return FAMILIES[name]


def format_model_id(family_name: str, variant: str = "baseline") -> str:
    """("xlinear", "robust") -> "xlinear-robust"."""
    if family_name not in TRAINABLE:
        raise InputError(f"unknown model {family_name!r}: choose one of {', '.join(TRAINABLE)}.")
    if variant not in _SUFFIX:
        raise InputError(f"unknown model variant {variant!r}: choose one of {', '.join(VARIANTS)}.")
    return family_name + _SUFFIX[variant]


def parse_model_id(model_id: str) -> tuple[str, str]:
    """"xlinear-robust-smoothed" -> ("xlinear", "robust-smoothed"); InputError for an id no family makes."""
    for fam in sorted(TRAINABLE, key=len, reverse=True):
        if model_id == fam or model_id.startswith(fam + "-"):
            suffix = model_id[len(fam):]
            for variant, s in _SUFFIX.items():
                if suffix == s:
                    return fam, variant
    raise InputError(f"model id {model_id!r} is not a known family and variant "
                     f"(e.g. {', '.join(format_model_id(f, v) for f in TRAINABLE for v in ('baseline', 'robust'))}).")


def _trained_variant(variant: str) -> str:
    """"robust-smoothed" -> "robust", "smoothed" -> "baseline", "gauss" -> "gauss"."""
    if variant == "smoothed":
        return "baseline"
    return variant[: -len("-smoothed")] if variant.endswith("-smoothed") else variant


def base_of(model_id: str) -> str:
    """The model a smoothed id wraps: "xlinear-robust-smoothed" -> "xlinear-robust" (others: themselves)."""
    fam, variant = parse_model_id(model_id)
    return format_model_id(fam, _trained_variant(variant))


def train_command(dataset: str, model_id: str) -> str | None:
    """The CLI command that (re)creates a saved model id (e.g. xtransformer-robust -> --model
    xtransformer --robust), or None when no train command saves a model under that id."""
    try:
        fam, variant = parse_model_id(model_id)
    except InputError:
        return None
    trained = _trained_variant(variant)
    if trained in (*ATTACK_VARIANTS.values(), "gauss") and fam not in ATTACK_TRAINED_FAMILIES:
        return None
    flags = _TRAINED[trained][0] + (" --smoothed" if variant.endswith("smoothed") else "")
    return f"python -m engine train --dataset {dataset} --model {fam}{flags}"


def model_title(model_id: str) -> str:
    """"xlinear-robust" -> "XR-Linear (adversarially trained)"."""
    try:
        fam, variant = parse_model_id(model_id)
    except InputError:
        return model_id
    parts = [p for p in (_TRAINED[_trained_variant(variant)][1], "smoothed" if variant.endswith("smoothed") else "")
             if p]
    return FAMILIES[fam].title + (f" ({', '.join(parts)})" if parts else "")
