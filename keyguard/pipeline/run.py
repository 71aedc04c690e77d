"""The one orchestrator: every kind of scan runs through ``run``.

    source.items()  ->  batches of items  ->  source.texts(batch)  ->  source maps (a transform
    every source shares)  ->  engine (+ opt-in packs)  ->  source.refine(findings)  ->  scrub,
    exposure, sort, suppress  ->  ``ScanResult``

Where the batches are scanned — here, or in worker processes — is the executor's choice
(``executor``); it never changes what is found.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Protocol

from ..detect.engine import Engine, byte_gate
from ..findings.exposure import mark_browser_exposed
from ..findings.scrub import scrub_secrets
from ..model import Finding, Rule, ScanResult, ScanText, Stats, severity_rank
from ..progress import Progress
from ..sources.sourcemaps import with_source_maps

if TYPE_CHECKING:
    from ..detect.prefilter import ByteGate
    from ..findings.suppress import Suppressor


class Pack(Protocol):
    """An extra detector beside the rules engine (e.g. detect-secrets' generic detectors)."""

    rules: list[Rule]

    def scan(self, st: ScanText, stats: Stats | None = None) -> list[Finding]: ...


class Source(Protocol):
    """Where texts come from. ``items`` are walked here (files, blobs, URLs); ``texts`` turns a
    batch of them into ``ScanText`` in whichever process scans it; ``refine`` sees all the
    findings once every batch is done (attribute blobs to commits, keep what a change adds)."""

    pool_min_items: int  # fewer items than this: scanned in this process (start-up time)
    pool_min_jobs: int  # fewer --jobs than this: scanned in this process

    def items(self, stats: Stats) -> Iterator[Any]: ...

    def batches(self, items: Iterator[Any]) -> Iterator[list[Any]]: ...

    def stays_here(self, item: Any) -> bool: ...  # e.g. standard input: read by this process

    def texts(self, batch: Iterable[Any], stats: Stats, gate: ByteGate | None) -> Iterator[ScanText]: ...

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]: ...


@dataclass
class Detection:
    """What finds keys: the rules, any opt-in packs, and whether raw bytes are gated first."""

    rules: list[Rule]
    packs: list[Pack] = field(default_factory=list)
    gate: bool = True

    @property
    def all_rules(self) -> list[Rule]:
        return self.rules + [r for p in self.packs for r in p.rules]

    def gate_for_bytes(self) -> ByteGate | None:
        """A gate for the rules' literals; none when a pack must see every text."""
        return byte_gate(self.rules) if self.gate and not self.packs else None


class Scanner:
    """One process's detector: an engine, the packs and the byte gate, kept across batches."""

    def __init__(self, detection: Detection, prepare: bool = False) -> None:
        self.detection = detection
        self.engine = Engine(detection.rules)
        self.gate = detection.gate_for_bytes()
        if prepare:  # compiled once here, before workers fork
            self.engine.prepare()
            if self.gate is not None:
                self.gate.prepare()

    def scan(self, texts: Iterable[ScanText], stats: Stats) -> list[Finding]:
        """Findings of ``texts`` after the transforms every source shares (source maps)."""
        packs = self.detection.packs
        seen: set[tuple] = set()
        findings: list[Finding] = []
        for st in with_source_maps(iter(texts), stats):
            found = self.engine.scan(st, stats)
            if packs:
                from ..detect.generic import without_overlap

                for pack in packs:
                    found += without_overlap(pack.scan(st, stats), found)
            locate = getattr(st, "locate", None)  # a source map adds each finding's original place
            if locate is not None:
                locate(found)
            for f in found:
                k = finding_key(f)
                if k in seen:  # the overlap between two chunks of one file
                    continue
                seen.add(k)
                findings.append(f)
        return findings


def finding_key(f: Finding) -> tuple:
    return (f.path, (f.commit or {}).get("sha"), f.rule.id, f.line, f.column, f.secret_sha256,
            (f.origin or {}).get("encoding"))


def sort_key(f: Finding) -> tuple:
    return (f.path, f.line, f.column, -severity_rank(f.severity), f.rule.id)


def run(sources: Iterable[Source], detection: Detection, stats: Stats, jobs: int = 1,
        root: str | None = None, suppressor: Suppressor | None = None) -> ScanResult:
    """Scan every source with ``detection`` (in up to ``jobs`` processes) into one result."""
    from .executor import in_pool

    started = time.perf_counter()
    findings: list[Finding] = []
    errors: list[str] = []
    for source in sources:
        # a line on a terminal for long directory and history scans (sources that name a unit)
        unit = getattr(source, "progress_unit", None)
        progress = Progress(unit) if unit else None
        try:
            items = source.items(stats)
            head = list(itertools.islice(items, source.pool_min_items))
            if jobs < max(2, source.pool_min_jobs) or len(head) < source.pool_min_items:
                scanner = Scanner(detection)
                texts = source.texts(itertools.chain(head, items), stats, scanner.gate)
                found = scanner.scan(progress.follow(texts, stats) if progress else texts, stats)
                new_errors = scanner.engine.errors
            else:
                here = [i for i in head if source.stays_here(i)]
                rest = itertools.chain((i for i in head if not source.stays_here(i)), items)
                found, new_errors = in_pool(source, source.batches(rest), here, jobs, detection, stats,
                                            progress)
        finally:
            if progress is not None:
                progress.clear()
        errors += [e for e in new_errors if e not in errors]
        findings += source.refine(found, stats, errors)
    return finish(findings, errors, detection, stats, started, root, suppressor)


def finish(findings: list[Finding], errors: list[str], detection: Detection, stats: Stats,
           started: float, root: str | None = None, suppressor: Suppressor | None = None) -> ScanResult:
    """The filters every scan ends with: secrets redacted wherever else they stand, exposure,
    order, then suppression (config allows, --skip, baselines)."""
    errors = scrub_secrets(findings, stats, errors)
    mark_browser_exposed(findings)
    findings.sort(key=sort_key)
    if suppressor is not None:
        findings = suppressor.apply(findings, stats)
    stats.findings = len(findings)
    stats.seconds = time.perf_counter() - started
    return ScanResult(findings, stats, detection.all_rules, root, list(errors))
