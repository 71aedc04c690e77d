"""``--jobs N``: scan files or git blobs in N worker processes; findings come back batch by batch.

Files: the parent walks the targets and hands out batches of ``FileRef``. Git history: the
parent reads the log and hands out shares of the blobs (split by path, so that a file's
versions, which git stores as deltas of each other, stay in one share); each worker reads its
share through its own ``git cat-file --batch``. Each worker keeps one ``Engine`` and returns
the findings and numbers of a batch. Findings are the same as in-process: each file or blob is
scanned whole by one worker, and the parent puts them in the in-process order, then sorts and
suppresses as ``run`` does. Small scans never start a pool (start-up time): fewer than
``POOL_MIN_FILES`` files or ``POOL_MIN_BLOBS`` blobs stay here.
"""
from __future__ import annotations

import itertools
from collections import deque
import os
import sys
import time
import zlib
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from .detect.engine import Engine, byte_gate as rules_gate
from .model import Finding, Rule, Stats
from .detect.prefilter import ByteGate
from .scanner import Pack, ScanResult, finish, scan_texts, sort_key
from .sources.bundles import with_source_maps
from .sources.files import FileRef, Gate, ref_texts

if TYPE_CHECKING:
    from .sources.git import Repo
    from .suppress import Suppressor

Result = tuple[list[Finding], Stats, list[str]]  # a batch's findings, numbers and rule errors

POOL_MIN_FILES = 200
POOL_MIN_BLOBS = 1000  # git blobs are read by git, and a share needs its own git process
# history in one process already keeps two cores busy (Python beside git log and git cat-file):
# workers took as long on two cores, with a seventh more CPU
POOL_MIN_JOBS_HISTORY = 3
SHARES_PER_JOB = 4  # history: blob shares per worker, so that one slow share does not hold all up
SHARE_BLOBS = 256  # history: blobs a share gathers from the log before a worker reads them
BATCH_FILES = 256
BATCH_BYTES = 4 * 1024 * 1024


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def byte_gate(rules: list[Rule], packs: list[Pack]) -> ByteGate | None:
    """A gate for the rules' literals; none when a pack must see every text."""
    if packs:
        return None
    return rules_gate(rules)


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

    stdin_findings: list[Finding] = []
    stdin_errors: list[str] = []

    def scan_stdin() -> None:  # while the workers start
        engine = Engine(rules)
        texts = (t for r in stdin for t in ref_texts(r, stats))
        stdin_findings.extend(scan_texts(with_source_maps(texts, stats), engine, stats, packs))
        stdin_errors.extend(engine.errors)

    files = itertools.chain((r for r in head if r not in stdin), refs)
    tasks = ((_scan_batch, (batch,)) for batch in _batches(files))
    findings, errors = _in_pool(tasks, jobs, rules, packs, gate, stats, scan_stdin if stdin else None)
    errors = stdin_errors + [e for e in errors if e not in stdin_errors]
    return finish(stdin_findings + findings, errors, rules, stats, started, root, packs, suppressor)


def run_history(
    repo: Repo, rules: list[Rule], stats: Stats, jobs: int, packs: Iterable[Pack] = (),
    suppressor: Suppressor | None = None, gate: bool = True, keep: Callable[[str], bool] | None = None,
) -> ScanResult:
    """Scan every blob of the repository's history (only at the paths ``keep`` accepts; in
    ``jobs`` processes when there are enough blobs), attribute the findings to paths and
    commits, and return them as a ``ScanResult``.

    Blobs are read while ``git log`` is still being read; their commits are known only when
    the log has ended, and findings get them then. With workers (``jobs`` from
    ``POOL_MIN_JOBS_HISTORY``), a share of blobs goes to a worker once it holds ``SHARE_BLOBS``."""
    from .sources import git

    started = time.perf_counter()
    packs = list(packs)
    history = git.History()
    # the commit of each blob is a stand-in until the log has ended; its "sha" keeps the
    # findings of different blobs apart, as their commits do
    log = ((sha, path, {"sha": sha, "blob": sha}) for sha, path in git.walk_history(repo, stats, history, keep))
    head = list(itertools.islice(log, POOL_MIN_BLOBS))
    if jobs < POOL_MIN_JOBS_HISTORY or len(head) < POOL_MIN_BLOBS:
        # git log and git cat-file run side by side, each blob read as soon as the log names it
        engine = Engine(rules)
        the_gate = byte_gate(rules, packs) if gate else None
        texts = git.blob_texts(repo, itertools.chain(head, log), stats, the_gate)
        findings = scan_texts(texts, engine, stats, packs)
        errors = engine.errors
    else:
        order: dict[str, int] = {}  # blobs as the log met them

        def tasks() -> Iterator[tuple[Callable[..., Result], tuple]]:
            shares: list[list[tuple[str, str, dict]]] = [[] for _ in range(jobs * SHARES_PER_JOB)]
            for item in itertools.chain(head, log):
                order[item[0]] = len(order)
                share = shares[zlib.crc32(item[1].encode("utf-8", "surrogateescape")) % len(shares)]
                share.append(item)
                if len(share) >= SHARE_BLOBS:
                    yield _scan_blobs, (repo, share[:])
                    share.clear()
            for share in shares:
                if share:
                    yield _scan_blobs, (repo, share)

        findings, errors = _in_pool(tasks(), jobs, rules, packs, gate, stats)
        # the in-process order (blobs as the log met them, then sort_key), which decides
        # between findings that tie in ``attribute_history``
        findings.sort(key=lambda f: order[f.commit["blob"]])  # type: ignore[index]
        findings.sort(key=sort_key)
    git.count_history(history, stats)
    for f in findings:  # the log has ended: each blob's oldest commit at its path is known
        f.commit = history.commit_for(f.commit["blob"], f.path)  # type: ignore[index]
    findings = git.attribute_history(findings, history)
    return finish(findings, errors, rules, stats, started, repo.toplevel, packs, suppressor)


