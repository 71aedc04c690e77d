"""Every blob reachable from any ref: one ``git log --all --raw`` pass maps each blob to the
paths and the oldest commit that introduced it there; each unique blob is then read once through
one long-lived ``git cat-file --batch`` process, in the order the log met them."""
from __future__ import annotations

import subprocess
import threading
import zlib
from dataclasses import dataclass, field, replace
from typing import IO, Any, Callable, Iterable, Iterator

from ..model import Finding, ScanText, Stats, severity_rank
from .decode import Gate
from .git import (
    SUBMODULE_SKIP, ZERO_SHA, BlobReader, GitError, Repo, blob_texts, decode_path, first_line, widen_pipe,
)

_LOG_FORMAT = "%x01%H%x00%an%x00%ae%x00%aI%x00%ct"


def _tokens(stream: IO[bytes]) -> Iterator[bytes]:
    rest = b""
    while True:
        block = stream.read1(1 << 20)  # what git has written so far: never wait for a full block
        if not block:
            break
        parts = (rest + block).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


@dataclass
class History:
    """Every blob reachable from any ref, with each path it appeared at and the oldest commit
    that put it there."""

    commits: list[dict[str, Any]] = field(default_factory=list)
    commit_times: list[int] = field(default_factory=list)
    blobs: dict[str, dict[str, int]] = field(default_factory=dict)  # blob -> path -> commit index

    def commit_for(self, blob: str, path: str) -> dict[str, Any]:
        c = dict(self.commits[self.blobs[blob][path]])
        c["blob"] = blob
        return c


