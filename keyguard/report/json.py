"""``--format json``: ``{"version", "findings", "stats", "errors"}``."""
from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..model import Finding
from ..model import ScanResult


def finding_dict(f: Finding, show_secrets: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {
        "rule_id": f.rule.id,
        "provider": f.rule.provider,
        "name": f.rule.name,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "commit": f.commit,
        "secret_sha256": f.secret_sha256,
        "fingerprint": f.fingerprint,
        "redacted": f.redacted,
        "severity": f.severity,
        "confidence": f.rule.confidence,
        "verification": f.verification,
        "origin": f.origin or None,
    }
    if f.reasons:
        d["reasons"] = f.reasons
    if show_secrets:
        d["secret"] = f.secret
    return d


def render(result: ScanResult, show_secrets: bool = False) -> str:
    doc = {
        "version": __version__,
        "findings": [finding_dict(f, show_secrets) for f in result.findings],
        "stats": result.stats.as_dict(),
        "errors": result.errors,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
