"""The attack registry (name -> AttackSpec, in menu order): the engine's validation, the CLI's
options and the dashboard's attack form read it. A new attack is one module with a ``SPEC`` plus
one entry here (see engine/attacks/spec.py). The modules are light: ART loads when an attack runs.
"""
from __future__ import annotations

from engine.attacks import boundary, hopskipjump, wordnet_synonyms, zoo
from engine.attacks.spec import AttackSpec
from engine.errors import InputError

ATTACKS: dict[str, AttackSpec] = {m.SPEC.name: m.SPEC for m in (hopskipjump, zoo, boundary, wordnet_synonyms)}


def attack_spec(name: str) -> AttackSpec:
    if name not in ATTACKS:
        raise InputError(f"unknown attack {name!r}: choose one of {', '.join(ATTACKS)}.")
    return ATTACKS[name]


def feature_attacks() -> list[str]:
    return [n for n, s in ATTACKS.items() if s.space == "features"]


def check_compatible(spec: AttackSpec, has_text: bool) -> None:
    if not spec.is_compatible(has_text):
        raise InputError(spec.incompatibility(feature_attacks()))


def all_param_names() -> set[str]:
    return {p.name for s in ATTACKS.values() for p in s.params}


def warm_up():
    """Import ART's evasion attacks in a daemon thread, once per process (errors surface on first use)."""
    import importlib

    from engine.background import start_once

    return start_once("art", lambda: importlib.import_module("art.attacks.evasion"), "art")
