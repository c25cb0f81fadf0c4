"""Certified robustness: the registry of certificates (name -> spec), one file per certificate.

A spec says what a certificate acts on ("features": l2 radius in the model's feature view;
"text": words replaced), its parameters (defaults and bounds, written only in the certificate's
file), whether it fits a model and dataset, and the function that runs it:
    run(model, input, params, truth, progress) -> CertifyResult.
The interfaces build their choices, defaults and help texts from CERTIFICATES.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.certify import gaussian, wordnet_substitution
from engine.certify.common import Param
from engine.errors import InputError


@dataclass(frozen=True)
class CertificateSpec:
    name: str
    title: str
    space: str  # "features" | "text"
    unit: str  # what a radius counts: "l2" | "words"
    params: tuple[Param, ...]
    run: Callable[..., Any]
    needs_text: bool
    description: str

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def is_compatible(self, model, dataset=None) -> bool:
        """Every model has a feature view; the text certificate needs a text model (and dataset)."""
        if not self.needs_text:
            return True
        return model.input_kind == "text" and (dataset is None or dataset.has_text)

    def check_params(self, **given) -> dict[str, Any]:
        """All parameters, defaults filled in; InputError naming the first unknown or out-of-range one.
        top_k is checked against the model's label count later (engine.models.base.check_top_k)."""
        names = {p.name for p in self.params}
        unknown = sorted(set(given) - names)
        if unknown:
            raise InputError(f"the {self.name} certificate has no parameter {unknown[0]!r}: "
                             f"it takes {', '.join(sorted(names))}.")
        return {p.name: p.check(given[p.name]) if given.get(p.name) is not None else p.default for p in self.params}


CERTIFICATES: dict[str, CertificateSpec] = {
    "gaussian": CertificateSpec(
        "gaussian", "Gaussian smoothing (l2, feature view)", "features", "l2", gaussian.PARAMS,
        gaussian.certify_gaussian, needs_text=False,
        description="Per label, the l2 radius in the feature view (TF-IDF / dense features) within which it "
                    "provably stays in the Gaussian-smoothed top-k (Cohen et al. 2019; MultiGuard, Jia et al. 2022)."),
    "wordnet": CertificateSpec(
        "wordnet", "Random synonym substitution (words, text)", "text", "words", wordnet_substitution.PARAMS,
        wordnet_substitution.certify_wordnet, needs_text=True,
        description="Per label, how many words an attacker may replace by WordNet synonyms while it provably "
                    "stays in the substitution-smoothed top-k (SAFER, Ye et al. 2020)."),
}


def get_certificate(name: str) -> CertificateSpec:
    if name not in CERTIFICATES:
        raise InputError(f"unknown certificate {name!r}: choose one of {', '.join(CERTIFICATES)}.")
    return CERTIFICATES[name]
