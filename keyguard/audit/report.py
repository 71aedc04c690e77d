"""Audit reports: ``AuditResult`` in, text, JSON or SARIF out (the same formats ``scan`` writes).

SARIF results point at the key inside the account: ``artifactLocation.uri`` is the key's URI
(``gcp://projects/ID/keys/UID``, ``openai://organization/projects/ID/api_keys/ID``, ...) and a
logical location carries the provider's resource name.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from .. import __version__
from ..model import SEVERITIES, severity_rank
from ..report.sarif import INFO_URI, LEVEL, SECURITY_SEVERITY
from .model import AuditFinding, AuditResult

FORMATS = ("text", "json", "sarif")  # html: keyguard.audit.html
_COLORS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m"}
_RESET, _DIM, _BOLD = "\033[0m", "\033[2m", "\033[1m"


def render(fmt: str, result: AuditResult, color: bool = False) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "sarif":
        return render_sarif(result)
    return render_text(result, color)


def ordered(result: AuditResult) -> list[AuditFinding]:
    return sorted(result.findings, key=lambda f: (-severity_rank(f.severity), f.location, f.rule.id))


def summary(result: AuditResult) -> dict[str, Any]:
    by = Counter(f.severity for f in result.findings)
    return {"findings": len(result.findings),
            "by_severity": {s: by[s] for s in reversed(SEVERITIES) if by[s]},
            "projects": len(result.projects), "keys": len(result.keys), "skipped": len(result.skipped)}


# -- text -------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe(text: str) -> str:
    """Names come from the provider: no escape sequence or newline of theirs reaches the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_text(result: AuditResult, color: bool = False) -> str:
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    out = [c(_BOLD, f"keyguard audit {result.provider}: {_safe(result.account)}"), ""]
    for f in ordered(result):
        out.append(f"{c(_COLORS[f.severity], f'{f.severity.upper():8}')}  {_safe(f.title)}  [{f.rule.id}]")
        out.append(c(_DIM, f"          {_safe(f.location)}"))
        out.append(f"          why: {_safe(f.reason)}")
        out.append(f"          fix: {_safe(f.fix)}")
        if f.console:
            out.append(f"          console: {_safe(f.console)}")
        out.append("")
    if result.projects:
        out.append(c(_BOLD, "Projects" if result.provider != "anthropic" else "Workspaces"))
        for p in result.projects:
            extra = ", ".join(f"{k} {v}" for k, v in p.items() if k not in ("id", "name") and v is not None)
            out.append(_safe(f"  {p['id']}  {p.get('name') or ''}  ({extra})"))
        out.append("")
    if result.keys:
        out.append(c(_BOLD, "Keys"))
        for k in result.keys:
            parts = [k.project or "organization", k.name]
            if result.provider != "gcp":
                parts.append(k.hint or "(no hint)")
            parts.append(f"created {k.created or '?'}")
            if result.provider == "openai":
                parts.append(f"last used {k.last_used or 'never'}")
            if k.owner:
                parts.append(f"owner {k.owner}")
            if result.provider == "gcp":
                parts.append(f"app: {k.details.get('application_restriction')}")
                parts.append("apis: " + (", ".join(k.details.get("api_targets") or ()) or "any"))
            if k.leaked_in:
                parts.append(f"LEAKED ({len(k.leaked_in)})")
            out.append(_safe("  " + "  ".join(map(str, parts))))
        out.append("")
    if result.usage is not None:
        from .usage_report import render as render_usage

        out.extend(c(_BOLD, line) if i == 0 else _safe(line) for i, line in enumerate(render_usage(result.usage)))
    for s in result.skipped:
        out.append(_safe(f"skipped {s['project']}: {s['reason']}"))
    for n in result.notes:
        out.append(_safe(f"note: {n}"))
    s = summary(result)
    line = f"{s['findings']} finding{'s' if s['findings'] != 1 else ''}"
    if s["by_severity"]:
        line += " (" + ", ".join(f"{n} {sev}" for sev, n in s["by_severity"].items()) + ")"
    line += f"; {s['keys']} key{'s' if s['keys'] != 1 else ''}; {s['skipped']} skipped"
    out.append(c(_BOLD, line) if s["findings"] else line)
    return "\n".join(out) + "\n"


# -- JSON -------------------------------------------------------------------------------------
def render_json(result: AuditResult) -> str:
    doc = {
        "version": __version__,
        "audit": result.provider,
        "account": result.account,
        "findings": [f.as_dict() for f in ordered(result)],
        "projects": result.projects,
        "keys": [k.as_dict() for k in result.keys],
        "skipped": result.skipped,
        "notes": result.notes,
        "summary": summary(result),
    }
    if result.usage is not None:
        doc["usage"] = result.usage.as_dict()
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# -- SARIF ------------------------------------------------------------------------------------
def render_sarif(result: AuditResult) -> str:
    findings = ordered(result)
    rule_ids = sorted({f.rule.id for f in findings})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    worst = {rid: max((f.severity for f in findings if f.rule.id == rid), key=severity_rank) for rid in rule_ids}
    rules = []
    for rid in rule_ids:
        rule = result.rules[rid]
        help_md = f"**{rule.name}** ({result.provider} audit)\n\n{rule.description}"
        rules.append({
            "id": rid,
            "name": "".join(p.capitalize() for p in rid.split("-")),
            "shortDescription": {"text": rule.name},
            "fullDescription": {"text": rule.description},
            "help": {"text": help_md, "markdown": help_md},
            "defaultConfiguration": {"level": LEVEL[worst[rid]]},
            "properties": {"tags": ["security", "audit", result.provider],
                           "security-severity": SECURITY_SEVERITY[worst[rid]]},
        })
    results = []
    for f in findings:
        props: dict[str, Any] = {"provider": result.provider, "severity": f.severity,
                                 "security-severity": SECURITY_SEVERITY[f.severity], "fix": f.fix}
        if f.console:
            props["console"] = f.console
        if f.key is not None and f.key.leaked_in:
            props["leaked_in"] = f.key.leaked_in
        logical = {"name": f.key.name if f.key else f.resource, "fullyQualifiedName": f.resource,
                   "kind": "resource"}
        results.append({
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": LEVEL[f.severity],
            "message": {"text": f"{f.title}. {f.reason} Fix: {f.fix}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.location}},
                           "logicalLocations": [logical]}],
            "partialFingerprints": {"keyguardAudit/v1": f.fingerprint},
            "properties": props,
        })
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "keyguard", "semanticVersion": __version__,
                            "informationUri": INFO_URI, "rules": rules}},
        "results": results,
        "properties": {"audit": result.provider, "account": result.account, "summary": summary(result)},
    }
    notices = [f"skipped {s['project']}: {s['reason']}" for s in result.skipped] + result.notes
    if notices:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": [
            {"level": "warning" if n.startswith("skipped") else "note", "message": {"text": n}}
            for n in notices]}]
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
