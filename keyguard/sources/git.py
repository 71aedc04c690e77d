"""Git plumbing shared by the history and change sources: the repository, and blobs read
through ``git cat-file --batch`` as ``ScanText``.

Plumbing only, never code from the scanned repo: every git process runs with the repo's
fsmonitor, hooks, pager and signature programs switched off, no textconv or filters, and no
transport at all (a partial clone would fetch a missing object through its promisor remote).
See ``history`` (every blob reachable from any ref) and ``changes`` (a commit range, the index).
"""
from __future__ import annotations

import functools
import itertools
import os
import queue
import subprocess
import threading
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator

from ..model import ScanText, Stats
from . import decode
from .decode import Gate, bytes_texts, read_texts

SAFE_CONFIG = (
    "-c", "core.fsmonitor=", "-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*",
    "-c", "log.showSignature=false", "-c", "core.pager=cat", "-c", "diff.external=",
    "-c", "log.mailmap=false", "-c", "core.quotePath=false",
)
LFS_HEAD = b"version https://git-lfs.github.com/spec/"
SUBMODULE_SKIP = "submodule (not followed: scan its repository on its own)"
MAX_BLOB_BYTES = 256 * 1024 * 1024  # larger blobs are skipped (and reported in stats)


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
            raise GitError(f"git {args[0]}: {first_line(p.stderr)}")
        return p

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "surrogateescape").strip()

    def has_commits(self) -> bool:
        return self.run("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).returncode == 0


PIPE_BYTES = 1 << 20  # a git process may run this far ahead of the scan reading its output


def widen_pipe(fh: IO[bytes] | None) -> None:
    """Let ``fh``'s pipe hold ``PIPE_BYTES`` (Linux; 64 KiB otherwise): git then goes on
    writing while this process scans, instead of waiting for it after every 64 KiB."""
    if fh is None or not hasattr(os, "O_CLOEXEC"):  # not POSIX
        return
    try:
        import fcntl

        fcntl.fcntl(fh.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ValueError, ImportError):  # over the system's limit, not Linux: as it is
        pass


def first_line(err: bytes) -> str:
    lines = [ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return (fatal or lines or ["failed"])[0]


def open_repo(path: str) -> Repo:
    if not os.path.isdir(path):
        raise GitError(f"{path}: not a directory")
    bare, shallow, top = _probe(path, os.getcwd())
    return Repo(path, top, bare, shallow)


@functools.lru_cache(maxsize=8)
def _probe(path: str, cwd: str) -> tuple[bool, bool, str]:
    """(bare, shallow, top level) of the repository at ``path``: one ``git rev-parse`` in a work
    tree (the pre-commit hook opens the repository twice: once for its config, once to scan)."""
    probe = Repo(path, path, False, False)
    p = probe.run("rev-parse", "--is-bare-repository", "--is-shallow-repository", "--git-dir",
                  "--is-inside-work-tree", "--show-cdup", check=False)
    if p.returncode != 0:
        msg = first_line(p.stderr)
        if "not a git repository" in msg:
            gitfile = os.path.join(path, ".git")
            if os.path.isfile(gitfile):
                raise GitError(f"{path}: .git file points to a missing repository ({msg})")
            raise GitError(f"{path}: not a git repository")
        raise GitError(f"{path}: {msg}")
    bare_s, shallow_s, git_dir, inside, cdup = (p.stdout.decode("utf-8", "surrogateescape").split("\n") + [""] * 5)[:5]
    bare = bare_s == "true"
    if bare:
        top = os.path.abspath(os.path.join(path, git_dir))
    elif inside == "true":
        top = os.path.normpath(os.path.join(os.path.abspath(path), cdup))
    else:
        top = probe.out("rev-parse", "--show-toplevel")
    return bare, shallow_s == "true", top


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
        widen_pipe(self.proc.stdout)
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
                raise CatFileError(sha, f"git cat-file stopped: {first_line(bytes(self.errors))}")
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
                if size <= decode.WHOLE_FILE_BYTES:  # one read, and the gate asked before decoding
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


ZERO_SHA = "0" * 40


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")
