"""``--jobs N``: a source's batches scanned in N worker processes.

Each worker keeps one ``Scanner`` (engine, packs, byte gate) and the source it was forked with,
and returns each batch's findings, numbers and rule errors. The parent collects them in the
order the batches were given, so the findings are those of one process: each item (a file, a
blob) is scanned whole by one worker, and ``run`` sorts and filters them as it always does.
"""
from __future__ import annotations

import os
import sys
from collections import deque
from typing import Any, Callable, Iterable

from ..model import Finding, Stats

from ..progress import Progress
from .scanner import Detection, Scanner, Source

BatchResult = tuple[list[Finding], Stats, list[str]]  # a batch's findings, numbers, rule errors


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def in_pool(source: Source, batches: Iterable[list[Any]], here: list[Any], jobs: int,
            detection: Detection, stats: Stats,
            progress: Progress | None = None) -> tuple[list[Finding], list[str]]:
    """Scan ``batches`` in ``jobs`` worker processes, and the items that must stay ``here`` in
    this one while the workers start; their findings in order, and their rule errors. Their
    numbers are added to ``stats``."""
    import multiprocessing

    method = "fork" if sys.platform.startswith("linux") else None
    ctx = multiprocessing.get_context(method)
    by_id = {r.id: r for r in detection.all_rules}
    findings: list[Finding] = []
    errors: list[str] = []

    def collect(result: BatchResult) -> None:
        batch_findings, batch_stats, batch_errors = result
        for f in batch_findings:  # the worker's copy of a rule -> this process's
            f.rule = by_id.get(f.rule.id, f.rule)
        findings.extend(batch_findings)
        stats.merge(batch_stats)
        errors.extend(e for e in batch_errors if e not in errors)
        if progress is not None:
            progress.update(stats.files, stats.bytes)

    # forked workers inherit a scanner whose Hyperscan databases this process compiled once;
    # spawned ones build their own
    scanner = Scanner(detection, prepare=True) if method == "fork" else None
    with ctx.Pool(jobs, initializer=_start_worker, initargs=(source, detection, scanner)) as pool:
        try:
            if here:
                local = Scanner(detection)
                findings.extend(local.scan(source.texts(here, stats, local.gate), stats))
                errors.extend(local.engine.errors)
            pending: deque = deque()
            for batch in batches:  # the walk stays in this thread; a few batches wait per worker
                pending.append(pool.apply_async(_scan_batch, (batch,)))
                while pending and (pending[0].ready() or len(pending) > 4 * jobs):
                    collect(pending.popleft().get())
            while pending:
                collect(pending.popleft().get())
            pool.close()  # workers exit on their own (a source may close what it keeps open)
            pool.join()
        finally:
            pool.terminate()
    return findings, errors


_worker: tuple[Source, Scanner] | None = None


def _start_worker(source: Source, detection: Detection, scanner: Scanner | None) -> None:
    global _worker

    _worker = (source, scanner if scanner is not None else Scanner(detection))
    close: Callable[[], None] | None = getattr(source, "close", None)
    if close is not None:
        from multiprocessing.util import Finalize

        Finalize(source, close, exitpriority=1)  # when the worker exits


def _scan_batch(batch: list[Any]) -> BatchResult:
    assert _worker is not None
    source, scanner = _worker
    stats = Stats()
    known = len(scanner.engine.errors)
    found = scanner.scan(source.texts(batch, stats, scanner.gate), stats)
    return found, stats, scanner.engine.errors[known:]
