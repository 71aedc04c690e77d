"""The one reader of keyguard's own reports, for everything that reads one back: ``keyguard
merge`` (JSON or SARIF), ``keyguard verify`` (a JSON report made with --show-secrets) and the
audits' ``--report`` (which leaked keys belong to an account)."""
from __future__ import annotations

import json
from typing import Any


class ReportError(ValueError):
    """Not a report keyguard can read: one line naming the file."""


def report_format(doc: Any) -> str | None:
    """``sarif``, ``json`` (a keyguard scan report) or None."""
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list) and "version" in doc:
        return "sarif"
    if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
        return "json"
    return None


def parse_document(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ReportError(f"{where}: not a keyguard JSON report (nested too deeply)") from None
    except ValueError as exc:
        raise ReportError(f"{where}: not a keyguard JSON report (not JSON: {exc})") from None


def load_document(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not a keyguard JSON report (not UTF-8)") from None
    return parse_document(text, path)


def scan_findings(doc: Any, where: str) -> list[dict[str, Any]]:
    """The finding objects of a keyguard JSON scan report (entries that are not objects dropped)."""
    if report_format(doc) != "json":
        raise ReportError(f"{where}: not a keyguard JSON scan report (no \"findings\" list); "
                          "write it with `keyguard scan --format json`")
    return [f for f in doc["findings"] if isinstance(f, dict)]