def _in_pool(
    tasks: Iterable[tuple[Callable[..., Result], tuple]], jobs: int, rules: list[Rule],
    packs: list[Pack], gate: bool, stats: Stats, meanwhile: Callable[[], None] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Run ``tasks`` in ``jobs`` worker processes; their findings (in the order the tasks were
    given) and rule errors, and their numbers added to ``stats``. ``meanwhile`` runs here while
    the workers start."""
    import multiprocessing

    method = "fork" if sys.platform.startswith("linux") else None
    ctx = multiprocessing.get_context(method)
    by_id = {r.id: r for r in rules + [r for p in packs for r in p.rules]}
    findings: list[Finding] = []
    errors: list[str] = []

    def collect(result: Result) -> None:
        batch_findings, batch_stats, batch_errors = result
        for f in batch_findings:
            f.rule = by_id.get(f.rule.id, f.rule)
        findings.extend(batch_findings)
        merge_stats(stats, batch_stats)
        errors.extend(e for e in batch_errors if e not in errors)

    # the walk and all bookkeeping stay in this thread; at most a few batches wait per worker
    # forked workers inherit an engine and gate whose Hyperscan databases the parent compiled
    # once; spawned ones build their own from the rules
    state = _worker_state(rules, packs, gate, prepare=True) if method == "fork" else None
    with ctx.Pool(jobs, initializer=_start_worker, initargs=(rules, packs, gate, state)) as pool:
        try:
            if meanwhile is not None:
                meanwhile()
            pending: deque = deque()
            for fn, args in tasks:
                pending.append(pool.apply_async(fn, args))
                while pending and (pending[0].ready() or len(pending) > 4 * jobs):
                    collect(pending.popleft().get())
            while pending:
                collect(pending.popleft().get())
            pool.close()  # workers exit on their own: each closes and waits for its git
            pool.join()
        finally:
            pool.terminate()
    return findings, errors


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
_blob_reader = None  # a worker's git cat-file, kept open from one share of blobs to the next


def _worker_state(rules: list[Rule], packs: list[Pack], gate: bool,
                  prepare: bool = False) -> tuple[Engine, list[Pack], ByteGate | None]:
    engine = Engine(rules)
    the_gate = byte_gate(rules, packs) if gate else None
    if prepare:
        engine.prepare()
        if the_gate is not None:
            the_gate.prepare()
    return engine, packs, the_gate


def _start_worker(rules: list[Rule], packs: list[Pack], gate: bool,
                  state: tuple[Engine, list[Pack], Gate | None] | None = None) -> None:
    global _worker
    _worker = state if state is not None else _worker_state(rules, packs, gate)


def _scan_batch(refs: list[FileRef]) -> Result:
    assert _worker is not None
    engine, packs, gate = _worker
    stats = Stats()
    known = len(engine.errors)
    texts = (t for r in refs for t in ref_texts(r, stats, gate))
    return scan_texts(with_source_maps(texts, stats), engine, stats, packs), stats, engine.errors[known:]


def _scan_blobs(repo: Repo, share: list[tuple[str, str, dict]]) -> Result:
    """One share of a history's blobs, read through this worker's own ``git cat-file``."""
    from .sources.git import BlobReader, blob_texts

    global _blob_reader
    assert _worker is not None
    engine, packs, gate = _worker
    stats = Stats()
    known = len(engine.errors)
    if _blob_reader is None or not _blob_reader.alive():  # one per worker: its delta cache stays warm
        from multiprocessing.util import Finalize

        _blob_reader = BlobReader(repo, keep_open=True)
        Finalize(_blob_reader, _blob_reader.close, exitpriority=1)  # when the worker exits
    texts = blob_texts(repo, share, stats, gate, _blob_reader)  # type: ignore[arg-type]
    return scan_texts(texts, engine, stats, packs), stats, engine.errors[known:]
