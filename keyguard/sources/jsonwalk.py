"""String values of parsed JSON/TOML with a JSON-path-like name each, and one text per record.

A transcript record or a hook event holds its text in string values (a tool's output, a
command); the keys inside them are found only once those strings are decoded. A string that is
itself JSON (an MCP tool's result, a tool input passed as a string) is decoded once more and
walked in its place, so a key escaped twice is found and named by its inner path.
"""
from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

MIN_VALUE_CHARS = 8  # no credential is shorter; shorter strings are skipped
MAX_DEPTH = 64  # deeper nesting is not walked further (a hostile file cannot recurse us away)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-$@]+\Z")


def join_path(prefix: str, key: str | int) -> str:
    """``mcpServers.github.env.GITHUB_TOKEN``, ``args[3]``, ``projects["/home/me/app"]``."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key, ensure_ascii=False)}]"


def leaves(value: Any, prefix: str = "", decode_nested: bool = True,
           depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, string) for every string of at least ``MIN_VALUE_CHARS`` in document order."""
    if depth > MAX_DEPTH:  # what lies deeper is scanned as its JSON text, not walked
        if isinstance(value, (dict, list)):
            try:
                yield prefix, json.dumps(value, ensure_ascii=False)
            except (ValueError, RecursionError):
                pass
        elif isinstance(value, str):
            yield prefix, value
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, join_path(prefix, str(k)), decode_nested, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, join_path(prefix, i), decode_nested, depth + 1)
    elif isinstance(value, str) and len(value) >= MIN_VALUE_CHARS:
        inner = _nested_json(value) if decode_nested else None
        if inner is not None:
            yield from leaves(inner, prefix + "<json>", decode_nested, depth + 1)
        else:
            yield prefix, value


def _nested_json(value: str) -> Any:
    s = value.lstrip()
    if not s or s[0] not in "{[":
        return None
    try:
        inner = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return inner if isinstance(inner, (dict, list)) else None


MAX_LISTED = 1000  # files named in a report's stats per list (a home holds thousands of sessions)


def note(stats: Any, key: str, entry: dict[str, Any]) -> None:
    """Name a file in ``stats.extra[key]`` (at most ``MAX_LISTED``; ``<key>_more`` counts the rest)."""
    if stats is None:
        return
    listed = stats.extra.setdefault(key, [])
    if len(listed) < MAX_LISTED:
        listed.append(entry)
    else:
        stats.extra[f"{key}_more"] = stats.extra.get(f"{key}_more", 0) + 1


@dataclass
class Joined:
    """The strings of one record joined by newlines, with the path of each line range."""

    text: str
    starts: list[int] = field(default_factory=list)  # 1-based first line of each value
    paths: list[str] = field(default_factory=list)

    def path_at(self, line: int) -> tuple[str, int]:
        """The path of the value holding ``line`` of ``text`` and the line within that value."""
        i = bisect.bisect_right(self.starts, line) - 1
        if i < 0:
            return "", line
        return self.paths[i], line - self.starts[i] + 1


def join(items: Iterator[tuple[str, str]]) -> Joined:
    parts: list[str] = []
    joined = Joined("")
    line = 1
    for path, value in items:
        joined.starts.append(line)
        joined.paths.append(path)
        parts.append(value)
        line += value.count("\n") + 1
    joined.text = "\n".join(parts)
    return joined
