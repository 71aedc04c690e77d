"""Wires the pipeline: sources -> engine -> findings, for one ``keyguard scan`` run."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from .detect.engine import Engine
from .exposure import mark_browser_exposed
from .model import Finding, Rule, ScanText, Stats, severity_rank

if TYPE_CHECKING:
    from .suppress import Suppressor


class Pack(Protocol):
    """An extra detector beside the rules engine (e.g. detect-secrets' generic detectors)."""

    rules: list[Rule]

    def scan(self, st: ScanText, stats: Stats | None = None) -> list[Finding]: ...


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


def scan_texts(
    texts: Iterable[ScanText], engine: Engine, stats: Stats, packs: Iterable[Pack] = ()
) -> list[Finding]:
    packs = list(packs)
    seen: set[tuple] = set()
    findings: list[Finding] = []
    for st in texts:
        found = engine.scan(st, stats)
        locate = getattr(st, "locate", None)  # e.g. a source map adds each finding's original place
        if packs:
            from .detect.generic import without_overlap

            for pack in packs:
                found += without_overlap(pack.scan(st, stats), found)
        if locate is not None:
            locate(found)
        for f in found:
            k = finding_key(f)
            if k in seen:  # the overlap between two chunks of one file
                continue
            seen.add(k)
            findings.append(f)
    findings.sort(key=sort_key)
    return findings


def run(
    texts: Iterable[ScanText], rules: list[Rule], stats: Stats, root: str | None = None,
    packs: Iterable[Pack] = (), suppressor: Suppressor | None = None,
    source_filter: Callable[[list[Finding]], list[Finding]] | None = None,
) -> ScanResult:
    """Scan ``texts`` with ``rules`` (and any opt-in ``packs``), then drop suppressed findings.

    ``source_filter`` lets the source that made ``texts`` judge the raw findings first (git:
    attribute a blob's findings to commits and paths, keep only lines a change adds).
    """
    started = time.perf_counter()
    packs = list(packs)
    engine = Engine(rules)
    findings = scan_texts(texts, engine, stats, packs)
    if source_filter is not None:
        findings = list(source_filter(findings))
    return finish(findings, engine.errors, rules, stats, started, root, packs, suppressor)


def scrub_secrets(findings: list[Finding], stats: Stats, errors: list[str]) -> list[str]:
    """Redact every secret found wherever else it stands in the report: in paths (a URL scan's
    ``/k/AIza…/app.js``, a file named after its key), skipped paths, web stats and errors."""
    shown = {f.secret: f.redacted for f in findings if len(f.secret) >= 12}
    if not shown:
        return errors
    import re

    found = re.compile("|".join(map(re.escape, sorted(shown, key=len, reverse=True))))

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return found.sub(lambda m: shown[m.group(0)], value) if found.search(value) else value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value

    for f in findings:
        f.path = clean(f.path)
    stats.skipped = clean(stats.skipped)
    stats.skipped_paths = clean(stats.skipped_paths)
    stats.extra = clean(stats.extra)
    return clean(errors)


def finish(
    findings: list[Finding], errors: Iterable[str], rules: list[Rule], stats: Stats, started: float,
    root: str | None = None, packs: Iterable[Pack] = (), suppressor: Suppressor | None = None,
) -> ScanResult:
    """Sorted, suppressed findings and the run's numbers as one ``ScanResult``."""
    errors = scrub_secrets(findings, stats, list(errors))
    mark_browser_exposed(findings)
    findings.sort(key=sort_key)
    if suppressor is not None:
        findings = suppressor.apply(findings, stats)
    stats.findings = len(findings)
    stats.seconds = time.perf_counter() - started
    all_rules = rules + [r for p in packs for r in p.rules]
    return ScanResult(findings, stats, all_rules, root, list(errors))
