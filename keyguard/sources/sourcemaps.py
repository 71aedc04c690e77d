"""Source maps, a transform every source's texts go through: ``.map`` files and inline
``data:`` maps become ``SourceMapText``, wherever the text came from (a directory, a git blob, a
download).

A source map is scanned as its own raw JSON text, so a finding's line and column are its place
in the ``.map`` file. ``SourceMapText.locate`` then adds ``origin.original`` (the original source
path, line and column) for findings inside a ``sourcesContent`` entry. Minified bundles and HTML
are plain text to the engine: columns are 1-based characters on the (long) line.

Maps up to ``SOURCE_MAP_MAX_BYTES`` are parsed whole; the parser walks the top-level object and
only locates the ``sourcesContent`` strings, so memory stays near the map's own size.
"""
from __future__ import annotations

import base64
import bisect
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import unquote

from ..model import Finding, ScanText, Stats
from .decode import SOURCE_MAP_MAX_BYTES, is_source_map, read_texts

# the media type's parameters are bounded: with ``[^,]*?`` every comment without a comma after it
# scanned to the end of the text (a 350 KB file of such comments took two minutes)
INLINE_MAP = re.compile(
    r"[#@]\s*sourceMappingURL=data:application/json[^,\s]{0,100}?(;base64)?,([A-Za-z0-9+/=%._~-]+)"
)
MAP_URL = re.compile(r"[#@]\s*sourceMappingURL=([^\s'\"*]+)")
SOURCE_MAP_MAX_CHARS = SOURCE_MAP_MAX_BYTES
_WS = re.compile(r"[ \t\n\r]*")
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
_decoder = json.JSONDecoder()


@dataclass
class Span:
    source: str
    start: int  # offset of the first character inside the JSON string (after the quote)
    end: int  # offset of the closing quote


@dataclass
class SourceMapText(ScanText):
    """A source map's raw JSON; ``spans`` are its ``sourcesContent`` strings."""

    spans: list[Span] = field(default_factory=list)
    at: tuple[int, int] | None = None  # inline map: report at this (line, column) of the host file
    host_span: tuple[int, int] | None = None  # inline map: its encoded payload in the host text

    def locate(self, findings: list[Finding]) -> None:
        if not findings:
            return
        starts = line_starts(self.text)
        span_starts = [s.start for s in self.spans]
        decoded: dict[int, tuple[int, int, int]] = {}  # per span: offset, line, column reached
        for f in sorted(findings, key=lambda f: (f.line, f.column)):
            line = f.line - self.line_offset
            if not 1 <= line <= len(starts):
                continue
            offset = starts[line - 1] + f.column - 1 - (self.column_offset if line == 1 else 0)
            i = bisect.bisect_right(span_starts, offset) - 1
            if i >= 0 and offset < self.spans[i].end:
                f.origin["original"] = original_position(self.text, self.spans[i], offset, decoded)
            if self.at is not None:
                length = f.end_column - f.column if f.end_line == f.line else 0
                f.line, f.column = self.at
                f.end_line, f.end_column = self.at[0], self.at[1] + length
                f.origin["source_map"] = "inline"


def line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def original_position(raw: str | bytes, span: Span, offset: int,
                      decoded: dict[int, tuple[int, int, int]] | None = None) -> dict[str, Any]:
    """Line and column in the original source of ``raw[offset]`` inside ``span``'s string
    (``raw``: the map's text, or its UTF-8 bytes with ``span`` and ``offset`` in bytes).

    ``decoded`` remembers how far each span was decoded, so findings met in order cost only the
    text between them (thousands of keys in one source stay linear)."""
    start, line, column = span.start, 1, 1
    if decoded is not None and span.start in decoded and decoded[span.start][0] <= offset:
        start, line, column = decoded[span.start]
    backslashes, newline = (b"\\\\", b"\\n") if isinstance(raw, bytes) else ("\\\\", "\\n")
    if raw.find(backslashes, start, offset) == -1:  # type: ignore[arg-type]
        # no escaped backslash before the finding: every raw "\n" is a newline escape, so only
        # the original line's own text needs decoding (a 50 MB source stays cheap)
        last = raw.rfind(newline, start, offset)  # type: ignore[arg-type]
        if last != -1:
            line += raw.count(newline, start, offset)  # type: ignore[arg-type]
            start, column = last + 2, 1

    def text(a: int, b: int) -> str:
        part = raw[a:b]
        return part.decode("utf-8") if isinstance(part, bytes) else part

    try:
        piece = json.loads('"' + text(start, offset) + '"')
    except ValueError:  # an offset inside an escape: count the raw text from the string's start
        start, line, column = span.start, 1, 1
        try:
            piece = json.loads('"' + text(start, offset) + '"')
        except ValueError:
            piece = text(start, offset)
    newlines = piece.count("\n")
    if newlines:
        line, column = line + newlines, len(piece) - piece.rfind("\n")
    else:
        column += len(piece)
    if decoded is not None:
        decoded[span.start] = (offset, line, column)
    return {"source": span.source, "line": line, "column": column}


