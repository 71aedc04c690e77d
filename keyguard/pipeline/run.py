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
from typing import TYPE_CHECKING, Iterable

from ..findings.exposure import mark_browser_exposed
from ..findings.scrub import scrub_secrets
from ..model import Finding, ScanResult, Stats
from ..progress import Progress
from .executor import in_pool
from .scanner import Detection, Scanner, Source, sort_key

if TYPE_CHECKING:
    from ..findings.suppress import Suppressor


def run(sources: Iterable[Source], detection: Detection, stats: Stats, jobs: int = 1,
        root: str | None = None, suppressor: Suppressor | None = None) -> ScanResult:
    """Scan every source with ``detection`` (in up to ``jobs`` processes) into one result."""
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
            large = len(head) >= source.pool_min_items
            if jobs < max(2, source.pool_min_jobs) or not large:
                # a large source scanned here all the same (a history): Hyperscan compiles
                # in a thread while it starts
                early = large and getattr(source, "large_in_process", False)
                scanner = Scanner(detection, prepare="background" if early else False)
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
