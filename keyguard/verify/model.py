"""The types of a live check: what a verifier may know (``Context``), what it declares it can
read (``Check``), and what it found (``Verification``)."""
from __future__ import annotations

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


def implied_severity(rule_severity: str, v: Verification) -> str:
    """The finding's severity once checked: low if invalid, the verifier's word if live."""
    if v.status == "invalid":
        return "low"
    if v.status == "live" and v.severity:
        return v.severity
    return rule_severity