def _ws(raw: str, pos: int) -> int:
    return _WS.match(raw, pos).end()  # type: ignore[union-attr]


def _where(raw: str, pos: int) -> str:
    return f"line {raw.count(chr(10), 0, pos) + 1}"


def parse_source_map(raw: str) -> list[Span]:
    """The ``sourcesContent`` spans of a source map; ``ValueError`` with a reason if malformed.

    The top-level object is read key by key; every value but ``sourcesContent`` is decoded (and
    dropped unless it is ``sources`` or ``sourceRoot``), each ``sourcesContent`` string is only
    located. An index map (``sections``) has no spans of its own."""
    try:
        return _parse(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}: line {exc.lineno})") from None
    except IndexError:
        raise ValueError("not JSON (unexpected end)") from None
    except RecursionError:  # "[[[[…" a hundred thousand deep in a value
        raise ValueError("not JSON (nested too deeply)") from None


def _parse(raw: str) -> list[Span]:
    pos = _ws(raw, 0)
    if raw[pos:pos + 1] != "{":
        raise ValueError("not a source map object")
    pos = _ws(raw, pos + 1)
    sources: Any = []
    root: Any = ""
    located: list[tuple[int, int] | None] = []
    while raw[pos:pos + 1] != "}":
        if raw[pos:pos + 1] != '"':
            raise ValueError(f"not JSON (expected a key at {_where(raw, pos)})")
        key, pos = _scanstring(raw, pos + 1)
        pos = _ws(raw, pos)
        if raw[pos:pos + 1] != ":":
            raise ValueError(f"not JSON (expected ':' at {_where(raw, pos)})")
        pos = _ws(raw, pos + 1)
        if key == "sourcesContent":
            located, pos = _string_array(raw, pos)
        else:
            value, pos = _decoder.raw_decode(raw, pos)
            if key == "sources":
                sources = value
            elif key == "sourceRoot":
                root = value
            del value
        pos = _ws(raw, pos)
        if raw[pos:pos + 1] == ",":
            pos = _ws(raw, pos + 1)
        elif raw[pos:pos + 1] != "}":
            raise ValueError(f"not JSON (expected ',' or '}}' at {_where(raw, pos)})")
    if _ws(raw, pos + 1) != len(raw):
        raise ValueError(f"not JSON (extra data at {_where(raw, pos + 1)})")
    if not isinstance(sources, list):
        raise ValueError("not a source map object")
    return source_spans(located, sources, root)


def source_spans(located: list[tuple[int, int] | None], sources: list[Any], root: Any) -> list[Span]:
    """A span per located ``sourcesContent`` string, named by its ``sources`` entry (with
    ``sourceRoot`` in front unless it is there already)."""
    if not isinstance(root, str):
        root = ""
    spans = []
    for i, where in enumerate(located):
        if where is None:
            continue
        name = sources[i] if i < len(sources) and isinstance(sources[i], str) else f"<source {i}>"
        spans.append(Span(root + name if root and not name.startswith(root) else name, *where))
    return spans


def _string_array(raw: str, pos: int) -> tuple[list[tuple[int, int] | None], int]:
    """(start, end) of each string of the JSON array at ``pos`` (``None`` for ``null``)."""
    if raw[pos:pos + 1] == "n" and raw.startswith("null", pos):
        return [], pos + 4
    if raw[pos:pos + 1] != "[":
        raise ValueError("sourcesContent is not a list")
    pos = _ws(raw, pos + 1)
    found: list[tuple[int, int] | None] = []
    while raw[pos:pos + 1] != "]":
        if raw.startswith("null", pos):
            found.append(None)
            pos += 4
        elif raw[pos:pos + 1] == '"':
            _, end = _scanstring(raw, pos + 1)  # decoded and dropped at once: one string at a time
            found.append((pos + 1, end - 1))
            pos = end
        else:
            raise ValueError(f"sourcesContent[{len(found)}] is not a string")
        pos = _ws(raw, pos)
        if raw[pos:pos + 1] == ",":
            pos = _ws(raw, pos + 1)
        elif raw[pos:pos + 1] != "]":
            raise ValueError(f"not JSON (expected ',' or ']' at {_where(raw, pos)})")
    return found, pos + 1


