"""Large source maps scanned in pieces of their bytes, so that no text of the whole map exists.

A map is one JSON line of megabytes; decoded whole, one character outside the BMP makes Python
keep the text at four bytes a character (a 19 MB map: a 76 MB string). Here the map's bytes are
decoded a piece at a time (``map_chunks``): each ``MapChunk`` reports the findings that start in
its own part, with margins on both sides longer than any match and the context around it, and
its parts end where no base64 run crosses, so a piece finds what the whole text would.
``MapChunk.locate`` maps a finding back to the map's bytes, and from there to its original
source (``origin.original``): only then is the map parsed, where its bytes lie
(``parse_map_bytes``: the ``sourcesContent`` strings located, every other value decoded and
checked as ``sourcemaps.parse_source_map`` does). What that parser is unsure of (an index map,
malformed JSON) the text parser decides, on the map's text, as for a map read whole.
"""
from __future__ import annotations

import bisect
import codecs
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..model import Finding, ScanText, Stats
from .decode import CHUNK_CHARS, OVERLAP, bytes_texts
from .sourcemaps import SourceMapText, Span, line_starts, original_position, parse_source_map, source_spans

PART_BYTES = 2 * 1024 * 1024  # the part of the map each chunk reports
MARGIN_BYTES = 4 * OVERLAP  # read around it: at least OVERLAP characters, whatever their width
_WS = re.compile(rb"[ \t\n\r]*")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\x80-\xff]")  # an ASCII byte that ends a base64 run
_decoder = json.JSONDecoder()
# a backslash before a character no JSON escape starts with: a bad escape, or the second
# backslash of an escaped one (``\\\\x``), which the backslashes before it tell apart
_ODD_ESCAPE = re.compile(rb'\\(?:[^"\\/bfnrtu]|u(?![0-9a-fA-F]{4}))')
_NOT_CONTROL = bytes(range(0x20, 0x100))
_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))


@dataclass
class MapBytes:
    """A map's bytes, shared by its chunks, and its ``sourcesContent`` spans (byte offsets),
    parsed only once a finding asks where it stands (most large maps have none)."""

    raw: bytes
    path: str
    stats: Stats | None = None
    spans: list[Span] | None = None
    starts: list[int] = field(default_factory=list)
    decoded: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # see original_position

    def parsed(self) -> list[Span]:
        if self.spans is None:
            spans = parse_map_bytes(self.raw)
            self.spans = spans if spans is not None else self._parse_text()
            self.starts = [s.start for s in self.spans]
        return self.spans

    def _parse_text(self) -> list[Span]:
        """What the byte parser is unsure of, the text parser decides, as it does for a map read
        whole (the map's text, once, and only for a map with findings): an index map has no
        spans of its own; a malformed map is noted and has none."""
        text = self.raw.decode("utf-8")
        try:
            spans = parse_source_map(text)
        except ValueError as exc:
            if self.stats is not None:
                self.stats.skip(self.path, f"malformed source map: {exc}")
            return []
        if text.isascii():
            return spans
        out, chars, at = [], 0, 0  # character offsets to byte offsets, in order
        for span in spans:
            start = at + len(text[chars:span.start].encode("utf-8"))
            at = start + len(text[span.start:span.end].encode("utf-8"))
            chars = span.end
            out.append(Span(span.source, start, at))
        return out


@dataclass
class MapChunk(SourceMapText):
    """A piece of a large map: reports only findings that start in ``own`` (offsets in
    ``text``), located in the whole map's bytes from ``byte_start``."""

    whole_map: MapBytes | None = None
    byte_start: int = 0
    own: tuple[int, int] = (0, 0)

    def locate(self, findings: list[Finding]) -> None:
        if not findings or self.whole_map is None:
            return
        m = self.whole_map
        starts = line_starts(self.text)
        ascii_text = self.text.isascii()
        char_at, byte_at = 0, self.byte_start
        dropped: set[int] = set()
        for f in sorted(findings, key=lambda f: (f.line, f.column)):
            line = f.line - self.line_offset
            if not 1 <= line <= len(starts):
                continue
            offset = starts[line - 1] + f.column - 1 - (self.column_offset if line == 1 else 0)
            if not self.own[0] <= offset < self.own[1]:
                dropped.add(id(f))  # another chunk reports it, with all of its context
                continue
            if ascii_text:
                at = self.byte_start + offset
            else:  # findings in order: each character encoded once
                byte_at += len(self.text[char_at:offset].encode("utf-8"))
                char_at, at = offset, byte_at
            spans = m.parsed()
            i = bisect.bisect_right(m.starts, at) - 1
            if i >= 0 and at < spans[i].end:
                f.origin["original"] = original_position(m.raw, spans[i], at, m.decoded)
        if dropped:
            findings[:] = [f for f in findings if id(f) not in dropped]


