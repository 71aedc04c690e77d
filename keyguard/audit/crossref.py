"""Which leaked keys in a keyguard scan report belong to the audited account.

Providers list keys with a redacted hint (OpenAI ``redacted_value`` such as ``sk-abc...def``,
Anthropic ``partial_key_hint`` such as ``sk-ant-api03-R2D...igAA``); a scan report holds each
secret's redacted form (known prefix + last characters) and its SHA-256. A key matches a finding
when the hint's prefix and suffix agree with the finding's (or, if the report was written with
``--show-secrets``, with the full secret). A match on a prefix and four characters is strong
evidence, not proof, and the report says which kind of match it was.

Google API keys cannot be matched: the API Keys API gives a key's string only through
``getKeyString``, which keyguard never calls, and lists no hint or hash of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .model import AuditError, AuditFinding, AuditKey, AuditResult, AuditRule

MIN_SUFFIX = 3  # characters of the key's end that must agree
_HINT_GAP = re.compile(r"\.{3}|…|[*•]{3,}")

LEAKED_RULE = AuditRule(
    "leaked-key-in-account", "A leaked key belongs to this account and is still listed",
    "A key that a keyguard scan found in files, history or bundles matches a key this account "
    "still lists. Anyone who read the leak can use it until it is revoked.")


@dataclass(frozen=True)
class LeakedSecret:
    """One finding of a scan report, as much as cross-referencing needs."""

    provider: str
    rule_id: str
    path: str
    line: int
    redacted: str
    secret_sha256: str
    secret: str | None = None  # only when the report was written with --show-secrets; never printed

    def summary(self, how: str) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "rule_id": self.rule_id,
                "redacted": self.redacted, "secret_sha256": self.secret_sha256, "match": how}


def load_report(path: str) -> list[LeakedSecret]:
    """The findings of a keyguard JSON scan report; AuditError if it is not one."""
    from ..report.read import ReportError, load_document, scan_findings

    try:
        findings = scan_findings(load_document(path), path)
    except ReportError as exc:
        raise AuditError(str(exc)) from None
    out = []
    for f in findings:
        provider, redacted, sha = f.get("provider"), f.get("redacted"), f.get("secret_sha256")
        if not (isinstance(provider, str) and isinstance(redacted, str) and isinstance(sha, str)):
            continue
        secret = f.get("secret") if isinstance(f.get("secret"), str) else None
        line = f.get("line") if isinstance(f.get("line"), int) else 0
        out.append(LeakedSecret(provider, str(f.get("rule_id") or ""), str(f.get("path") or ""),
                                line, redacted, sha, secret))
    return out


def split_hint(hint: str | None) -> tuple[str, str] | None:
    """``sk-proj-abc...wxyz`` -> (``sk-proj-abc``, ``wxyz``); None without a visible end."""
    if not hint:
        return None
    parts = _HINT_GAP.split(hint, maxsplit=1)
    if len(parts) != 2:
        return None
    prefix, suffix = parts[0].rstrip("*•."), parts[1].lstrip("*•.")
    return (prefix, suffix) if len(suffix) >= MIN_SUFFIX else None


def match(hint: str | None, leaked: LeakedSecret) -> str | None:
    """How the hint matches the leaked secret: "secret", "redacted", or None."""
    parts = split_hint(hint)
    if parts is None:
        return None
    prefix, suffix = parts
    if leaked.secret is not None:
        return "secret" if leaked.secret.startswith(prefix) and leaked.secret.endswith(suffix) else None
    head, sep, tail = leaked.redacted.partition("…")
    if not sep or min(len(tail), len(suffix)) < MIN_SUFFIX:
        return None
    short, long = sorted((tail, suffix), key=len)
    if not long.endswith(short):
        return None
    if head and prefix and not (prefix.startswith(head) or head.startswith(prefix)):
        return None
    return "redacted"


def apply(result: AuditResult, leaked: list[LeakedSecret], providers: tuple[str, ...],
          describe: Callable[[AuditKey], str] = lambda key: f"{key.name} ({key.hint})") -> None:
    """Mark keys of ``result`` found in ``leaked`` and flag each as critical."""
    mine = [s for s in leaked if s.provider in providers]
    matched: set[str] = set()
    for key in result.keys:
        for secret in mine:
            how = match(key.hint, secret)
            if how:
                key.leaked_in.append(secret.summary(how))
                matched.add(secret.secret_sha256)
        if not key.leaked_in:
            continue
        where = ", ".join(f"{s['path']}:{s['line']}" for s in key.leaked_in[:5])
        strength = ("the full secret in the report starts and ends as the hint does"
                    if all(s["match"] == "secret" for s in key.leaked_in)
                    else "same prefix and last characters as the provider's hint: strong evidence, not proof")
        result.flag(AuditFinding(
            LEAKED_RULE, "critical", key.location, key.resource,
            f"leaked key still listed: {describe(key)}",
            f"The scan report found this key at {where} ({strength}). Anyone who saw it can use it.",
            key.revoke or "Revoke the key and issue a new one.", key.console, key))
    distinct = {s.secret_sha256 for s in mine}
    result.notes.append(
        f"scan report: {len(distinct)} distinct {'/'.join(providers)} secret(s); "
        f"{len(matched)} match a key listed here, {len(distinct - matched)} match none "
        "(another account's, or already deleted)")
