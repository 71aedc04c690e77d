"""Browser artefacts: source maps (``.map`` files and inline ``data:`` maps) as ``ScanText``.

A source map is scanned as its own raw JSON text, so a finding's line and column are its place
in the ``.map`` file. ``SourceMapText.locate`` then adds ``origin.original`` (the original source
path, line and column) for findings inside a ``sourcesContent`` entry. Minified bundles and HTML
are plain text to the engine: columns are 1-based characters on the (long) line.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import unquote

from ..model import Finding, ScanText, Stats
from .files import CHUNK_CHARS

INLINE_MAP = re.compile(
    r"[#@]\s*sourceMappingURL=data:application/json[^,]*?(;base64)?,([A-Za-z0-9+/=%._~-]+)"
)
MAP_URL = re.compile(r"[#@]\s*sourceMappingURL=([^\s'\"*]+)")


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

    def locate(self, findings: list[Finding]) -> None:
        starts = _line_starts(self.text)
        for f in findings:
            line = f.line - self.line_offset
            if not 1 <= line <= len(starts):
                continue
            offset = starts[line - 1] + f.column - 1 - (self.column_offset if line == 1 else 0)
            for span in self.spans:
                if span.start <= offset < span.end:
                    f.origin["original"] = _original_position(self.text, span, offset)
                    break
            if self.at is not None:
                length = f.end_column - f.column if f.end_line == f.line else 0
                f.line, f.column = self.at
                f.end_line, f.end_column = self.at[0], self.at[1] + length
                f.origin["source_map"] = "inline"


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def _original_position(raw: str, span: Span, offset: int) -> dict[str, Any]:
    try:
        before = json.loads('"' + raw[span.start:offset] + '"')
    except ValueError:
        before = raw[span.start:offset]
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return {"source": span.source, "line": line, "column": column}


def parse_source_map(raw: str) -> list[Span]:
    """The ``sourcesContent`` spans of a source map; ``ValueError`` with a reason if malformed."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources", []), list):
        raise ValueError("not a source map object")
    sources = data.get("sources") or []
    contents = data.get("sourcesContent")
    if contents is None:
        return []
    if not isinstance(contents, list):
        raise ValueError("sourcesContent is not a list")
    root = data.get("sourceRoot") or ""
    # find each string of the sourcesContent array in the raw text
    m = re.search(r'"sourcesContent"\s*:\s*\[', raw)
    if m is None:
        raise ValueError("sourcesContent not found")
    pos = m.end()
    spans: list[Span] = []
    for i, item in enumerate(contents):
        pos = _skip_ws_comma(raw, pos)
        if item is None:
            pos += len("null")
            continue
        if not isinstance(item, str) or raw[pos] != '"':
            raise ValueError(f"sourcesContent[{i}] is not a string")
        _, end = json.decoder.scanstring(raw, pos + 1)  # type: ignore[attr-defined]
        name = sources[i] if i < len(sources) and isinstance(sources[i], str) else f"<source {i}>"
        spans.append(Span(root + name if root and not name.startswith(root) else name, pos + 1, end - 1))
        pos = end
    return spans


def _skip_ws_comma(raw: str, pos: int) -> int:
    while pos < len(raw) and raw[pos] in " \t\r\n,":
        pos += 1
    return pos


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
    for m in INLINE_MAP.finditer(st.text):
        payload = m.group(2)
        try:
            raw = (base64.b64decode(payload, validate=False) if m.group(1) else unquote(payload).encode())
            text = raw.decode("utf-8", "replace")
        except ValueError:
            stats.skip(st.path, "malformed inline source map: bad base64")
            continue
        before = st.text[: m.start()]
        line = before.count("\n") + 1
        column = m.start() - (before.rfind("\n") + 1) + 1 + (st.column_offset if line == 1 else 0)
        mt = source_map_text(text, st.path, stats, abs_path=st.abs_path, root=st.root,
                             origin=dict(st.origin or {}), commit=st.commit)
        if isinstance(mt, SourceMapText):
            mt.at = (line + st.line_offset, column)
            yield mt


def with_source_maps(texts: Iterator[ScanText], stats: Stats) -> Iterator[ScanText]:
    """Pass ``texts`` through; turn ``.map`` files into ``SourceMapText``; add inline maps."""
    for st in texts:
        if st.path.endswith(".map") and not isinstance(st, SourceMapText):
            if st.line_offset == 0 and st.column_offset == 0 and len(st.text) < CHUNK_CHARS:
                yield source_map_text(st.text, st.path, stats, abs_path=st.abs_path,
                                      origin=st.origin, commit=st.commit, root=st.root)
                continue
        yield st
        yield from inline_maps(st, stats)
