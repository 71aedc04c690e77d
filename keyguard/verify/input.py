"""What ``keyguard verify`` reads: a JSON report made with --show-secrets, or keys one per line."""
from __future__ import annotations

from typing import Any

from ..model import Finding, Rule, ScanResult, ScanText, Stats
from ..report.read import ReportError, parse_document, scan_findings


class InputError(ValueError):
    """The input holds nothing keyguard can check."""


def _rule(raw: dict[str, Any], rules: dict[str, Rule]) -> Rule:
    rule = rules.get(str(raw.get("rule_id")))
    if rule is not None:
        return rule
    return Rule(id=str(raw.get("rule_id") or "unknown"), provider=str(raw.get("provider") or "unknown"),
                name=str(raw.get("name") or raw.get("rule_id") or "key"), description="", regex="",
                keywords=(), severity=str(raw.get("severity") or "high"), remediation="")


def _from_report(raw_findings: list[dict[str, Any]], source: str, rules: dict[str, Rule]) -> ScanResult:
    with_secrets = [f for f in raw_findings if isinstance(f.get("secret"), str)]
    if raw_findings and not with_secrets:
        raise InputError(f"{source}: the report holds no secrets; make it with "
                         "`keyguard scan --format json --show-secrets`, or pipe keys one per line")
    findings = []
    for raw in with_secrets:
        rule = _rule(raw, rules)
        severity = raw.get("severity") if raw.get("severity") in ("low", "medium", "high", "critical") \
            else rule.severity
        findings.append(Finding(
            rule=rule, secret=raw["secret"], path=str(raw.get("path") or "-"),
            line=int(raw.get("line") or 0), column=int(raw.get("column") or 0),
            end_column=int(raw.get("end_column") or 0), end_line=int(raw.get("end_line") or 0),
            severity=str(severity), commit=raw.get("commit"), origin=raw.get("origin") or {}))
    stats = Stats(findings=len(findings))
    return ScanResult(findings, stats, list({f.rule.id: f.rule for f in findings}.values()))


def read_findings(text: str, source: str) -> ScanResult:
    from ..detect.engine import Engine
    from ..ruleset.load import load_rules

    rules = load_rules()
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            raw_findings = scan_findings(parse_document(stripped, source), source)
        except ReportError as exc:
            raise InputError(str(exc)) from None
        return _from_report(raw_findings, source, {r.id: r for r in rules})
    stats = Stats()
    engine = Engine(rules)
    findings = engine.scan(ScanText(text=text, path=source), stats)
    if text.strip() and not findings:
        raise InputError(f"{source}: no line holds a key keyguard recognises "
                         "(a key without a prefix needs its name, e.g. MISTRAL_API_KEY=...)")
    stats.findings = len(findings)
    return ScanResult(findings, stats, rules)
