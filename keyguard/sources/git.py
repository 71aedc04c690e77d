"""Git objects as ``ScanText``: whole history, a commit range (a pull request), the index.

Plumbing only, never code from the scanned repo: every git process runs with the repo's
fsmonitor, hooks, pager and signature programs switched off, no textconv or filters, and no
transport at all (a partial clone would fetch a missing object through its promisor remote).

- history: one ``git log --all --raw`` pass maps each blob to the paths and the oldest commit
  that introduced it there; each unique blob is then read once through one long-lived
  ``git cat-file --batch`` process, in the order the log met them.
- range and index: the changed files' new blobs are scanned whole (so context words on
  unchanged lines still count); only findings on added lines whose secret was not already in
  the file's old version are kept.
"""
from __future__ import annotations

import itertools
import os
import queue
import re
import subprocess
import threading
from dataclasses import dataclass, field, replace
from typing import IO, Any, Callable, Iterable, Iterator

from ..model import Finding, ScanText, Stats
from . import files
from .files import Gate, bytes_texts, read_texts

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
SAFE_CONFIG = (
    "-c", "core.fsmonitor=", "-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*",
    "-c", "log.showSignature=false", "-c", "core.pager=cat", "-c", "diff.external=",
    "-c", "log.mailmap=false", "-c", "core.quotePath=false",
)
LFS_HEAD = b"version https://git-lfs.github.com/spec/"
SUBMODULE_SKIP = "submodule (not followed: scan its repository on its own)"
MAX_BLOB_BYTES = 256 * 1024 * 1024  # larger blobs are skipped (and reported in stats)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """Git cannot do what was asked: one line for the user (exit 2)."""


class CatFileError(GitError):
    """``git cat-file`` stopped while reading the object ``sha``."""

    def __init__(self, sha: str, msg: str) -> None:
        super().__init__(msg)
        self.sha = sha


