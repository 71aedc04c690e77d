"""Which check a finding gets: the registry looked up by a rule's provider or id."""
from __future__ import annotations

import importlib
import re

from .model import Check, Verifier
from .registry import BY_ALIAS, BY_NAME, REGISTRY

_PACKAGE = __name__.rsplit(".", 1)[0]


def names() -> tuple[str, ...]:
    """Every check in the docs table, in the registry's order."""
    return tuple(e.name for e in REGISTRY if e.listed)


def check_of(name: str) -> Check:
    """What a check declares: a data row's derived ``Check``, or a module's ``CHECK``."""
    row = BY_NAME[name].row
    if row is not None:
        return row.check
    return importlib.import_module(f"{_PACKAGE}.{name}").CHECK  # type: ignore[no-any-return]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def module_for(provider: str, rule_id: str) -> str | None:
    """The check for a rule, by its provider, else by its rule id's leading words."""
    found = BY_ALIAS.get(_norm(provider))
    if found is None:
        words = rule_id.lower().split("-")
        for n in range(len(words), 0, -1):
            found = BY_ALIAS.get(_norm("".join(words[:n])))
            if found:
                break
    return found


def verifier_for(provider: str, rule_id: str) -> Verifier | None:
    name = module_for(provider, rule_id)
    if name is None:
        return None
    row = BY_NAME[name].row
    if row is not None:
        return row.verify
    module = importlib.import_module(f"{_PACKAGE}.{name}")
    return module.verify  # type: ignore[no-any-return]
