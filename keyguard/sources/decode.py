"""Raw bytes to ``ScanText``: the encoding (UTF-8, a BOM, UTF-16 without one), the UTF-16
strings inside binaries, chunks that overlap by more than the longest match (so memory stays
bounded and a key across a chunk border is still found exactly once), and the byte gate asked
before anything is decoded. Every source that reads bytes (files, git blobs, downloads) uses it.
"""
from __future__ import annotations

import codecs
import os
from typing import BinaryIO, Iterator, Protocol

from ..model import ScanText, Stats
from .agent_paths import agent_config_kind

CHUNK_CHARS = 2 * 1024 * 1024  # characters handed to the engine at once
OVERLAP = 16 * 1024  # longer than any match (rules cap a match at 8 KiB)
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

    def opens(self, path: str) -> bool:
        """Does the path alone let the file hold a finding (it names a provider)?"""


WHOLE_FILE_BYTES = CHUNK_CHARS  # files up to this size are read at once (one chunk of text)
GATE_OVERLAP = 1024  # bytes kept between blocks: longer than any gate literal (ByteGate checks)
GATE_WHOLE_MAX_BYTES = 64 * 2**20  # larger files: the gate asks for keywords block by block


def gate_stream(fh: BinaryIO, gate: Gate) -> tuple[bool, bool, int, bytes | None]:
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
        fh.seek(0)  # read again from the start: not ``head +`` the rest, a copy of the whole
        data = fh.read(size + 1)
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


def bytes_texts(
    data: bytes, shown: str, abs_path: str | None, root: str | None, stats: Stats,
    gate: Gate | None = None, strings: bool = True,
) -> Iterator[ScanText]:
    """The texts of bytes held whole (at most ``WHOLE_FILE_BYTES``, or a whole source map): the
    ones ``read_texts`` gives, and with ``strings`` the UTF-16LE strings of a binary as
    ``utf16_strings`` does; with a ``gate``, none that cannot hold a finding."""
    stats.bytes += len(data)
    if gate is not None and gate.opens(shown):
        gate = None
    head = data[:4096]
    encoding, bom = _decoder_for(head)
    if encoding != "utf-8":
        text = data[bom:].decode(encoding, "replace")
        yield ScanText(text, shown, abs_path, origin={"encoding": encoding}, root=root)
        return
    wide = strings and b"\x00" in head
    if gate is not None and agent_config_kind(shown):
        gate = None  # a key-named value there is a key even with no rule's keyword in the file
    narrow_hit, wide_hit = gate.check(data, wide) if gate is not None else (True, wide)
    if narrow_hit:
        body = data[bom:] if bom else data
        try:
            yield ScanText(body.decode("utf-8"), shown, abs_path, root=root, utf8=body)
        except UnicodeDecodeError:
            yield ScanText(body.decode("utf-8", "replace"), shown, abs_path, root=root)
    if wide_hit:
        yield from _utf16_texts(data, shown, abs_path, root)

