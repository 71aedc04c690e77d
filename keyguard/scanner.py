"""Wires the pipeline: sources -> engine -> findings, for one ``keyguard scan`` run."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

from .engine import Engine
from .model import Finding, Rule, ScanText, Stats, severity_rank


@dataclass
class ScanResult:
    findings: list[Finding]
    stats: Stats
    rules: list[Rule]
    root: str | None = None  # the one scanned directory, if there was exactly one
    errors: list[str] = field(default_factory=list)


def finding_key(f: Finding) -> tuple:
    return (
        f.path, (f.commit or {}).get("sha"), f.rule.id, f.line, f.column,
        f.secret_sha256, (f.origin or {}).get("encoding"),
    )


def sort_key(f: Finding) -> tuple:
    return (f.path, f.line, f.column, -severity_rank(f.severity), f.rule.id)


def scan_texts(texts: Iterable[ScanText], engine: Engine, stats: Stats) -> list[Finding]:
    seen: set[tuple] = set()
    findings: list[Finding] = []
    for st in texts:
        for f in engine.scan(st, stats):
            k = finding_key(f)
            if k in seen:  # the overlap between two chunks of one file
                continue
            seen.add(k)
            findings.append(f)
    findings.sort(key=sort_key)
    return findings


def run(texts: Iterable[ScanText], rules: list[Rule], stats: Stats, root: str | None = None) -> ScanResult:
    started = time.perf_counter()
    engine = Engine(rules)
    findings = scan_texts(texts, engine, stats)
    stats.findings = len(findings)
    stats.seconds = time.perf_counter() - started
    return ScanResult(findings, stats, rules, root, list(engine.errors))
