"""Files, directories and standard input as ``ScanText``.

Large files are read in chunks that overlap by more than the longest match, so memory stays
bounded and a key across a chunk border is still found exactly once.
"""
from __future__ import annotations

import codecs
import os
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Protocol

from ..model import ScanText, Stats

CHUNK_CHARS = 2 * 1024 * 1024  # characters handed to the engine at once
OVERLAP = 16 * 1024  # longer than any match (rules cap a match at 8 KiB)

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


def _decoder_for(head: bytes) -> tuple[str, int]:
    """Encoding and BOM length from the first bytes; UTF-8 with replacement otherwise."""
    if head.startswith(codecs.BOM_UTF32_LE) and head[2:4] == b"\x00\x00":
        return "utf-32-le", 4
    if head.startswith(codecs.BOM_UTF32_BE):
        return "utf-32-be", 4
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    return _sniff_utf16(head), 0


def _sniff_utf16(head: bytes) -> str:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte."""
    if len(head) < 16 or b"\x00" not in head:
        return "utf-8"
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.6 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.6 and zeros_odd < 0.05:
        return "utf-16-be"
    return "utf-8"


def read_texts(
    fh: BinaryIO, path: str, abs_path: str | None, root: str | None, stats: Stats,
    chunk_chars: int = CHUNK_CHARS, encoding: str | None = None,
) -> Iterator[ScanText]:
    """Decode a byte stream into one or more overlapping ``ScanText`` chunks (in ``encoding``,
    else the one its first bytes show)."""
    head = fh.read(4096)
    encoding, bom = (encoding, 0) if encoding else _decoder_for(head)
    origin = {"encoding": encoding} if encoding != "utf-8" else None
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    # the head is decoded with the first block: a text read whole is then one string, not two
    # joined (a copy of it, four bytes a character if one character is outside the BMP)
    carry = head[bom:]
    pending = ""
    stats.bytes += len(head)
    line_offset = 0
    column_offset = 0
    limit = chunk_chars + OVERLAP
    eof = False
    whole = True
    while True:
        while not eof and len(pending) < limit:
            # no more bytes than the chunk lacks characters (a byte is at most one character),
            # so that each character is copied once or twice, not four times
            block = fh.read(max(limit - len(pending) - len(carry), 1 << 16))
            stats.bytes += len(block)
            if carry:
                block, carry = carry + block, b""
            if not block:
                pending += decoder.decode(b"", final=True)
                eof = True
                break
            pending += decoder.decode(block)
        if eof and len(pending) <= limit:
            yield ScanText(pending, path, abs_path, line_offset, column_offset, origin=origin, root=root,
                           whole=whole)
            return
        # emit [0, chunk_chars + OVERLAP); keep the tail from chunk_chars on for the next chunk.
        # The engine reports a match starting in the overlap twice; ``dedupe`` removes it.
        whole = False
        text = pending[:limit]
        yield ScanText(text, path, abs_path, line_offset, column_offset, origin=origin, root=root,
                       whole=False)
        newlines = pending.count("\n", 0, chunk_chars)
        if newlines:
            line_offset += newlines
            column_offset = chunk_chars - pending.rfind("\n", 0, chunk_chars) - 1
        else:
            column_offset += chunk_chars
        pending = pending[chunk_chars:]


BINARY_UTF16_MAX = 64 * 1024 * 1024
SOURCE_MAP_MAX_BYTES = 64 * 1024 * 1024  # larger source maps are scanned in chunks as plain text


def is_source_map(path: str) -> bool:
    """A ``.map`` file name or URL (query and fragment aside)."""
    return path.split("?", 1)[0].split("#", 1)[0].endswith(".map")


def utf16_strings(fh: BinaryIO, path: str, abs_path: str | None, root: str | None) -> Iterator[ScanText]:
    """Binaries (Windows executables, .NET assemblies) keep strings as UTF-16LE: read those too."""
    try:
        fh.seek(0)
        head = fh.read(4096)
        if b"\x00" not in head or _decoder_for(head)[0] != "utf-8":
            return
        size = os.fstat(fh.fileno()).st_size
        if size > BINARY_UTF16_MAX:
            return
    except (OSError, ValueError):
        return
    for align in (0, 1):  # streamed in chunks like any text: memory stays bounded
        fh.seek(align)
        yield from read_texts(fh, path, abs_path, root, Stats(), encoding="utf-16-le")


def _utf16_texts(data: bytes, path: str, abs_path: str | None, root: str | None) -> Iterator[ScanText]:
    if b"\x00" not in data[1::2] and b"\x00" not in data[0::2]:
        return
    for align in (0, 1):
        text = data[align:].decode("utf-16-le", "replace")
        yield ScanText(text, path, abs_path, origin={"encoding": "utf-16-le"}, root=root)


class Gate(Protocol):
    """Asked with a file's bytes before decoding: (may the text hold a finding, may its UTF-16LE
    strings hold one — asked only if ``wide``). See ``keyguard.detect.prefilter.ByteGate``."""

    def check(self, data: bytes, wide: bool = False, part: bool = False) -> tuple[bool, bool]: ...

    def reads_in_place(self) -> bool:
        """Is a whole large file (up to ``GATE_WHOLE_MAX_BYTES``) worth asking at once?"""


@dataclass(frozen=True)
class FileRef:
    """One file to scan: ``path`` to open, ``shown`` in reports, ``root`` the scanned directory."""

    path: str
    shown: str
    abs_path: str | None
    root: str | None


STDIN = FileRef("-", "-", None, None)


def file_refs(
    targets: list[str], stats: Stats, include_vendored: bool = False,
    shard: tuple[int, int] | None = None,
) -> Iterator[FileRef]:
    """Every file of the targets: a directory (walked), a file, or ``-`` for standard input.

    With ``shard=(i, n)`` only the files whose shown path falls in shard ``i`` of ``n``."""
    from ..shard import in_shard

    for target in targets:
        for ref in _refs(target, stats, include_vendored):
            if shard is None or in_shard(ref.shown, *shard):
                yield ref


def _refs(target: str, stats: Stats, include_vendored: bool) -> Iterator[FileRef]:
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

        def shown(path: str) -> str:  # what is skipped is named like what is found
            if path.startswith(prefix):
                return printable_path(path[len(prefix):].replace(os.sep, "/"))
            return printable_path(path)

        for path in walk(target, stats, include_vendored, shown):
            if path.startswith(prefix):  # always, from walk; relpath() is slow
                rel = path[len(prefix):]
                yield FileRef(path, printable_path(rel.replace(os.sep, "/")), os.path.join(root, rel), root)
            else:
                yield FileRef(path, display_path(path, target), os.path.abspath(path), root)
    elif stat.S_ISREG(st.st_mode):
        yield FileRef(target, printable_path(target), os.path.abspath(target), None)
    else:
        stats.skip(target, "not a regular file")


def file_texts(
    targets: list[str], stats: Stats, include_vendored: bool = False, gate: Gate | None = None,
    shard: tuple[int, int] | None = None,
) -> Iterator[ScanText]:
    """Every target: a directory (walked), a file, or ``-`` for standard input."""
    for ref in file_refs(targets, stats, include_vendored, shard):
        yield from ref_texts(ref, stats, gate)


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
        if st.st_size <= WHOLE_FILE_BYTES:
            data = _read_all(fd, st.st_size)
    except OSError as exc:
        os.close(fd)
        stats.skip(shown, f"read error ({exc.strerror or exc.__class__.__name__})")
        return
    if data is not None and len(data) <= WHOLE_FILE_BYTES:
        os.close(fd)
        yield from _bytes_texts(data, ref, stats, gate)
        return
    with os.fdopen(fd, "rb") as fh:  # large, or grew since fstat: stream it
        try:
            narrow, wide, gated, data = True, True, 0, None
            if gate is not None:
                narrow, wide, gated, data = _gate_stream(fh, gate)
                if not narrow:
                    stats.bytes += gated
            fh.seek(0)
            # a source map is read whole (up to a cap) so that it can be parsed as one
            whole_map = is_source_map(shown) and st.st_size <= SOURCE_MAP_MAX_BYTES
            if narrow and whole_map and data is not None:
                # the bytes the gate read are the map's text: read once, and its UTF-8 kept for
                # the engine's Hyperscan passes instead of encoding the text again
                yield from bytes_texts(data, shown, ref.abs_path, ref.root, stats, strings=False)
                del data
            elif narrow:
                del data
                chunk = max(st.st_size + 1, CHUNK_CHARS) if whole_map else CHUNK_CHARS
                yield from read_texts(fh, shown, ref.abs_path, ref.root, stats, chunk_chars=chunk)
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
    while total <= WHOLE_FILE_BYTES:
        more = os.read(fd, max(size + 1 - total, 1 << 16))
        if not more:
            break
        parts.append(more)
        total += len(more)
    return first if len(parts) == 1 else b"".join(parts)


WHOLE_FILE_BYTES = CHUNK_CHARS  # files up to this size are read at once (one chunk of text)
GATE_OVERLAP = 1024  # bytes kept between blocks: longer than any gate literal (ByteGate checks)
GATE_WHOLE_MAX_BYTES = 64 * 2**20  # larger files: the gate asks for keywords block by block


def _gate_stream(fh: BinaryIO, gate: Gate) -> tuple[bool, bool, int, bytes | None]:
    """The gate's answers for a large file, the number of bytes read, and the file's bytes if
    they were read whole: asked of the whole file at once where the gate can ask its rules'
    patterns (Hyperscan) and the file is at most ``GATE_WHOLE_MAX_BYTES``, else read block by
    block (bounded memory either way). Not UTF-8 (a BOM, UTF-16 text): decoded as before, no
    question asked.

    Read, not memory-mapped: a mapped file truncated by another process mid-scan kills the
    reader with SIGBUS, which no handler can turn into a clean skip."""
    fh.seek(0)
    head = fh.read(4096)
    if _decoder_for(head)[0] != "utf-8":
        return True, False, len(head), None
    size = os.fstat(fh.fileno()).st_size
    ask_wide = b"\x00" in head and size <= BINARY_UTF16_MAX
    if size <= GATE_WHOLE_MAX_BYTES and gate.reads_in_place():
        data = head + fh.read(max(size - len(head), 0) + 1)
        whole = data if len(data) <= size else None  # grown since fstat: read again, as it is now
        return (*gate.check(data, ask_wide), len(data), whole)
    narrow = wide = False
    total = len(head)
    tail = b""
    block = head
    while block:
        narrow_hit, wide_hit = gate.check(tail + block, ask_wide and not wide, part=True)
        narrow, wide = narrow or narrow_hit, wide or wide_hit
        if narrow and (wide or not ask_wide):
            break
        tail = (tail + block)[-GATE_OVERLAP:]
        block = fh.read(WHOLE_FILE_BYTES)
        total += len(block)
    return narrow, wide, total, None


def _bytes_texts(data: bytes, ref: FileRef, stats: Stats, gate: Gate | None) -> Iterator[ScanText]:
    """A whole small file: the same texts ``read_texts`` + ``utf16_strings`` give for it."""
    yield from bytes_texts(data, ref.shown, ref.abs_path, ref.root, stats, gate)


def bytes_texts(
    data: bytes, shown: str, abs_path: str | None, root: str | None, stats: Stats,
    gate: Gate | None = None, strings: bool = True,
) -> Iterator[ScanText]:
    """The texts of bytes held whole (at most ``WHOLE_FILE_BYTES``, or a whole source map): the
    ones ``read_texts`` gives, and with ``strings`` the UTF-16LE strings of a binary as
    ``utf16_strings`` does; with a ``gate``, none that cannot hold a finding."""
    stats.bytes += len(data)
    head = data[:4096]
    encoding, bom = _decoder_for(head)
    if encoding != "utf-8":
        text = data[bom:].decode(encoding, "replace")
        yield ScanText(text, shown, abs_path, origin={"encoding": encoding}, root=root)
        return
    wide = strings and b"\x00" in head
    narrow_hit, wide_hit = gate.check(data, wide) if gate is not None else (True, wide)
    if narrow_hit:
        body = data[bom:] if bom else data
        try:
            yield ScanText(body.decode("utf-8"), shown, abs_path, root=root, utf8=body)
        except UnicodeDecodeError:
            yield ScanText(body.decode("utf-8", "replace"), shown, abs_path, root=root)
    if wide_hit:
        yield from _utf16_texts(data, shown, abs_path, root)
