"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning accepts it.

No secret in messages or snippets; ``partialFingerprints`` come from the rule and the secret's
hash only, so one leaked key is one alert wherever it recurs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..model import Finding, Rule
from ..model import ScanResult

SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
INFO_URI = "https://github.com/keyguard/keyguard"


def _is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def _rule_dict(rule: Rule) -> dict[str, Any]:
    help_md = f"**{rule.name}** ({rule.provider})\n\n{rule.description}\n\n"
    help_md += f"**How to fix:** {rule.remediation or 'Revoke the key with its issuer and remove it.'}"
    if rule.references:
        help_md += "\n\nReferences:\n" + "\n".join(f"- {r}" for r in rule.references)
    return {
        "id": rule.id,
        "name": "".join(p.capitalize() for p in rule.id.replace(".", "-").split("-")),
        "shortDescription": {"text": rule.name},
        "fullDescription": {"text": rule.description or rule.name},
        "help": {"text": help_md, "markdown": help_md},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", "secret", rule.provider],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "very-high" if rule.confidence == "high" else "medium",
        },
    }


def _uri(f: Finding, srcroot: str | None) -> tuple[str, bool]:
    """(uri, relative-to-%SRCROOT%)."""
    if _is_url(f.path):
        return f.path, False
    if f.path == "-":
        return "stdin", False
    if f.root:
        abs_path = os.path.join(f.root, f.path)
    else:
        abs_path = os.path.abspath(f.path)
    base = srcroot or os.getcwd()
    rel = os.path.relpath(abs_path, base).replace(os.sep, "/")
    if rel.startswith("../"):
        return Path(abs_path).as_uri(), False
    return _quote(rel), True


def _quote(rel: str) -> str:
    from urllib.parse import quote

    return quote(rel, safe="/-_.~@+")


def result_dict(f: Finding, srcroot: str | None, index: int) -> dict[str, Any]:
    uri, relative = _uri(f, srcroot)
    where = f" in {f.origin['variable']}" if f.origin.get("variable") else ""
    message = f"{f.rule.name} found{where} ({f.redacted}, sha256 {f.secret_sha256[:12]}…)."
    if f.commit and f.commit.get("sha"):
        message += f" Introduced in commit {f.commit['sha'][:12]}."
    if f.verification:
        message += f" Live check: {f.verification.get('status')} (severity {f.severity})."
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    region: dict[str, Any] = {
        "startLine": max(1, f.line),
        "startColumn": max(1, f.column),
        "endLine": max(f.line, f.end_line or f.line),
        "endColumn": max(1, f.end_column),
    }
    props: dict[str, Any] = {
        "provider": f.rule.provider,
        "severity": f.severity,
        "secret_sha256": f.secret_sha256,
        "redacted": f.redacted,
        "security-severity": SECURITY_SEVERITY[f.severity],
    }
    if f.commit:
        props["commit"] = f.commit
    if f.origin:
        props["origin"] = f.origin
    if f.verification:
        props["verification"] = f.verification
    if f.reasons:
        props["reasons"] = f.reasons
    return {
        "ruleId": f.rule.id,
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
        "partialFingerprints": {"keyguardSecret/v1": f.fingerprint},
        "properties": props,
    }


def render(result: ScanResult, show_secrets: bool = False) -> str:
    # show_secrets is deliberately ignored: SARIF is uploaded and displayed to others
    used = sorted({f.rule.id: f.rule for f in result.findings}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(used)}
    srcroot = result.root
    base = Path(srcroot or os.getcwd()).resolve().as_uri()
    base = base if base.endswith("/") else base + "/"  # the root directory's URI ends in / already
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "keyguard",
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": [_rule_dict(r) for r in used],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": base}},
        "results": [result_dict(f, srcroot, index[f.rule.id]) for f in result.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {"stats": result.stats.as_dict()},
    }
    if result.errors:
        run["invocations"] = [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": e}} for e in result.errors
            ],
        }]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
