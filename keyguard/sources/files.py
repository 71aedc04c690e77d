"""Files, directories and standard input as a source: the walk (vendored and VCS folders
skipped, symlinks not followed), and each file's texts (``decode``)."""
from __future__ import annotations

import os
import posixpath
import stat
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from ..model import Finding, ScanText, Stats
from . import decode
from .decode import (
    CHUNK_CHARS, SOURCE_MAP_MAX_BYTES, Gate, bytes_texts, gate_stream, is_source_map,
    read_texts, utf16_strings,
)

VENDORED_DIRS = frozenset({
    "node_modules", "bower_components", "jspm_packages", ".venv", "site-packages",
    "dist-packages", ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".yarn", ".pnpm-store", ".gradle", ".terraform",
})
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
_GIT_DIR_NAMES = frozenset({"HEAD", "config", "objects", "refs"})


def is_vendored_dir(entry: os.DirEntry[str]) -> bool:
    if entry.name in VENDORED_DIRS:
        return True
    # a virtualenv under another name
    return entry.name in ("venv", "env", "virtualenv") and os.path.exists(
        os.path.join(entry.path, "pyvenv.cfg")
    )


def is_git_dir(path: str) -> bool:
    """A bare repository or a ``.git`` directory: HEAD, config, objects/ and refs/."""
    return (os.path.isfile(os.path.join(path, "HEAD")) and os.path.isfile(os.path.join(path, "config"))
            and os.path.isdir(os.path.join(path, "objects")) and os.path.isdir(os.path.join(path, "refs")))


def walk(root: str, stats: Stats, include_vendored: bool = False,
         shown: Callable[[str], str] | None = None) -> Iterator[str]:
    """Regular files under ``root`` (dotfiles included), without following directory links.
    What is skipped goes to ``stats`` under its ``shown`` path (default: the path as walked)."""
    shown = shown or printable_path
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            stats.skip(shown(d), f"unreadable directory ({exc.strerror or exc.__class__.__name__})")
            continue
        if d != root and _GIT_DIR_NAMES.issubset(e.name for e in entries) and is_git_dir(d):
            # a bare repository: its files are compressed git objects a directory scan cannot read
            stats.skip(shown(d), "bare git repository, scan it with --history")
            continue
        subdirs = []
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    if e.name in ALWAYS_SKIPPED_DIRS:
                        continue
                    if not include_vendored and is_vendored_dir(e):
                        stats.skip(shown(e.path), "vendored directory")
                        continue
                    subdirs.append(e.path)
                elif e.is_symlink():
                    target_ok = os.path.isfile(e.path)
                    if not target_ok:
                        stats.skip(shown(e.path), "broken or non-file symlink")
                        continue
                    yield e.path
                elif e.is_file(follow_symlinks=False):
                    yield e.path
                else:
                    stats.skip(shown(e.path), "not a regular file")
            except OSError as exc:
                stats.skip(shown(e.path), f"unreadable ({exc.strerror or exc.__class__.__name__})")
        stack.extend(reversed(subdirs))


def display_path(path: str, root: str | None) -> str:
    """Relative to ``root`` with ``/`` separators; undecodable bytes shown as ``\\xNN``."""
    rel = path if root is None else os.path.relpath(path, root).replace(os.sep, "/")
    return printable_path(rel)


def printable_path(path: str) -> str:
    """A file name as valid Unicode: bytes that are not UTF-8 become ``\\xNN`` escapes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class FileRef:
    """One file to scan: ``path`` to open, ``shown`` in reports, ``root`` the scanned directory."""

    path: str
    shown: str
    abs_path: str | None
    root: str | None


STDIN = FileRef("-", "-", None, None)


class TargetError(Exception):
    """A target the user named cannot be scanned: the run stops with its path and the reason."""


def check_targets(targets: list[str]) -> None:
    """Each named file or directory can be read, and a file is a regular file: a FIFO, a device
    or an unreadable file named on the command line is an error, not a quiet "1 skipped"."""
    for target in targets:
        if target == "-":
            continue
        try:
            st = os.stat(target)
            if stat.S_ISDIR(st.st_mode):
                with os.scandir(target):
                    pass
            elif stat.S_ISREG(st.st_mode):
                os.close(os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
            else:
                raise TargetError(f"{printable_path(target)}: not a regular file (a FIFO, socket or "
                                  "device): nothing to scan")
        except OSError as exc:
            what = "cannot open" if isinstance(exc, FileNotFoundError) else "unreadable"
            raise TargetError(f"{printable_path(target)}: {what} "
                              f"({exc.strerror or exc.__class__.__name__})") from None


def file_refs(targets: list[str], stats: Stats, include_vendored: bool = False,
              keep: Callable[[str], bool] | None = None) -> Iterator[FileRef]:
    """Every file of the targets: a directory (walked), a file, or ``-`` for standard input;
    only those whose shown path ``keep`` accepts (``--shard``).

    With one directory, paths are relative to it; with several targets, a directory's files keep
    its name in front, as typed (``frontend/src/config.js``), so no two targets' files share a path."""
    several = len(targets) > 1
    for target in targets:
        for ref in _refs(target, stats, include_vendored, several):
            if keep is None or keep(ref.shown):
                yield ref


