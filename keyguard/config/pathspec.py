"""Gitignore-style path patterns, for the ``skip`` list of the config and ``--skip``.

Supported, as in ``git help gitignore``: ``#`` comments and blank lines, ``!`` negation (the last
matching pattern wins), a trailing ``/`` for directories only, a ``/`` at the start or in the
middle anchors the pattern at the root (otherwise it matches at any depth), ``*``, ``?``,
``[...]`` (never across ``/``), ``**/`` (any leading directories), ``/**`` (everything inside),
``/**/`` (zero or more directories), and ``\\`` escapes. As in git, a file whose parent directory
is excluded cannot be re-included by a later ``!`` pattern.

Paths are relative and use ``/`` (``src/app.py``); a leading ``./`` is ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


class PatternError(ValueError):
    """A pattern that cannot be used (e.g. an unclosed ``[``)."""


@dataclass(frozen=True)
class Pattern:
    text: str  # as written
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _glob_segment(seg: str, pattern: str) -> str:
    """One path segment of a glob (no ``/`` in it) as a regex."""
    out: list[str] = []
    i, n = 0, len(seg)
    while i < n:
        ch = seg[i]
        if ch == "\\":
            if i + 1 < n:
                out.append(re.escape(seg[i + 1]))
                i += 2
                continue
            raise PatternError(f"pattern {pattern!r} ends with a lone backslash")
        if ch == "*":
            while i < n and seg[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = i + 1
            if j < n and seg[j] in "!^":
                j += 1
            if j < n and seg[j] == "]":
                j += 1
            while j < n and seg[j] != "]":
                j += 1
            if j >= n:
                raise PatternError(f"pattern {pattern!r} has an unclosed '['")
            body = seg[i + 1 : j]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = "".join("\\" + c if c in "\\[]^" else c for c in body)
            out.append(f"[^/{body}]" if negate else f"(?!/)[{body}]")
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def compile_pattern(line: str) -> Pattern | None:
    """One gitignore line as a ``Pattern``; ``None`` for a blank line or a comment."""
    text = line.rstrip("\n").rstrip("\r")
    # trailing spaces are ignored unless escaped with a backslash
    while text.endswith(" ") and not text.endswith("\\ "):
        text = text[:-1]
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    body = text[1:] if negate else text
    if body.startswith(("\\!", "\\#")):
        body = body[1:]
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    if not body:
        raise PatternError(f"pattern {line!r} matches nothing")
    anchored = "/" in body
    body = body.lstrip("/")
    segs = body.split("/")
    parts: list[str] = []
    last = len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if i == 0:
                parts.append(".*" if last == 0 else "(?:.*/)?")
            elif i == last:
                parts.append("/.+")
            else:
                parts.append("(?:/.*)?")
            continue
        if i > 0 and not (i == 1 and segs[0] == "**"):
            parts.append("/")
        parts.append(_glob_segment(seg, line))
    regex = "".join(parts)
    if not anchored:
        regex = "(?:.*/)?" + regex
    return Pattern(text, re.compile(f"^{regex}$", re.DOTALL), negate, dir_only)


class PathSpec:
    """An ordered list of gitignore patterns; ``match(path)`` says if ``path`` is excluded."""

    def __init__(self, lines: list[str] | tuple[str, ...] = ()) -> None:
        self.patterns: list[Pattern] = []
        for line in lines:
            p = compile_pattern(line)
            if p is not None:
                self.patterns.append(p)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def _verdict(self, path: str, is_dir: bool) -> bool | None:
        result: bool | None = None
        for p in self.patterns:
            if p.dir_only and not is_dir:
                continue
            if p.regex.match(path):
                result = not p.negate
        return result

    def match(self, path: str, is_dir: bool = False) -> bool:
        path = normalize(path)
        if not path or not self.patterns:
            return False
        parts = path.split("/")
        for i in range(1, len(parts)):
            if self._verdict("/".join(parts[:i]), True):
                return True  # an excluded directory excludes everything in it
        return bool(self._verdict(path, is_dir))


def normalize(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    while "//" in path:
        path = path.replace("//", "/")
    return path.rstrip("/")