def _chars(data: bytes) -> int:
    """Characters of valid UTF-8 ``data``: its bytes less its continuation bytes."""
    return len(data) if data.isascii() else len(data) - len(data.translate(None, _NOT_CONTINUATION))


def _boundary(data: bytes, pos: int) -> int:
    """``pos`` moved forward to the start of a character."""
    while pos < len(data) and 0x80 <= data[pos] < 0xC0:
        pos += 1
    return pos


def _cut(data: bytes, pos: int, lowest: int) -> int:
    """A place at or before ``pos`` (not before ``lowest``) that no base64 run crosses."""
    size = 1 << 12
    while True:
        start = max(lowest, pos - size)
        m = _NOT_BASE64.search(data[start:pos][::-1])  # the last such byte: searched reversed
        if m:
            return pos - m.start()
        if start == lowest:
            return _boundary(data, pos)
        size *= 16


def map_chunks(data: bytes, path: str, stats: Stats | None = None, **kw: Any) -> Iterator[MapChunk]:
    """The chunks of a map's bytes, every byte in the own part of exactly one."""
    m = MapBytes(data, path, stats)
    n = len(data)
    own_start = 0
    line = column = 0  # newlines before the text's start, characters since the last one
    prev: tuple[str, int] | None = None  # the last chunk's text and where it ends in ``data``
    while own_start < n:
        own_end = n if own_start + PART_BYTES >= n else _cut(data, own_start + PART_BYTES,
                                                             own_start + PART_BYTES // 2)
        text_start = _boundary(data, max(0, own_start - MARGIN_BYTES))
        text_end = _boundary(data, min(n, own_end + MARGIN_BYTES))
        if prev is not None:  # this text starts inside the last one: counted on its characters
            last_text, last_end = prev
            at = len(last_text) - _chars(data[text_start:last_end])
            if last_text.find("\n", 0, at) == -1:
                column += at
            else:
                line += last_text.count("\n", 0, at)
                column = at - last_text.rfind("\n", 0, at) - 1
        body = data[text_start:text_end]
        text = body.decode("utf-8")
        first = _chars(data[text_start:own_start])
        last = len(text) - _chars(data[own_end:text_end])
        yield MapChunk(text, path, line_offset=line, column_offset=column, whole=False, utf8=body,
                       whole_map=m, byte_start=text_start, own=(first, last), **kw)
        prev = (text, text_end)
        own_start = own_end


# -- parsing the bytes ------------------------------------------------------------------------
def utf8_chars(data: bytes) -> int:
    """The characters of ``data`` if it is UTF-8 without a BOM, else -1: decoded a block at a
    time (no text of the whole)."""
    if data.isascii():
        return len(data)
    if data.startswith(codecs.BOM_UTF8):
        return -1
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    chars = 0
    try:
        for i in range(0, len(data), 1 << 20):
            chars += len(dec.decode(data[i:i + (1 << 20)]))
        chars += len(dec.decode(b"", final=True))
    except UnicodeDecodeError:
        return -1
    return chars


def parse_map_bytes(raw: bytes) -> list[Span] | None:
    """The ``sourcesContent`` spans (byte offsets) of a map, as ``parse_source_map`` finds them
    in its text; None if the map is not one this parser is sure of."""
    try:
        return _parse(raw)
    except (ValueError, IndexError, RecursionError):
        return None


def _ws(raw: bytes, pos: int) -> int:
    return _WS.match(raw, pos).end()  # type: ignore[union-attr]


def _string_end(raw: bytes, pos: int) -> int:
    """The offset of the quote that closes the JSON string whose body starts at ``pos``."""
    while True:
        q = raw.index(b'"', pos)
        k = q - 1
        while raw[k] == 0x5C:  # backslashes before it: an odd number escapes it
            k -= 1
        if (q - 1 - k) % 2 == 0:
            return q
        pos = q + 1


def _value(raw: bytes, pos: int) -> tuple[Any, int]:
    """A JSON value decoded from a window of the bytes, grown until the value ends inside it."""
    size = 1 << 16
    while True:
        end = min(len(raw), pos + size)
        window = raw[pos:end].decode("utf-8", "replace")
        try:
            value, stop = _decoder.raw_decode(window)
        except json.JSONDecodeError:
            if end == len(raw):
                raise ValueError("not JSON") from None
        else:
            if stop < len(window) or end == len(raw):
                return value, pos + (stop if window.isascii() else len(window[:stop].encode("utf-8")))
        size *= 4


def _parse(raw: bytes) -> list[Span]:
    pos = _ws(raw, 0)
    if raw[pos:pos + 1] != b"{":
        raise ValueError
    pos = _ws(raw, pos + 1)
    sources: Any = []
    root: Any = ""
    located: list[tuple[int, int] | None] = []
    while raw[pos:pos + 1] != b"}":
        if raw[pos:pos + 1] != b'"':
            raise ValueError
        end = _string_end(raw, pos + 1)
        key = json.loads(raw[pos:end + 1])
        pos = _ws(raw, end + 1)
        if raw[pos:pos + 1] != b":":
            raise ValueError
        pos = _ws(raw, pos + 1)
        if key == "sourcesContent":
            located, pos = _string_array(raw, pos)
        elif key == "sections":
            raise ValueError  # an index map: read whole, as before
        else:
            value, pos = _value(raw, pos)
            if key == "sources":
                sources = value
            elif key == "sourceRoot":
                root = value
        pos = _ws(raw, pos)
        if raw[pos:pos + 1] == b",":
            pos = _ws(raw, pos + 1)
        elif raw[pos:pos + 1] != b"}":
            raise ValueError
    if _ws(raw, pos + 1) != len(raw) or not isinstance(sources, list):
        raise ValueError
    return source_spans(located, sources, root)


def _string_array(raw: bytes, pos: int) -> tuple[list[tuple[int, int] | None], int]:
    """(start, end) of each string of the JSON array at ``pos`` (``None`` for ``null``), their
    bodies checked as the JSON decoder would check them (``_check_strings``)."""
    if raw.startswith(b"null", pos):
        return [], pos + 4
    if raw[pos:pos + 1] != b"[":
        raise ValueError
    pos = _ws(raw, pos + 1)
    found: list[tuple[int, int] | None] = []
    while raw[pos:pos + 1] != b"]":
        if raw.startswith(b"null", pos):
            found.append(None)
            pos += 4
        elif raw[pos:pos + 1] == b'"':
            end = _string_end(raw, pos + 1)
            found.append((pos + 1, end))
            pos = end + 1
        else:
            raise ValueError
        pos = _ws(raw, pos)
        if raw[pos:pos + 1] == b",":
            pos = _ws(raw, pos + 1)
        elif raw[pos:pos + 1] != b"]":
            raise ValueError
    _check_strings(raw, [w for w in found if w is not None])
    return found, pos + 1


def _check_strings(raw: bytes, spans: list[tuple[int, int]]) -> None:
    """No control character in the strings' bodies, every backslash a JSON escape: asked of
    about a mebibyte of strings at once (from an opening quote, so that backslashes pair up as
    the decoder pairs them), whatever lies between them that is not a control character."""
    i = 0
    while i < len(spans):
        j, size = i, 0
        while j < len(spans) and size < 1 << 20:
            size += spans[j][1] - spans[j][0]
            j += 1
        block = raw[spans[i][0]:spans[j - 1][1]]
        if block.translate(None, _NOT_CONTROL) and any(
                raw[s:e].translate(None, _NOT_CONTROL) for s, e in spans[i:j]):
            raise ValueError  # the whitespace between two strings is the only control allowed
        for m in _ODD_ESCAPE.finditer(block):
            k = m.start()
            while k > 0 and block[k - 1] == 0x5C:
                k -= 1
            if (m.start() - k) % 2 == 0:  # an even run before it: this backslash opens the escape
                raise ValueError
        i = j


def map_texts(data: bytes, path: str, stats: Stats, **kw: Any) -> Iterator[ScanText]:
    """The texts of a large source map held as bytes: ``MapChunk`` pieces if it is UTF-8 and has
    more characters than a text read whole (``CHUNK_CHARS``, which is also more than the engine
    searches whole for a path's provider), else the map's whole text, as ``bytes_texts`` gives it."""
    if utf8_chars(data) <= CHUNK_CHARS:
        yield from bytes_texts(data, path, kw.get("abs_path"), kw.get("root"), stats, strings=False)
        return
    stats.bytes += len(data)
    yield from map_chunks(data, path, stats, **kw)
