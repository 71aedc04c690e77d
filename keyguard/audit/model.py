"""The data an audit produces: the keys an account lists, what is wrong with them, what was skipped.

An audit finding is not a secret finding: it points at a key in an account (a location such as
``gcp://projects/ID/keys/UID``), never at a file, and it never holds a secret, only the
provider's own redacted hint.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

STALE_DAYS = 90  # a key unused this long is flagged


class AuditError(Exception):
    """Fatal: the audit cannot run (missing or rejected credentials, unreadable report)."""


def key_from_environment(variable: str, how_to_get_one: str, environ: Mapping[str, str] | None = None) -> str:
    """An admin key from the environment (never from a flag: flags end up in shell histories)."""
    key = ((os.environ if environ is None else environ).get(variable) or "").strip()
    if not key:
        raise AuditError(f"{variable} is not set: {how_to_get_one} and export it as {variable}")
    return key


@dataclass(frozen=True)
class AuditRule:
    id: str
    name: str
    description: str


@dataclass
class AuditKey:
    """One key as its account lists it: identifiers and metadata, never the secret."""

    provider: str
    id: str
    name: str
    location: str  # a URI naming the key inside the account, e.g. openai://organization/...
    resource: str  # the provider's own resource name or path
    project: str | None = None  # project or workspace id
    hint: str | None = None  # the provider's redacted form, e.g. "sk-proj-abc...wxyz"
    created: str | None = None  # ISO 8601, UTC
    last_used: str | None = None
    owner: str | None = None
    console: str | None = None  # where a person fixes it
    revoke: str | None = None  # a command that revokes it (for the user to run; keyguard never does)
    details: dict[str, Any] = field(default_factory=dict)
    leaked_in: list[dict[str, Any]] = field(default_factory=list)  # scan findings matching this key

    def as_dict(self) -> dict[str, Any]:
        d = {
            "provider": self.provider, "id": self.id, "name": self.name, "location": self.location,
            "resource": self.resource, "project": self.project, "hint": self.hint,
            "created": self.created, "last_used": self.last_used, "owner": self.owner,
            "console": self.console, "details": self.details,
        }
        if self.leaked_in:
            d["leaked_in"] = self.leaked_in
        return d


@dataclass
class AuditFinding:
    rule: AuditRule
    severity: str
    location: str
    resource: str
    title: str  # one line
    reason: str  # why this is dangerous, with the facts the API gave
    fix: str  # the exact command or step
    console: str | None = None
    key: AuditKey | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across runs: the rule and the resource it is about."""
        return hashlib.sha256(f"{self.rule.id}:{self.location}".encode()).hexdigest()[:32]

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule_id": self.rule.id, "name": self.rule.name, "severity": self.severity,
            "location": self.location, "resource": self.resource, "title": self.title,
            "reason": self.reason, "fix": self.fix, "console": self.console,
            "fingerprint": self.fingerprint,
        }
        if self.key is not None:
            d["key"] = {"id": self.key.id, "name": self.key.name, "hint": self.key.hint}
            if self.key.leaked_in:
                d["leaked_in"] = self.key.leaked_in
        return d


@dataclass
class AuditResult:
    provider: str  # gcp | openai | anthropic
    account: str  # what was audited, for people: "organization", "3 projects"
    projects: list[dict[str, Any]] = field(default_factory=list)
    keys: list[AuditKey] = field(default_factory=list)
    findings: list[AuditFinding] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"project", "reason"}
    notes: list[str] = field(default_factory=list)  # what keyguard could not tell, and why
    rules: dict[str, AuditRule] = field(default_factory=dict)
    usage: Any = None  # a usage.Usage when the audit ran with --usage

    def flag(self, finding: AuditFinding) -> None:
        self.rules.setdefault(finding.rule.id, finding.rule)
        self.findings.append(finding)

    def skip(self, project: str, reason: str) -> None:
        self.skipped.append({"project": project, "reason": reason})


# -- time -------------------------------------------------------------------------------------
_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: Any) -> datetime | None:
    """Unix seconds (OpenAI) or RFC 3339 (Google, Anthropic; up to nanoseconds) to UTC."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip())
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso(value: Any) -> str | None:
    parsed = parse_time(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def days_between(earlier: datetime | None, now: datetime) -> int | None:
    return None if earlier is None else (now - earlier).days
