"""``--jobs N``: scan files in N worker processes; findings come back batch by batch.

The parent walks the targets and hands out batches of ``FileRef``; each worker keeps one
``Engine`` and returns the findings and numbers of a batch. Findings are the same as in-process:
each file is scanned whole by one worker, and the parent sorts and suppresses as ``run`` does.
Small scans never start a pool (start-up time): fewer than ``POOL_MIN_FILES`` files stay here.
"""
from __future__ import annotations

import itertools
from collections import deque
import os
import sys
import time
from typing import TYPE_CHECKING, Iterable, Iterator

from .engine import Engine
from .model import Finding, Rule, Stats
from .prefilter import ByteGate, rule_literals
from .scanner import Pack, ScanResult, finish, scan_texts
from .sources.bundles import with_source_maps
from .sources.files import FileRef, Gate, ref_texts

if TYPE_CHECKING:
    from .suppress import Suppressor

POOL_MIN_FILES = 200
BATCH_FILES = 64
BATCH_BYTES = 4 * 1024 * 1024


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def byte_gate(rules: list[Rule], packs: list[Pack]) -> Gate | None:
    """A gate for the rules' literals; none when a pack must see every text."""
    if packs:
        return None
    return ByteGate.for_literals(*rule_literals([r.keywords for r in rules]))


def run_files(
    refs: Iterable[FileRef], rules: list[Rule], stats: Stats, jobs: int, root: str | None = None,
    packs: Iterable[Pack] = (), suppressor: Suppressor | None = None, gate: bool = True,
) -> ScanResult:
    """Scan files (in ``jobs`` processes when there are enough of them) into a ``ScanResult``."""
    started = time.perf_counter()
    packs = list(packs)
    refs = iter(refs)
    head = list(itertools.islice(refs, POOL_MIN_FILES))
    stdin = [r for r in head if r.path == "-" and r.abs_path is None]
    if jobs <= 1 or len(head) < POOL_MIN_FILES:
        engine = Engine(rules)
        the_gate = byte_gate(rules, packs) if gate else None
        texts = (t for r in itertools.chain(head, refs) for t in ref_texts(r, stats, the_gate))
        findings = scan_texts(with_source_maps(texts, stats), engine, stats, packs)
        return finish(findings, engine.errors, rules, stats, started, root, packs, suppressor)

    import multiprocessing

    method = "fork" if sys.platform.startswith("linux") else None
    ctx = multiprocessing.get_context(method)
    by_id = {r.id: r for r in rules + [r for p in packs for r in p.rules]}
    findings: list[Finding] = []
    errors: list[str] = []

    def collect(result: tuple[list[Finding], Stats, list[str]]) -> None:
        batch_findings, batch_stats, batch_errors = result
        for f in batch_findings:
            f.rule = by_id.get(f.rule.id, f.rule)
        findings.extend(batch_findings)
        merge_stats(stats, batch_stats)
        errors.extend(e for e in batch_errors if e not in errors)

    files = itertools.chain((r for r in head if r not in stdin), refs)
    # the walk and all bookkeeping stay in this thread; at most a few batches wait per worker
    with ctx.Pool(jobs, initializer=_start_worker, initargs=(rules, packs, gate)) as pool:
        try:
            if stdin:
                engine = Engine(rules)
                texts = (t for r in stdin for t in ref_texts(r, stats))
                findings += scan_texts(with_source_maps(texts, stats), engine, stats, packs)
                errors += engine.errors
            pending: deque = deque()
            for batch in _batches(files):
                pending.append(pool.apply_async(_scan_batch, (batch,)))
                while pending and (pending[0].ready() or len(pending) > 4 * jobs):
                    collect(pending.popleft().get())
            while pending:
                collect(pending.popleft().get())
        finally:
            pool.terminate()
    return finish(findings, errors, rules, stats, started, root, packs, suppressor)


def _batches(refs: Iterable[FileRef]) -> Iterator[list[FileRef]]:
    """Batches of at most BATCH_FILES files or BATCH_BYTES bytes, so big bundles spread out."""
    batch: list[FileRef] = []
    size = 0
    for ref in refs:
        batch.append(ref)
        try:
            size += os.stat(ref.path).st_size
        except OSError:
            pass  # the worker reports it
        if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def merge_stats(into: Stats, other: Stats) -> None:
    into.files += other.files
    into.bytes += other.bytes
    for reason, n in other.skipped.items():
        into.skipped[reason] = into.skipped.get(reason, 0) + n
    room = 1000 - len(into.skipped_paths)
    into.skipped_paths.extend(other.skipped_paths[: max(0, room)])
    for reason, n in other.suppressed.items():
        into.suppressed[reason] = into.suppressed.get(reason, 0) + n


_worker: tuple[Engine, list[Pack], Gate | None] | None = None


def _start_worker(rules: list[Rule], packs: list[Pack], gate: bool) -> None:
    global _worker
    _worker = (Engine(rules), packs, byte_gate(rules, packs) if gate else None)


def _scan_batch(refs: list[FileRef]) -> tuple[list[Finding], Stats, list[str]]:
    assert _worker is not None
    engine, packs, gate = _worker
    stats = Stats()
    known = len(engine.errors)
    texts = (t for r in refs for t in ref_texts(r, stats, gate))
    return scan_texts(with_source_maps(texts, stats), engine, stats, packs), stats, engine.errors[known:]
