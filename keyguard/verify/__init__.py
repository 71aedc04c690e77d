"""Live checks (``--verify``): is a found key live, how restricted, what quota, what scope.

``registry.py`` lists every check once: a provider whose check is one GET is a row of data
there (``simple.py`` runs it); a provider whose check needs logic is a small module here exposing
``CHECK`` and ``verify(secret: str, context: Context, client: CredentialClient) -> Verification``.
``verifier_for`` maps a rule's ``provider`` field (and, failing that, its rule id) to a check,
so exact rule ids matter little. Every call is a metadata call (list models, whoami, key info,
balance) sent by ``keyguard.http.CredentialClient`` to the provider's fixed https host; nothing in
a scanned file can change where a key goes (see ``context.py`` for the two values a file may
supply: an Azure resource name and an AWS secret, both checked by strict patterns).
"""
from __future__ import annotations

import importlib
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..http import CredentialClient

STATUSES = ("live", "invalid", "unknown", "error")


@dataclass
class Context:
    """What a verifier may know besides the secret. Values from files are validated by the reader."""

    rule_id: str
    provider: str
    companions: dict[str, str] = field(default_factory=dict)  # e.g. aws_secret, azure_host
    notes: list[str] = field(default_factory=list)  # why a companion is missing


@dataclass
class Verification:
    """The outcome of one live check. Never holds the key, in whole or in part."""

    status: str  # live | invalid | unknown | error
    check: str = ""  # e.g. "GET api.openai.com/v1/models"
    evidence: dict[str, Any] = field(default_factory=dict)  # http_status, code, reason
    restrictions: dict[str, Any] = field(default_factory=dict)
    quota: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # what this check cannot tell
    reasons: list[str] = field(default_factory=list)
    severity: str | None = None  # what the outcome implies; None keeps the rule's severity

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v not in ({}, [], "") or k in ("status",)}


@dataclass(frozen=True)
class Check:
    """What one provider's live check does and can read (a module's ``CHECK``, or a row's).

    docs/live-checks.md is generated from these (``python -m keyguard.verify.table``), and the
    tests hold every verdict to them: ``Verification.check`` is one of ``requests``, the keys a
    verifier puts in ``restrictions``/``quota``/``scope`` are among those declared here, and
    everything in ``unknown`` is listed in every result.
    """

    provider: str  # as shown in the table
    requests: tuple[str, ...]  # each call it may make, exactly as in Verification.check
    status: str  # how the answer tells live from invalid
    restrictions: tuple[str, ...] = ()
    quota: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # what this check can never tell
    severity: str = ""  # when a live verdict sets the severity, e.g. "critical: admin key"


class Verifier(Protocol):
    def __call__(self, secret: str, context: Context, client: CredentialClient) -> Verification: ...


def names() -> tuple[str, ...]:
    """Every check in the docs table, in the registry's order."""
    from .registry import REGISTRY

    return tuple(e.name for e in REGISTRY if e.listed)


def check_of(name: str) -> Check:
    """What a check declares: a data row's derived ``Check``, or a module's ``CHECK``."""
    from .registry import BY_NAME

    row = BY_NAME[name].row
    if row is not None:
        return row.check
    return importlib.import_module(f"{__name__}.{name}").CHECK  # type: ignore[no-any-return]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def module_for(provider: str, rule_id: str) -> str | None:
    """The check for a rule, by its provider, else by its rule id's leading words."""
    from .registry import BY_ALIAS

    found = BY_ALIAS.get(_norm(provider))
    if found is None:
        words = rule_id.lower().split("-")
        for n in range(len(words), 0, -1):
            found = BY_ALIAS.get(_norm("".join(words[:n])))
            if found:
                break
    return found


def verifier_for(provider: str, rule_id: str) -> Verifier | None:
    from .registry import BY_NAME

    name = module_for(provider, rule_id)
    if name is None:
        return None
    row = BY_NAME[name].row
    if row is not None:
        return row.verify
    module = importlib.import_module(f"{__name__}.{name}")
    return module.verify  # type: ignore[no-any-return]


def implied_severity(rule_severity: str, v: Verification) -> str:
    """The finding's severity once checked: low if invalid, the verifier's word if live."""
    if v.status == "invalid":
        return "low"
    if v.status == "live" and v.severity:
        return v.severity
    return rule_severity


__all__ = ["Check", "Context", "Verification", "Verifier", "verifier_for", "module_for",
           "implied_severity", "STATUSES", "names", "check_of"]