def source_map_text(raw: str, path: str, stats: Stats, **kw: Any) -> ScanText:
    """A source map as ``SourceMapText``; a malformed map is scanned as plain text, with a reason."""
    try:
        spans = parse_source_map(raw)
    except ValueError as exc:
        stats.skip(path, f"malformed source map: {exc}")
        return ScanText(raw, path, **kw)
    return SourceMapText(raw, path, spans=spans, **kw)


def inline_maps(st: ScanText, stats: Stats) -> Iterator[ScanText]:
    """``//# sourceMappingURL=data:...`` maps in a script, reported at the comment's place."""
    if "sourceMappingURL=data:" not in st.text:
        return
    text = st.text
    line, line_start, counted = 1, 0, 0  # the line of the last map met: one pass however many maps
    for m in INLINE_MAP.finditer(text):
        payload = m.group(2)
        utf8: bytes | None = None
        try:
            raw = (base64.b64decode(payload, validate=False) if m.group(1) else unquote(payload).encode())
        except ValueError:
            stats.skip(st.path, "malformed inline source map: bad base64")
            continue
        try:
            decoded = raw.decode("utf-8")
            utf8 = raw
        except UnicodeDecodeError:
            decoded = raw.decode("utf-8", "replace")
        newlines = text.count("\n", counted, m.start())
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, m.start()) + 1
        counted = m.start()
        column = m.start() - line_start + 1 + (st.column_offset if line == 1 else 0)
        mt = source_map_text(decoded, st.path, stats, abs_path=st.abs_path, root=st.root,
                             origin=dict(st.origin or {}), commit=st.commit, utf8=utf8)
        if isinstance(mt, SourceMapText):
            mt.at = (line + st.line_offset, column)
            mt.host_span = m.span(2)
            yield mt


def _whole_file(st: ScanText) -> ScanText | None:
    """The whole text of the file ``st`` is a chunk of, if it is on disk and not over the cap."""
    if st.abs_path is None:
        return None
    try:
        if os.stat(st.abs_path).st_size > SOURCE_MAP_MAX_BYTES:
            return None
        with open(st.abs_path, "rb") as fh:
            texts = list(read_texts(fh, st.path, st.abs_path, st.root, Stats(),
                                    chunk_chars=SOURCE_MAP_MAX_BYTES + 1))
    except OSError:
        return None
    return texts[0] if len(texts) == 1 else None


def with_source_maps(texts: Iterator[ScanText], stats: Stats) -> Iterator[ScanText]:
    """Pass ``texts`` through; turn ``.map`` files into ``SourceMapText``; add inline maps.

    A file read in chunks (over 2 Mi characters) whose text holds an inline map is read once
    more, whole, for its inline maps (a map's base64 runs across chunk borders)."""
    reread: set[str] = set()
    for st in texts:
        if isinstance(st, SourceMapText):  # a large map's piece, made by its source (``bigmaps``)
            yield st
            continue
        if is_source_map(st.path):
            if st.whole and len(st.text) <= SOURCE_MAP_MAX_CHARS:
                yield source_map_text(st.text, st.path, stats, abs_path=st.abs_path,
                                      origin=st.origin, commit=st.commit, root=st.root, utf8=st.utf8)
                continue
            if st.line_offset == 0 and st.column_offset == 0:
                stats.skip(st.path, "source map over 64 MiB: scanned as plain text")
        if st.whole:
            maps = list(inline_maps(st, stats))
            # the engine's base64 decoding would find a map's keys a second time in the host
            st.decoded_elsewhere = tuple(mt.host_span for mt in maps if isinstance(mt, SourceMapText) and mt.host_span)
            yield st
            yield from maps
            continue
        yield st
        if "sourceMappingURL=data:" in st.text and st.path not in reread:
            reread.add(st.path)
            whole = _whole_file(st)
            if whole is not None:
                yield from inline_maps(whole, stats)
            else:
                yield from inline_maps(st, stats)