def safe_env() -> dict[str, str]:
    """The environment every git process runs in (also a clone's, which adds its own transport)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
                        "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_EXTERNAL_DIFF")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_PAGER="cat",
               GIT_OPTIONAL_LOCKS="0", LC_ALL="C", GIT_NO_REPLACE_OBJECTS="1",
               # a partial clone fetches missing objects from its promisor remote, whose URL
               # and transport (``ext::sh -c ...``, ``core.sshCommand``) the repo's config
               # names: no lazy fetch (git 2.45+), and no transport at all (any git, overriding
               # the repo's ``protocol.*.allow``)
               GIT_NO_LAZY_FETCH="1", GIT_ALLOW_PROTOCOL="", GIT_PROTOCOL_FROM_USER="0")
    return env


@dataclass
class Repo:
    path: str  # as given
    toplevel: str  # the work tree (or the git dir of a bare repo): finding paths are relative to it
    bare: bool
    shallow: bool
    env: dict[str, str] = field(default_factory=safe_env)

    def args(self, *args: str) -> list[str]:
        return ["git", "-C", self.path, *SAFE_CONFIG, *args]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        try:
            p = subprocess.run(self.args(*args), capture_output=True, env=self.env, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)") from None
        if check and p.returncode != 0:
            raise GitError(f"git {args[0]}: {_first_line(p.stderr)}")
        return p

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "surrogateescape").strip()

    def has_commits(self) -> bool:
        return self.run("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).returncode == 0


def _first_line(err: bytes) -> str:
    lines = [ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return (fatal or lines or ["failed"])[0]


def open_repo(path: str) -> Repo:
    if not os.path.isdir(path):
        raise GitError(f"{path}: not a directory")
    probe = Repo(path, path, False, False)
    p = probe.run("rev-parse", "--is-bare-repository", "--is-shallow-repository", "--git-dir", check=False)
    if p.returncode != 0:
        msg = _first_line(p.stderr)
        if "not a git repository" in msg:
            gitfile = os.path.join(path, ".git")
            if os.path.isfile(gitfile):
                raise GitError(f"{path}: .git file points to a missing repository ({msg})")
            raise GitError(f"{path}: not a git repository")
        raise GitError(f"{path}: {msg}")
    bare_s, shallow_s, git_dir = p.stdout.decode("utf-8", "surrogateescape").split("\n")[:3]
    bare = bare_s == "true"
    if bare:
        top = os.path.abspath(os.path.join(path, git_dir))
    else:
        top = probe.out("rev-parse", "--show-toplevel")
    return Repo(path, top, bare, shallow_s == "true")


# -- reading blobs -------------------------------------------------------------------------------
class _Limited:
    """The next ``size`` bytes of a stream, as a file object ``read_texts`` can read."""

    def __init__(self, fh: IO[bytes], size: int, sha: str) -> None:
        self.fh, self.left, self.sha = fh, size, sha

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.fh.read(n)
        self.left -= len(data)
        if len(data) < n:
            raise CatFileError(self.sha, "git cat-file ended early")
        return data

    def drain(self) -> None:
        while self.left > 0:
            self.read(1 << 20)


class BlobReader:
    """One ``git cat-file --batch`` process; object names go in from a thread, contents come out.

    ``--buffer``: every name is written before any reply is awaited, so git need not flush
    after each object. ``keep_open``: no ``--buffer``, and the process stays for more
    ``stream`` calls (its cache of delta bases stays warm), until ``close``."""

    def __init__(self, repo: Repo, keep_open: bool = False) -> None:
        self.keep_open = keep_open
        args = ("cat-file", "--batch") if keep_open else ("cat-file", "--batch", "--buffer")
        self.proc = subprocess.Popen(
            repo.args(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=repo.env, bufsize=1 << 16,
        )
        self.errors = bytearray()  # drained so that a chatty git never blocks on a full pipe
        self._drain = threading.Thread(target=self._read_errors, daemon=True)
        self._drain.start()

    def _read_errors(self) -> None:
        assert self.proc.stderr
        for line in self.proc.stderr:
            if len(self.errors) < 1 << 16:
                self.errors += line

    def stream(self, shas: Iterable[str]) -> Iterator[tuple[str, int | None, _Limited | None]]:
        """(sha, size, body) per requested name; size and body None for a missing object.
        ``shas`` may be a generator still being filled (a log being read): a thread writes
        the names as they come. After a ``CatFileError``, ``abandon`` gives the names written
        after the failed one; those ``shas`` has not given yet are still in it."""
        proc = self.proc
        assert proc.stdin and proc.stdout
        sent: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        failed: list[Exception] = []  # the names' own source failed (e.g. git log)

        def write(data: bytes, flush: bool = False) -> bool:
            try:
                proc.stdin.write(data)  # type: ignore[union-attr]
                if flush:
                    proc.stdin.flush()  # type: ignore[union-attr]
                return True
            except (BrokenPipeError, OSError):  # git has gone: the reader finds out why
                return False

        def end_of_names() -> None:  # git answers the names it was given
            if self.keep_open:
                write(b"", flush=True)
            else:
                try:
                    proc.stdin.close()  # type: ignore[union-attr]
                except (BrokenPipeError, OSError):
                    pass

        def feed() -> None:
            try:
                for n, sha in enumerate(shas, 1):
                    sent.put(sha)
                    # a slow source (a log being read): every 256 names, git starts on them
                    if not write(sha.encode() + b"\n", flush=n % 256 == 0):
                        return
                end_of_names()
            except Exception as exc:  # raised to the reader, once it has read what came before
                failed.append(exc)
                end_of_names()
            finally:
                sent.put(None)

        writer = threading.Thread(target=feed, daemon=True)
        self._sent, self._writer = sent, writer
        writer.start()
        while (sha := sent.get()) is not None:
            header = proc.stdout.readline()
            if not header:
                self._drain.join(timeout=5)
                raise CatFileError(sha, f"git cat-file stopped: {_first_line(bytes(self.errors))}")
            parts = header.split()
            if len(parts) >= 2 and parts[1] == b"missing":
                yield sha, None, None
                continue
            if len(parts) != 3:
                raise CatFileError(sha, "git cat-file: unexpected reply")
            size = int(parts[2])
            body = _Limited(proc.stdout, size, sha)
            yield sha, size, body
            body.drain()
            proc.stdout.read(1)  # the newline after the contents
        writer.join()
        if failed:
            raise failed[0]

    def abandon(self) -> list[str]:
        """Stop git (after a ``CatFileError``): the names written after the one that failed."""
        if self.proc.poll() is None:
            self.proc.kill()  # the writer stops at its next write
        self._writer.join()
        rest = []
        while (sha := self._sent.get()) is not None:
            rest.append(sha)
        return rest

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        for fh in (self.proc.stdin, self.proc.stdout):
            try:
                if fh:
                    fh.close()
            except OSError:
                pass
        self._drain.join(timeout=5)  # stderr ends when git exits: no polling wait() below
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def blob_texts(repo: Repo, wanted: Iterable[tuple[str, str, dict[str, Any] | None]], stats: Stats,
               gate: Gate | None = None, reader: BlobReader | None = None) -> Iterator[ScanText]:
    """ScanTexts of blobs: (blob sha, display path, commit) each; a blob is read once. With a
    ``gate``, blobs whose bytes cannot hold a finding are read but never decoded. ``reader``:
    a ``keep_open`` cat-file to read them with and leave open (a worker's), else one of their own.

    If ``git cat-file`` dies on a corrupt object, that object is reported as skipped and a new
    process reads the rest.
    """
    by_sha: dict[str, tuple[str, dict[str, Any] | None]] = {}

    def names(items: Iterable[tuple[str, str, dict[str, Any] | None]]) -> Iterator[str]:
        for sha, path, commit in items:  # each blob once, at its first path
            if sha not in by_sha:
                by_sha[sha] = (path, commit)
                yield sha

    todo: Iterator[str] | None = names(wanted)
    while todo is not None:
        if reader is None or not reader.alive():
            reader = BlobReader(repo)
        try:
            for sha, size, body in reader.stream(todo):
                path, commit = by_sha[sha]
                if body is None or size is None:
                    stats.skip(f"{path} (blob {sha[:12]})", "missing git object (corrupt or shallow repository)")
                    continue
                if size > MAX_BLOB_BYTES:
                    stats.skip(path, f"git blob over {MAX_BLOB_BYTES >> 20} MiB")
                    continue
                if size <= files.WHOLE_FILE_BYTES:  # one read, and the gate asked before decoding
                    data = body.read(size)
                    if data.startswith(LFS_HEAD) and size < 1024:
                        stats.skip(path, "git-lfs pointer (content not in git)")
                        continue
                    stats.files += 1
                    texts = bytes_texts(data, path, None, repo.toplevel, stats, gate, strings=False)
                else:  # large: streamed in chunks, memory stays bounded
                    stats.files += 1
                    texts = read_texts(body, path, None, repo.toplevel, stats)  # type: ignore[arg-type]
                for st in texts:
                    # the history's commit dicts are shared by their blobs: each text gets its own
                    st.commit = None if commit is None else {**commit, "blob": sha}
                    yield st
            todo = None
        except CatFileError as exc:
            failed = exc.sha
            stats.skip(f"{by_sha[failed][0]} (blob {failed[:12]})", f"unreadable git object ({exc})")
            todo = itertools.chain(reader.abandon(), todo)  # type: ignore[arg-type]
        finally:
            if not reader.keep_open or todo is not None:  # done with it, or it died
                reader.close()


# -- whole history -------------------------------------------------------------------------------
_LOG_FORMAT = "%x01%H%x00%an%x00%ae%x00%aI%x00%ct"
_ZERO = "0" * 40


def _tokens(stream: IO[bytes]) -> Iterator[bytes]:
    rest = b""
    while True:
        block = stream.read(1 << 20)
        if not block:
            break
        parts = (rest + block).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


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
            if new_sha == _ZERO or not new_mode.startswith(b"10"):  # deleted, symlink
                continue
            if raw_path in interned:
                path = interned[raw_path]
            else:
                path = interned[raw_path] = _decode_path(raw_path)
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
        stats.skip(_decode_path(raw_path), SUBMODULE_SKIP)
    if rc != 0:
        msg = _first_line(b"".join(err_chunks))
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
        blob, path = sha.decode(), _decode_path(raw_path)
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


# -- a commit range or the index -----------------------------------------------------------------
@dataclass
class Change:
    path: str
    new_blob: str
    old_blob: str | None
    added: set[int] = field(default_factory=set)  # 1-based line numbers in the new blob
    every_line: bool = False  # the diff could not be read (a corrupt old version): all lines new
    old_text: str = ""


def _diff_args(base: str, head: str | None) -> list[str]:
    common = ["--no-abbrev", "-M", "--no-color", "--no-ext-diff", "--no-textconv",
              "--ignore-submodules=all"]
    return [*common, "--cached", base] if head is None else [*common, base, head]


def read_changes(repo: Repo, base: str, head: str | None, stats: Stats | None = None) -> list[Change]:
    """Files that ``head`` (a commit, or the index when None) adds or changes against ``base``,
    with the numbers of the lines added."""
    raw = repo.run("diff", "--raw", "-z", *_diff_args(base, head)).stdout
    tokens = iter(raw.split(b"\0"))
    entries: list[Change | None] = []
    for tok in tokens:
        if not tok.startswith(b":"):
            continue
        fields = tok.split()
        status = fields[-1][:1]
        path = next(tokens, b"")
        if status in (b"R", b"C"):
            path = next(tokens, b"")
        new_mode, old_sha, new_sha = fields[1], fields[2].decode(), fields[3].decode()
        if status == b"D" or not new_mode.startswith(b"10") or new_mode == b"120000":
            entries.append(None)  # still has a section in the patch below
            continue
        entries.append(Change(_decode_path(path), new_sha, None if old_sha == _ZERO else old_sha))
    p = repo.run("diff", "-p", "-U0", *_diff_args(base, head), check=False)
    if p.returncode == 0:
        _mark_added(p.stdout, entries)
    else:  # a corrupt or missing object: each file on its own, so one bad blob costs one file
        for ch in entries:
            if ch is None:
                continue
            one = repo.run("diff", "-p", "-U0", *_diff_args(base, head), "--", ch.path, check=False)
            if one.returncode == 0:
                _mark_added(one.stdout, [ch])
            else:  # its old version cannot be read: every line counts as added
                ch.every_line = True
                if stats is not None:
                    stats.extra.setdefault("git_warnings", []).append(
                        f"git diff {ch.path}: {_first_line(one.stderr)}: every line judged as added")
    return [c for c in entries if c is not None and (c.added or c.every_line)]


def _mark_added(patch: bytes, entries: list[Change | None]) -> None:
    """The added lines of each section of ``patch`` (``diff -p -U0``), one section per entry."""
    section = -1
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git ") or line.startswith(b"diff --cc "):
            section += 1
            continue
        if line.startswith(b"@@ ") and 0 <= section < len(entries):
            ch = entries[section]
            m = _HUNK.match(line.decode("ascii", "replace"))
            if ch is not None and m:
                start, count = int(m.group(1)), int(m.group(2) or 1)
                ch.added.update(range(start, start + count))


def _old_texts(repo: Repo, changes: list[Change]) -> None:
    olds = {c.old_blob: c for c in changes if c.old_blob}
    if not olds:
        return
    reader = BlobReader(repo)
    try:
        for sha, size, body in reader.stream(list(olds)):
            if body is not None and size is not None and size <= MAX_BLOB_BYTES:
                text = body.read().decode("utf-8", "replace")
                for c in changes:
                    if c.old_blob == sha:
                        c.old_text = text
    except CatFileError:
        pass  # an unreadable old version: every added line counts as new
    finally:
        reader.close()


def change_texts(repo: Repo, changes: list[Change], stats: Stats) -> Iterator[ScanText]:
    _old_texts(repo, changes)
    yield from blob_texts(repo, [(c.new_blob, c.path, None) for c in changes], stats)


def added_only(findings: list[Finding], changes: list[Change]) -> list[Finding]:
    """Findings on added lines whose secret was not already in the file's old version.

    A blob is scanned once, at its first path: its findings are judged at every changed path
    with that content (a file copied to a new name is a new file with its own old version).
    """
    by_path = {c.path: c for c in changes}
    same_blob: dict[str, list[Change]] = {}
    for c in changes:
        same_blob.setdefault(c.new_blob, []).append(c)
    kept = []
    for first in findings:
        scanned = by_path.get(first.path)
        for c in same_blob.get(scanned.new_blob, []) if scanned else []:
            f = first if c is scanned else replace(first, path=c.path, origin=dict(first.origin))
            if not c.every_line and not (set(range(f.line, max(f.line, f.end_line) + 1)) & c.added):
                continue
            if c.old_text and f.secret in c.old_text:
                continue
            kept.append(f)
    return kept


def blame(repo: Repo, findings: list[Finding], head: str) -> None:
    """The commit that last wrote each finding's line: in a range, the one that added it."""
    import datetime

    for f in findings:
        p = repo.run("blame", "--porcelain", "--no-textconv", "-L", f"{f.line},{f.line}", head,
                     "--", f.path, check=False)
        if p.returncode != 0:
            continue
        lines = p.stdout.decode("utf-8", "replace").split("\n")
        info = dict(ln.split(" ", 1) for ln in lines[1:] if " " in ln and not ln.startswith("\t"))
        commit: dict[str, Any] = {"sha": lines[0].split(" ")[0], "author": info.get("author", "")}
        commit["email"] = info.get("author-mail", "").strip("<>")
        try:
            tz = info.get("author-tz", "+0000")
            offset = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * (-1 if tz[0] == "-" else 1)
            when = datetime.datetime.fromtimestamp(int(info["author-time"]), datetime.timezone(offset))
            commit["date"] = when.isoformat()
        except (KeyError, ValueError, IndexError):
            pass
        f.commit = commit


def fetch_command(repo: Repo, ref: str) -> str:
    """A ``git fetch`` that makes the missing ``ref`` resolvable, as the user typed it.

    ``origin/main`` is a remote-tracking ref: fetching the remote's ``main`` into it works even
    in a single-branch clone (whose refspec does not cover it). A shallow clone also needs
    history below the fetched commit to find a merge base.
    """
    remotes = repo.run("remote", check=False).stdout.decode("utf-8", "replace").split()
    deepen = " --deepen=100" if repo.shallow else ""
    remote, _, branch = ref.partition("/")
    if remote in remotes and branch:
        return f"git fetch{deepen} {remote} {branch}:refs/remotes/{remote}/{branch}"
    origin = "origin" if "origin" in remotes or not remotes else remotes[0]
    if re.fullmatch(r"[0-9a-fA-F]{40}", ref):
        return f"git fetch{deepen} {origin} {ref}"
    if re.fullmatch(r"[0-9a-fA-F]{7,39}", ref) or re.search(r"[~^@:{\s]", ref):
        # a short sha or a revision expression cannot be fetched by name: fetch history
        return "git fetch --unshallow" if repo.shallow else f"git fetch {origin}"
    return f"git fetch{deepen} {origin} {ref}:{ref}"


def resolve_base(repo: Repo, ref: str) -> str:
    """The merge base of ``ref`` and HEAD, as the pull request's diff uses it."""
    if not repo.has_commits():
        raise GitError(f"{repo.path}: no commits yet, nothing to compare with {ref}")
    p = repo.run("rev-parse", "--verify", "-q", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if p.returncode != 0:
        shallow = " The clone is shallow." if repo.shallow else ""
        raise GitError(f"--since {ref}: no such commit in {repo.toplevel}.{shallow} Fetch it first: "
                       f"`{fetch_command(repo, ref)}`"
                       + (" (actions/checkout: `fetch-depth: 0`)." if repo.shallow else "."))
    sha = p.stdout.decode().strip()
    mb = repo.run("merge-base", sha, "HEAD", check=False)
    if mb.returncode != 0:
        hint = " (shallow clone: deepen it with `git fetch --deepen=100` or `--unshallow`)" if repo.shallow else ""
        raise GitError(f"--since {ref}: no common ancestor with HEAD{hint}")
    return mb.stdout.decode().strip()
