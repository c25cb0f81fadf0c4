"""The explanation-method registry (name -> ExplainerSpec, in menu order): the CLI's choices, the
dashboard's method menus (only the methods the selected model supports, with the reason for the
others) and the engine's validation read it. See engine/explain/spec.py."""
from __future__ import annotations

from engine.errors import InputError
from engine.explain import attention, lime_explainer, whole_score
from engine.explain.spec import ExplainerSpec

# menu order is speed order: the exact whole-score attribution (under a second), LIME (the model's own
# cost of its samples), attention (X-Transformer only); the Explain page runs and shows them in this order
EXPLAINERS: dict[str, ExplainerSpec] = {m.SPEC.name: m.SPEC for m in (whole_score, lime_explainer, attention)}


def explainer_spec(name: str) -> ExplainerSpec:
    if name not in EXPLAINERS:
        raise InputError(f"unknown explanation method {name!r}: choose one of {', '.join(EXPLAINERS)}.")
    return EXPLAINERS[name]


def methods_for(family: str, input_kind: str, params: dict | None = None) -> tuple[list[str], dict[str, str]]:
    """The methods that can explain such a model (``params``: its saved parameters, when known), and why each
    other one cannot."""
    ok, why = [], {}
    for name, spec in EXPLAINERS.items():
        reason = spec.incompatibility(family, input_kind, params)
        if reason is None:
            ok.append(name)
        else:
            why[name] = reason
    return ok, why


def warm_up(model) -> None:
    """Start, in the background, what each method's first call on ``model`` would wait for (once per process
    and model; the dashboard calls it when a loaded model is selected)."""
    for spec in EXPLAINERS.values():
        if spec.warm_up is not None:
            spec.warm_up(model)


def methods_for_model(model) -> tuple[list[str], dict[str, str]]:
    """methods_for a loaded model (its family, input kind and parameters)."""
    import dataclasses

    p = getattr(model, "params", None)
    params = dataclasses.asdict(p) if dataclasses.is_dataclass(p) and not isinstance(p, type) else None
    return methods_for(model.family, model.input_kind, params)