def walk_history(repo: Repo, stats: Stats, h: History,
                 keep: Callable[[str], bool] | None = None) -> Iterator[tuple[str, str]]:
    """Fill ``h`` from one ``git log --all --raw`` pass, newest first (the last commit seen for
    a (blob, path) is the oldest one that introduced it), only at the paths ``keep`` accepts
    (``--shard``). Yields (blob, path) as each blob is first met, at the first path ``h`` will
    hold for it, so that blobs can be read while the log goes on; their commits are known only
    once it has ended (``h.commit_for``)."""
    args = repo.args("log", "--all", "-z", "--raw", "--no-abbrev", "--no-renames", "-c", "--root",
                     "--no-textconv", "--no-ext-diff", "--no-color", f"--format={_LOG_FORMAT}")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=repo.env,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout and proc.stderr
    widen_pipe(proc.stdout)
    err_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    tokens = _tokens(proc.stdout)
    current = -1
    interned: dict[bytes, str | None] = {}
    submodules: set[bytes] = set()
    people: dict[bytes, tuple[str, str]] = {}
    blobs = h.blobs
    try:
        for tok in tokens:
            if tok.startswith(b"\x01"):
                author, email, date, ctime = (next(tokens, b"") for _ in range(4))
                who = people.get(author + b"\0" + email)
                if who is None:  # one copy per author, not per commit
                    who = people[author + b"\0" + email] = (author.decode("utf-8", "replace"),
                                                             email.decode("utf-8", "replace"))
                h.commits.append({"sha": tok[1:].decode(), "author": who[0], "email": who[1],
                                  "date": date.decode()})
                h.commit_times.append(int(ctime or b"0"))
                current = len(h.commits) - 1
                continue
            tok = tok.lstrip(b"\n")
            if not tok.startswith(b":"):
                continue
            raw_path = next(tokens, b"")
            fields = tok.split()
            if len(fields) < 3 or current < 0:
                continue
            new_sha, new_mode = fields[-2].decode(), fields[len(fields) // 2 - 1].lstrip(b":")
            if new_mode == b"160000":  # a submodule: its history is another repository's
                submodules.add(raw_path)
                continue
            if new_sha == ZERO_SHA or not new_mode.startswith(b"10"):  # deleted, symlink
                continue
            if raw_path in interned:
                path = interned[raw_path]
            else:
                path = interned[raw_path] = decode_path(raw_path)
                if keep is not None and not keep(path):
                    interned[raw_path] = path = None
            if path is None:
                continue
            paths = blobs.get(new_sha)
            if paths is None:
                blobs[new_sha] = {path: current}
                yield new_sha, path
            else:
                paths[path] = current
    finally:
        proc.stdout.close()
        rc = proc.wait()
        drain.join()
    for raw_path in sorted(submodules):
        stats.skip(decode_path(raw_path), SUBMODULE_SKIP)
    if rc != 0:
        msg = first_line(b"".join(err_chunks))
        known = len(h.blobs)
        yield from _readable_objects(repo, h, msg, keep)
        stats.extra.setdefault("git_warnings", []).append(
            f"git log: {msg}: history partly unreadable (corrupt or missing objects); "
            f"{len(h.blobs) - known} more readable blobs scanned without their commit")


def _readable_objects(repo: Repo, h: History, log_error: str,
                      keep: Callable[[str], bool] | None = None) -> Iterator[tuple[str, str]]:
    """After ``git log`` failed on a broken object store: every blob still reachable through
    readable trees, at its path, under a commit of which only the blob is known."""
    p = repo.run("rev-list", "--all", "--objects", "--missing=allow-any", "--filter=object:type=blob",
                 check=False)
    if p.returncode != 0:
        raise GitError(f"git log: {log_error}")
    unknown = -1
    for line in p.stdout.split(b"\n"):
        sha, _, raw_path = line.partition(b" ")
        if not raw_path or len(sha) != 40:
            continue  # a commit
        blob, path = sha.decode(), decode_path(raw_path)
        if blob in h.blobs or (keep is not None and not keep(path)):
            continue
        if unknown < 0:
            h.commits.append({})
            h.commit_times.append(1 << 62)
            unknown = len(h.commits) - 1
        h.blobs[blob] = {path: unknown}
        yield blob, path


def count_history(h: History, stats: Stats) -> None:
    stats.extra["git"] = {"commits": sum(1 for c in h.commits if c), "blobs": len(h.blobs)}



def attribute_history(findings: list[Finding], h: History) -> list[Finding]:
    """Copy each blob's findings to every path that blob had, then keep, per path and secret,
    the finding from the oldest commit: the one that introduced the secret there."""
    best: dict[tuple[str, str, str, str | None], tuple[int, Finding]] = {}
    for f in findings:
        blob = (f.commit or {}).get("blob")
        paths = h.blobs.get(blob, {}) if blob else {}
        for path, ci in (paths.items() if paths else [(f.path, -1)]):
            key = (path, f.rule.id, f.secret, (f.origin or {}).get("encoding"))
            when = h.commit_times[ci] if ci >= 0 else 1 << 62
            old = best.get(key)
            if old is not None and (old[0], old[1].line) <= (when, f.line):
                continue
            g = f if path == f.path else replace(
                f, path=path, commit=h.commit_for(blob, path), origin=dict(f.origin))  # type: ignore[arg-type]
            best[key] = (when, g)
    return [g for _, g in best.values()]


POOL_MIN_BLOBS = 1000  # git blobs are read by git, and a share needs its own git process
# history in one process already keeps two cores busy (Python beside git log and git cat-file):
# workers took as long on two cores, with a seventh more CPU
POOL_MIN_JOBS = 3
SHARES_PER_JOB = 4  # blob shares per worker, so that one slow share does not hold all up
SHARE_BLOBS = 256  # blobs a share gathers from the log before a worker reads them


class HistorySource:
    """Every blob of the repository's history, at the paths ``keep`` accepts (``--shard``).

    Blobs are read while ``git log`` is still being read; their commits are known only once the
    log has ended, and ``refine`` gives them to the findings then. In workers, blobs go out in
    shares split by path (a file's versions, which git stores as deltas of each other, stay in
    one share), each read through the worker's own long-lived ``git cat-file``."""

    pool_min_items = POOL_MIN_BLOBS
    pool_min_jobs = POOL_MIN_JOBS
    large_in_process = True  # every blob of a history: Hyperscan is compiled while git starts
    progress_unit = "blobs"  # a progress line on a terminal for long scans

    def __init__(self, repo: Repo, keep: Callable[[str], bool] | None = None, jobs: int = 1) -> None:
        self.repo = repo
        self.keep = keep
        self.jobs = jobs
        self.history = History()
        self.order: dict[str, int] = {}  # blobs as the log met them
        self._reader: BlobReader | None = None  # a worker's, kept open from share to share

    def items(self, stats: Stats) -> Iterator[tuple[str, str, dict[str, Any]]]:
        # the commit of each blob is a stand-in until the log has ended; its "sha" keeps the
        # findings of different blobs apart, as their commits do
        for sha, path in walk_history(self.repo, stats, self.history, self.keep):
            self.order[sha] = len(self.order)
            yield sha, path, {"sha": sha, "blob": sha}

    def batches(self, items: Iterator[tuple[str, str, dict[str, Any]]]) -> Iterator[list[Any]]:
        shares: list[list[Any]] = [[] for _ in range(max(1, self.jobs) * SHARES_PER_JOB)]
        for item in items:
            share = shares[zlib.crc32(item[1].encode("utf-8", "surrogateescape")) % len(shares)]
            share.append(item)
            if len(share) >= SHARE_BLOBS:
                yield share[:]
                share.clear()
        yield from (share for share in shares if share)

    def stays_here(self, item: Any) -> bool:
        return False

    def texts(self, items: Iterable[tuple[str, str, dict[str, Any]]], stats: Stats,
              gate: Gate | None) -> Iterator[ScanText]:
        if self._reader is None or not self._reader.alive():  # its delta cache stays warm
            self._reader = BlobReader(self.repo, keep_open=True)
        return blob_texts(self.repo, items, stats, gate, self._reader)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]:
        self.close()
        # the order of one process (blobs as the log met them), which decides between findings
        # that tie in ``attribute_history``
        findings.sort(key=lambda f: self.order[f.commit["blob"]])  # type: ignore[index]
        findings.sort(key=lambda f: (f.path, f.line, f.column, -severity_rank(f.severity), f.rule.id))
        count_history(self.history, stats)
        for f in findings:  # the log has ended: each blob's oldest commit at its path is known
            f.commit = self.history.commit_for(f.commit["blob"], f.path)  # type: ignore[index]
        return attribute_history(findings, self.history)