def _refs(target: str, stats: Stats, include_vendored: bool, several: bool = False) -> Iterator[FileRef]:
    if target == "-":
        yield STDIN
        return
    try:
        st = os.stat(target)
    except OSError as exc:
        stats.skip(target, f"cannot open ({exc.strerror or exc.__class__.__name__})")
        return
    if stat.S_ISDIR(st.st_mode):
        root = os.path.abspath(target)
        prefix = target if target.endswith(os.sep) else target + os.sep
        # several targets: shown under the target's own name, as typed, with no root to join
        lead = posixpath.normpath(target.replace(os.sep, "/")) + "/" if several else ""
        lead = "" if lead == "./" else lead
        ref_root = None if several else root

        def shown(path: str) -> str:  # what is skipped is named like what is found
            if path.startswith(prefix):
                return printable_path(lead + path[len(prefix):].replace(os.sep, "/"))
            return printable_path(path)

        for path in walk(target, stats, include_vendored, shown):
            if path.startswith(prefix):  # always, from walk; relpath() is slow
                rel = path[len(prefix):]
                yield FileRef(path, printable_path(lead + rel.replace(os.sep, "/")),
                              os.path.join(root, rel), ref_root)
            else:
                yield FileRef(path, display_path(path, None if several else target),
                              os.path.abspath(path), ref_root)
    elif stat.S_ISREG(st.st_mode):
        yield FileRef(target, printable_path(target), os.path.abspath(target), None)
    else:
        stats.skip(target, "not a regular file")


def ref_texts(ref: FileRef, stats: Stats, gate: Gate | None = None) -> Iterator[ScanText]:
    """The texts of one file; with a ``gate``, files that cannot hold a finding are not decoded."""
    if ref is STDIN or ref.path == "-" and ref.abs_path is None:
        stats.files += 1
        yield from read_texts(sys.stdin.buffer, "-", None, None, stats)
        return
    yield from _one_file(ref, stats, gate)


def _one_file(ref: FileRef, stats: Stats, gate: Gate | None) -> Iterator[ScanText]:
    shown = ref.shown
    try:
        # O_NONBLOCK: a FIFO swapped in after the walk must not block the scan
        fd = os.open(ref.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        stats.skip(shown, f"unreadable ({exc.strerror or exc.__class__.__name__})")
        return
    data = None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            stats.skip(shown, "not a regular file")
            os.close(fd)
            return
        stats.files += 1
        if st.st_size <= decode.WHOLE_FILE_BYTES:
            data = _read_all(fd, st.st_size)
    except OSError as exc:
        os.close(fd)
        stats.skip(shown, f"read error ({exc.strerror or exc.__class__.__name__})")
        return
    if data is not None and len(data) <= decode.WHOLE_FILE_BYTES:
        os.close(fd)
        yield from _bytes_texts(data, ref, stats, gate)
        return
    with os.fdopen(fd, "rb") as fh:  # large, or grew since fstat: stream it
        try:
            narrow, wide, gated, data = True, True, 0, None
            if gate is not None and not gate.opens(shown):
                narrow, wide, gated, data = gate_stream(fh, gate)
                if not narrow:
                    stats.bytes += gated
            fh.seek(0)
            # a source map is read whole (up to a cap) so that it can be parsed as one
            whole_map = is_source_map(shown) and st.st_size <= SOURCE_MAP_MAX_BYTES
            if narrow and whole_map:
                # the bytes the gate read (else read now) are the map's: read once, decoded a
                # piece at a time, each piece's UTF-8 kept for the engine's Hyperscan passes
                if data is None:
                    data = fh.read(SOURCE_MAP_MAX_BYTES + 1)
                from .bigmaps import map_texts

                yield from map_texts(data, shown, stats, abs_path=ref.abs_path, root=ref.root)
                del data
            elif narrow:
                del data
                yield from read_texts(fh, shown, ref.abs_path, ref.root, stats)
            if wide:
                yield from utf16_strings(fh, shown, ref.abs_path, ref.root)
        except OSError as exc:
            stats.skip(shown, f"read error ({exc.strerror or exc.__class__.__name__})")


def _read_all(fd: int, size: int) -> bytes:
    """The whole file in as few ``read`` calls as it takes (no buffered-reader object)."""
    first = os.read(fd, size + 1)
    if not first:
        return first
    parts = [first]
    total = len(first)
    while total <= decode.WHOLE_FILE_BYTES:
        more = os.read(fd, max(size + 1 - total, 1 << 16))
        if not more:
            break
        parts.append(more)
        total += len(more)
    return first if len(parts) == 1 else b"".join(parts)


def _bytes_texts(data: bytes, ref: FileRef, stats: Stats, gate: Gate | None) -> Iterator[ScanText]:
    """A whole small file: the same texts ``read_texts`` + ``utf16_strings`` give for it."""
    yield from bytes_texts(data, ref.shown, ref.abs_path, ref.root, stats, gate)




POOL_MIN_FILES = 200
BATCH_FILES = 256
BATCH_BYTES = 4 * 1024 * 1024


class FilesSource:
    """Directories, files and ``-`` (standard input, always read by the parent process)."""

    pool_min_items = POOL_MIN_FILES
    pool_min_jobs = 2
    progress_unit = "files"  # a progress line on a terminal for long scans

    def __init__(self, targets: list[str], include_vendored: bool = False,
                 keep: Callable[[str], bool] | None = None) -> None:
        self.targets = targets
        self.include_vendored = include_vendored
        self.keep = keep
        self.seen: set[str] = set()  # the shown paths walked (``baseline update``)

    def items(self, stats: Stats) -> Iterator[FileRef]:
        for ref in file_refs(self.targets, stats, self.include_vendored, self.keep):
            self.seen.add(ref.shown)
            yield ref

    def batches(self, refs: Iterator[FileRef]) -> Iterator[list[FileRef]]:
        """At most BATCH_FILES files or BATCH_BYTES bytes each, so big bundles spread out."""
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

    def stays_here(self, ref: FileRef) -> bool:
        return ref.path == "-" and ref.abs_path is None

    def texts(self, refs: Iterable[FileRef], stats: Stats, gate: Gate | None) -> Iterator[ScanText]:
        for ref in refs:
            yield from ref_texts(ref, stats, gate)

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]:
        return findings
