"""MCP and agent config files as ``ScanText``: one text per value, named by its JSON path.

``.mcp.json``, ``claude_desktop_config.json``, ``.cursor/mcp.json``, ``.vscode/mcp.json``,
``~/.claude.json``, ``.claude/settings*.json``, Codex ``config.toml``, Gemini CLI and Windsurf
settings hold provider keys in plain text (``mcpServers.<name>.env``, ``headers``, ``args``, a
key in a URL's query). Each string value becomes a text ``<json path>="<value>"`` located at the
value's line, so the rules see the variable name beside the value, and ``KeyNamedValuePack``
reports a value under a key-named variable whatever its shape. ``${VAR}``, ``${env:VAR}``,
``${input:id}``, ``$VAR`` and ``env:VAR`` are references, never keys. A file that does not
parse is scanned as plain text and named in the stats.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

from ..detect.key_named import is_key_name, key_named_findings
from .agent_paths import agent_config_kind
from ..model import Finding, ScanText, Stats, severity_rank
from . import jsonwalk


class ConfigError(ValueError):
    pass


def parse_config(text: str, path: str) -> Any:
    """JSON (falling back to JSONC: comments, trailing commas) or, for ``.toml``, TOML."""
    if path.endswith(".toml"):
        import tomllib

        try:
            return tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            raise ConfigError(f"not valid TOML: {exc}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(strip_jsonc(text))
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"not valid JSON: {str(exc).splitlines()[0][:120]}") from None


def strip_jsonc(text: str) -> str:
    """``text`` without ``//`` and ``/* */`` comments and trailing commas, outside strings.
    Comments become spaces (newlines kept), so lines and columns stay where they were."""
    out: list[str] = []
    i, n = 0, len(text)
    pending_comma = -1  # index in ``out`` of a comma that may turn out to be trailing
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            pending_comma = -1
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(c if c == "\n" else " " for c in text[i:j]))
            i = j
        elif ch == ",":
            pending_comma = len(out)
            out.append(ch)
            i += 1
        elif ch in "}]" and pending_comma >= 0:
            out[pending_comma] = " "
            pending_comma = -1
            out.append(ch)
            i += 1
        else:
            if not ch.isspace():
                pending_comma = -1
            out.append(ch)
            i += 1
    return "".join(out)


@dataclass
class ConfigValueText(ScanText):
    """``<json path>: <name>="<value>"``; ``name`` is the variable, header or flag the value
    belongs to ("" for a config scanned as plain text)."""

    name: str = ""
    value_start: int = 0  # where the value starts in ``text``
    file_column: int = 0  # 1-based column of the value in its file line, 0 if not found
    floor: str = ""  # the least severity of a finding here (a config in git or in a package)
    floor_reason: str = ""

    def locate(self, findings: list[Finding]) -> None:
        """Add the key-named finding no rule made, then place every finding in the file."""
        extra = key_named_findings(self)
        if extra:
            from ..detect.generic import without_overlap

            findings += without_overlap(extra, findings)
        path = (self.origin or {}).get("json_path")
        for f in findings:
            if path:
                f.origin["json_path"] = path
            if self.file_column and f.line == self.line_offset + 1:
                shift = self.file_column - (self.value_start + 1)
                f.column += shift
                if f.end_line == f.line:
                    f.end_column += shift
            if (self.name and f.rule.provider == "generic" and severity_rank(f.severity) < 1
                    and is_key_name(self.name)):
                f.severity = "medium"
                f.reasons.append(f"{self.name}: a key-named value in an agent config")
            if self.floor and severity_rank(f.severity) < severity_rank(self.floor):
                f.severity = self.floor
                f.reasons.append(self.floor_reason)


def config_values(data: Any) -> Iterator[tuple[str, str, str]]:
    """(json path, name, value) for every string value; a flag's value in ``args`` is named by
    the flag (``--api-key VALUE``, ``--api-key=VALUE``, ``-e NAME=VALUE``), a URL's query
    parameters by their names."""
    for path, value in jsonwalk.leaves(data, decode_nested=False):
        name = _last_name(path)
        yield path, name, value
        if "=" in value and not value.startswith("-") and _looks_assignment(value):
            k, _, v = value.partition("=")
            yield path, k, v
        elif value.startswith("--") and "=" in value:
            k, _, v = value.partition("=")
            yield path, k.lstrip("-"), v
        if value.startswith(("http://", "https://")) and "?" in value:
            for k, v in parse_qsl(urlsplit(value).query):
                yield path, k, v
    for path, flag, value in _flag_values(data):
        yield path, flag, value


def _last_name(path: str) -> str:
    tail = path.rsplit(".", 1)[-1]
    while tail.endswith("]") and "[" in tail:
        inner = tail[tail.rfind("[") + 1 : -1]
        if inner.startswith('"'):
            return json.loads(inner)
        tail = tail[: tail.rfind("[")]
    return tail


def _looks_assignment(value: str) -> bool:
    k = value.split("=", 1)[0]
    return bool(k) and len(k) <= 80 and k.replace("_", "").replace("-", "").isalnum()


def _flag_values(data: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str, str]]:
    """``["--api-key", "VALUE"]`` inside any list: the value named by the flag before it."""
    if depth > jsonwalk.MAX_DEPTH:
        return
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _flag_values(v, jsonwalk.join_path(prefix, str(k)), depth + 1)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            if (i and isinstance(v, str) and isinstance(data[i - 1], str)
                    and data[i - 1].startswith("-") and "=" not in data[i - 1]
                    and not v.startswith("-") and len(v) >= jsonwalk.MIN_VALUE_CHARS):
                yield jsonwalk.join_path(prefix, i), data[i - 1].lstrip("-"), v
            elif isinstance(v, (dict, list)):
                yield from _flag_values(v, jsonwalk.join_path(prefix, i), depth + 1)


def config_texts(text: str, display: str, stats: Stats | None = None, abs_path: str | None = None,
                 root: str | None = None, agent: str | None = None,
                 commit: dict[str, Any] | None = None, published: bool = False,
                 in_git: bool = False) -> Iterator[ScanText]:
    """The texts of one config file's values, or the whole file as text when it does not parse.
    A config in git (``commit``, or ``in_git``: staged) or in a published package makes every
    finding in it at least high: each clone or download holds the key."""
    agent = agent or agent_config_kind(display) or "unknown"
    floor, why = "", ""
    if published:
        floor, why = "high", f"an agent config ({agent}) shipped in a published package"
    elif commit is not None or in_git:
        floor, why = "high", f"an agent config ({agent}) committed to git: every clone holds it"
    try:
        data = parse_config(text, display)
    except ConfigError as exc:
        jsonwalk.note(stats, "agent_configs_malformed", {"path": display, "error": str(exc)})
        yield ConfigValueText(text=text, path=display, abs_path=abs_path, root=root, commit=commit,
                              origin={"agent_config": agent, "malformed": True},
                              floor=floor, floor_reason=why)
        return
    jsonwalk.note(stats, "agent_configs", {"path": display, "agent": agent})
    cursor = 0
    for path, name, value in config_values(data):
        line, column, cursor = _place(text, value, cursor)
        # the path names the server (context words), the name right before the value is the
        # variable the rules and ``variable_name`` read
        body = f"{path}: {name}="
        yield ConfigValueText(
            text=f'{body}"{value}"', path=display, abs_path=abs_path, root=root, commit=commit,
            line_offset=line - 1, origin={"agent_config": agent, "json_path": path},
            name=name, value_start=len(body) + 1, file_column=column, floor=floor, floor_reason=why,
        )


def _place(text: str, value: str, cursor: int) -> tuple[int, int, int]:
    """(1-based line, 1-based column, new cursor) of ``value`` in the raw file, searched from
    ``cursor`` on (values come in document order), else from the start; (1, 0) if not found."""
    probes = [value, json.dumps(value)[1:-1], value[:24]]
    for probe in probes:
        if not probe:
            continue
        pos = text.find(probe, cursor)
        if pos < 0:
            pos = text.find(probe)
        if pos >= 0:
            line_start = text.rfind("\n", 0, pos) + 1
            return text.count("\n", 0, pos) + 1, pos - line_start + 1, pos + 1
    return 1, 0, cursor
