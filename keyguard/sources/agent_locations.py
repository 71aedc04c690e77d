"""Where coding agents keep configs and transcripts under a user's home (``scan --agents``).

Only paths the agents' own docs (or the sources in docs/agents.md) name. Everything here is
read, never written. A location is a file (a config) or a directory (transcripts, walked for
the files the agent writes there).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

from .agent_paths import agent_config_kind, transcript_agent


@dataclass(frozen=True)
class Location:
    agent: str
    path: str  # relative to the home directory, "/"-separated
    kind: str  # "config", "credentials" or "transcripts"


LOCATIONS: tuple[Location, ...] = (
    # https://code.claude.com/docs/en/settings, https://code.claude.com/docs/en/mcp
    Location("Claude Code", ".claude.json", "config"),
    Location("Claude Code", ".claude/settings.json", "config"),
    Location("Claude Code", ".claude/settings.local.json", "config"),
    Location("Claude Code", ".claude/.credentials.json", "credentials"),
    Location("Claude Code", ".claude/projects", "transcripts"),
    # https://modelcontextprotocol.io/quickstart/user (macOS, Windows; Linux builds: ~/.config)
    Location("Claude Desktop", "Library/Application Support/Claude/claude_desktop_config.json", "config"),
    Location("Claude Desktop", "AppData/Roaming/Claude/claude_desktop_config.json", "config"),
    Location("Claude Desktop", ".config/Claude/claude_desktop_config.json", "config"),
    # https://cursor.com/docs/context/mcp
    Location("Cursor", ".cursor/mcp.json", "config"),
    # https://docs.windsurf.com/windsurf/cascade/mcp
    Location("Windsurf", ".codeium/windsurf/mcp_config.json", "config"),
    # https://github.com/openai/codex/blob/main/docs/config.md ($CODEX_HOME, default ~/.codex)
    Location("Codex", ".codex/config.toml", "config"),
    Location("Codex", ".codex/sessions", "transcripts"),
    Location("Codex", ".codex/archived_sessions", "transcripts"),
    # https://geminicli.com/docs/cli/configuration
    Location("Gemini CLI", ".gemini/settings.json", "config"),
)


@dataclass(frozen=True)
class Found:
    location: Location
    path: str  # absolute


def existing(home: str, codex_home: str | None = None) -> list[Found]:
    """The locations that exist under ``home`` (``$CODEX_HOME`` stands in for ``~/.codex``)."""
    out: list[Found] = []
    for loc in LOCATIONS:
        if loc.path.startswith(".codex/") and codex_home:
            path = os.path.join(codex_home, loc.path[len(".codex/"):])
        else:
            path = os.path.join(home, *loc.path.split("/"))
        if os.path.isdir(path) if loc.kind == "transcripts" else os.path.isfile(path):
            out.append(Found(loc, path))
    return out


def files(found: Found) -> Iterator[str]:
    """The files of one location: the file itself, or a transcript directory's transcripts
    (symlinks are not followed: a link out of the agent's directory is not the agent's)."""
    if found.location.kind != "transcripts":
        yield found.path
        return
    for dirpath, dirnames, filenames in os.walk(found.path):
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            if name.endswith(".jsonl") and not os.path.islink(p):
                yield p


def kind_of(path: str) -> tuple[str, str] | None:
    """("config" | "transcript", agent) for a file an agent wrote, judged by its path."""
    agent = agent_config_kind(path)
    if agent:
        return "config", agent
    agent = transcript_agent(path)
    if agent:
        return "transcript", agent
    return None
